import {EventEmitter} from 'node:events';
import {existsSync, mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import type {CniPlugin} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import {configureLog} from '../log.ts';
import {DAEMON_USAGE, parseDaemonOptions, runDaemonCommand} from './cli.ts';
import type {Daemon} from './server.ts';

configureLog({logToStderr: false});

const plugin: CniPlugin = {
	type: 'fake',
	supportedVersions: SUPPORTED_VERSIONS,
	add: async () => ({cniVersion: '1.0.0'}),
	del: async () => undefined,
	check: async () => undefined,
};

describe('parseDaemonOptions', () => {
	it('has Multus-like defaults and takes the socket from PLEXUS_SOCKET', () => {
		expect(parseDaemonOptions([], {PLEXUS_SOCKET: '/x/p.sock'})).toEqual({
			help: false,
			socketPath: '/x/p.sock',
			metricsAddress: '127.0.0.1:9091',
			traceCapacity: 1000,
			limits: {maxConcurrent: 16, maxQueued: 256, maxWaitMs: 60_000},
			graceMs: 2000,
			drainTimeoutMs: 30_000,
			delegateTimeoutMs: undefined,
			defaultCniPath: ['/opt/cni/bin'],
			cacheDir: undefined,
			chrootDir: undefined,
			plugin: 'plexus',
			informers: true,
			logLevel: undefined,
			logFile: undefined,
		});
		expect(parseDaemonOptions([]).socketPath).toBe('/run/plexus/plexus.sock');
	});

	it('reads every option', () => {
		const options = parseDaemonOptions([
			'--socket=/s',
			'--metrics-address=:9100',
			'--max-concurrent=4',
			'--max-queued=8',
			'--max-wait-ms=100',
			'--delegate-timeout-ms=5000',
			'--cni-path=/a:/b',
			'--cache-dir=/c',
			'--chroot-dir=/hostroot',
			'--grace-ms=0',
			'--drain-timeout-ms=10',
			'--plugin=other',
			'--informers=off',
			'--log-level=debug',
			'--log-file=/l',
			'--trace-capacity=5',
		]);
		expect(options).toMatchObject({
			socketPath: '/s',
			metricsAddress: ':9100',
			traceCapacity: 5,
			limits: {maxConcurrent: 4, maxQueued: 8, maxWaitMs: 100},
			delegateTimeoutMs: 5000,
			defaultCniPath: ['/a', '/b'],
			cacheDir: '/c',
			chrootDir: '/hostroot',
			graceMs: 0,
			drainTimeoutMs: 10,
			plugin: 'other',
			informers: false,
			logLevel: 'debug',
			logFile: '/l',
		});
	});

	it.each([
		[['--max-queued=-1'], 'expected --max-queued to be a non-negative integer, got "-1"'],
		[['--grace-ms=soon'], 'expected --grace-ms to be a non-negative integer, got "soon"'],
		[['--log-level=loud'], 'expected --log-level to be one of'],
		[['--informers=maybe'], 'expected --informers to be "on" or "off", got "maybe"'],
		[['--metrics-address=nowhere'], 'invalid metrics address "nowhere"'],
		[['--bogus'], "Unknown option '--bogus'"],
	])('rejects %j', (argv, message) => {
		expect(() => parseDaemonOptions(argv)).toThrow(message);
	});
});

describe('runDaemonCommand', () => {
	let dir: string;

	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), 'plexus-daemon-cli-'));
	});

	afterEach(() => {
		rmSync(dir, {recursive: true, force: true});
	});

	it('serves until SIGTERM, then drains and returns exit 0', async () => {
		const signals = new EventEmitter();
		const socketPath = join(dir, 'plexus.sock');
		let started: Daemon | undefined;
		const running = runDaemonCommand(
			['--socket', socketPath, '--metrics-address', 'off', '--grace-ms', '0', '--plugin', 'fake'],
			{
				env: {},
				plugins: new Map([['fake', async () => plugin]]),
				signals,
				onListening: ({daemon}) => {
					started = daemon;
				},
			},
		);
		while (started === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
		expect(existsSync(socketPath)).toBe(true);
		expect(started.ready).toBe(true);
		signals.emit('SIGTERM');
		expect(await running).toEqual({stdout: '', stderr: '', exitCode: 0});
		expect(started.ready).toBe(false);
		expect(existsSync(socketPath)).toBe(false);
		expect(signals.listenerCount('SIGINT')).toBe(0);
	});

	it('answers /readyz 500 until every readiness condition a plugin added holds', async () => {
		const signals = new EventEmitter();
		const socketPath = join(dir, 'plexus.sock');
		let synced = false;
		let started: Daemon | undefined;
		const running = runDaemonCommand(
			['--socket', socketPath, '--metrics-address', 'off', '--grace-ms', '0'],
			{
				env: {},
				plugins: new Map([
					[
						'plexus',
						async (context) => {
							context.addReadiness?.(() => synced);
							return plugin;
						},
					],
				]),
				signals,
				onListening: ({daemon}) => {
					started = daemon;
				},
			},
		);
		while (started === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
		expect(started.ready).toBe(false);
		synced = true;
		expect(started.ready).toBe(true);
		signals.emit('SIGTERM');
		expect((await running).exitCode).toBe(0);
	});

	it('fails with exit 1 when the plugin is not registered, exit 2 on bad usage, 0 on --help', async () => {
		const io = {env: {}, plugins: new Map()};
		const missing = await runDaemonCommand(['--socket', join(dir, 's.sock')], io);
		expect(missing.exitCode).toBe(1);
		expect(missing.stderr).toBe(
			'plexus: failed to start daemon: no CNI plugin is registered as "plexus" in this build of plexus\n',
		);
		const bad = await runDaemonCommand(['--max-concurrent', 'x'], io);
		expect(bad.exitCode).toBe(2);
		expect(bad.stderr).toContain(DAEMON_USAGE);
		expect(await runDaemonCommand(['--help'], io)).toEqual({stdout: DAEMON_USAGE, stderr: '', exitCode: 0});
	});

	it('fails with exit 1, before serving, when --chroot-dir cannot host delegates', async () => {
		const loaded: string[] = [];
		const load = async () => {
			loaded.push('plexus');
			return plugin;
		};
		const io = {env: {}, plugins: new Map([['plexus', load]])};
		const socket = join(dir, 's.sock');
		const missing = await runDaemonCommand(['--socket', socket, '--chroot-dir', join(dir, 'none')], io);
		expect(missing.exitCode).toBe(1);
		expect(missing.stderr).toMatch(/^plexus: failed to start daemon: --chroot-dir ".*none": ENOENT/);
		const relative = await runDaemonCommand(['--socket', socket, '--chroot-dir', 'hostroot'], io);
		expect(relative.stderr).toBe(
			'plexus: failed to start daemon: --chroot-dir "hostroot" is not an absolute path\n',
		);
		expect(loaded).toEqual([]);
		expect(existsSync(socket)).toBe(false);
	});

	it('fails with exit 1 when the socket is taken by a live daemon', async () => {
		const signals = new EventEmitter();
		const socketPath = join(dir, 'plexus.sock');
		const io = {env: {}, plugins: new Map([['plexus', async () => plugin]]), signals};
		let up = false;
		const first = runDaemonCommand(['--socket', socketPath, '--metrics-address', 'off', '--grace-ms', '0'], {
			...io,
			onListening: () => {
				up = true;
			},
		});
		while (!up) await new Promise((resolve) => setTimeout(resolve, 5));
		const second = await runDaemonCommand(['--socket', socketPath, '--metrics-address', 'off'], {
			...io,
			signals: new EventEmitter(),
		});
		expect(second.exitCode).toBe(1);
		expect(second.stderr).toContain('another daemon is serving it');
		signals.emit('SIGINT');
		expect((await first).exitCode).toBe(0);
	});
});

/**
 * The real plexus-shim binary against the real daemon (a child process running e2e/helpers/daemon-fixture.ts):
 * wire format, exit codes, error passthrough, back-pressure, DEL while the daemon is down,
 * restarts, kill -9 mid-ADD, graceful SIGTERM, socket permissions and metrics.
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, statSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {SUPPORTED_VERSIONS} from '../../src/cni/versions.ts';
import {parseExposition, value} from '../../src/daemon/testing/exposition.ts';
import {plexusVersion} from '../../src/version/version.ts';
import {
	freePort,
	probe,
	type RunningDaemon,
	requireShim,
	runShim,
	SHIM,
	startDaemon as start,
} from '../helpers/daemon.ts';

describe('plexus-shim ↔ plexus daemon', () => {
	let dir: string;
	let socketPath: string;
	let stateDir: string;
	const daemons: RunningDaemon[] = [];

	/** Starts the fixture daemon with the fake plugin; killed in afterEach. */
	async function startDaemon(args: string[] = []): Promise<RunningDaemon> {
		const daemon = await start(socketPath, ['--plugin', 'fake', ...args]);
		daemons.push(daemon);
		return daemon;
	}

	/** Runs the shim binary as a runtime would. */
	function shim(command: string, config: Record<string, unknown>, env: Record<string, string> = {}) {
		return runShim(command, config, {
			CNI_CONTAINERID: 'c0ffee01',
			CNI_NETNS: '/var/run/netns/fake',
			CNI_IFNAME: 'eth0',
			CNI_ARGS: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;EXTRA=yes',
			CNI_PATH: '/runtime/cni/bin:/more/bin',
			PLEXUS_SOCKET: socketPath,
			...env,
		});
	}

	const conf = (fake: Record<string, unknown> = {}) => ({
		cniVersion: '1.0.0',
		name: 'plexus-test',
		type: 'plexus-shim',
		fake: {stateDir, ...fake},
	});
	const stateFile = () => join(stateDir, 'c0ffee01-eth0');

	beforeAll(requireShim);

	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), 'plexus-shim-'));
		socketPath = join(dir, 'run', 'plexus.sock');
		stateDir = join(dir, 'state');
	});

	afterEach(async () => {
		for (const daemon of daemons.splice(0)) {
			daemon.process.kill('SIGKILL');
			await daemon.process;
		}
		rmSync(dir, {recursive: true, force: true});
	});

	it("prints its build version, package.json's, for --version", async () => {
		const result = await execa(SHIM, ['--version'], {reject: false});
		expect(result.exitCode).toBe(0);
		expect(result.stdout).toBe(`plexus-shim ${plexusVersion()}`);
	});

	it('answers VERSION locally with the versions src/cni supports', async () => {
		const result = await shim('VERSION', {cniVersion: '1.0.0'});
		expect(result.exitCode).toBe(0);
		expect(JSON.parse(result.stdout)).toEqual({
			cniVersion: '1.1.0',
			supportedVersions: [...SUPPORTED_VERSIONS],
		});
	});

	it('round-trips ADD and DEL, with the runtime CNI_PATH and CNI_ARGS reaching the plugin', async () => {
		await startDaemon();
		const add = await shim('ADD', conf());
		expect(add.exitCode).toBe(0);
		expect(JSON.parse(add.stdout)).toEqual({
			cniVersion: '1.0.0',
			interfaces: [{name: 'eth0', sandbox: '/var/run/netns/fake'}],
			ips: [],
		});
		expect(JSON.parse(readFileSync(stateFile(), 'utf8'))).toMatchObject({
			path: ['/runtime/cni/bin', '/more/bin'],
			args: 'K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1;EXTRA=yes',
		});
		const del = await shim('DEL', conf());
		expect(del.exitCode).toBe(0);
		expect(del.stdout).toBe('');
		expect(existsSync(stateFile())).toBe(false);
	});

	it('finds the daemon through the config key daemonSocketDir when PLEXUS_SOCKET is unset', async () => {
		await startDaemon();
		const add = await shim('ADD', {...conf(), daemonSocketDir: join(dir, 'run')}, {PLEXUS_SOCKET: ''});
		expect(add.exitCode).toBe(0);
		expect(JSON.parse(add.stdout)).toMatchObject({cniVersion: '1.0.0'});
	});

	it('creates the socket dir 0700 and the socket 0600', async () => {
		await startDaemon();
		expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
		expect(statSync(socketPath).mode & 0o777).toBe(0o600);
	});

	it('passes a plugin error through as CNI error JSON with exit 1', async () => {
		await startDaemon();
		const add = await shim('ADD', conf({failCode: 7, failMsg: 'failed to load netconf "x": bad'}));
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 7,
			msg: 'failed to load netconf "x": bad',
			details: 'from the fake plugin',
		});
	});

	it('passes the daemon validation error (missing CNI_CONTAINERID) through as code 4', async () => {
		await startDaemon();
		const add = await shim('ADD', conf(), {CNI_CONTAINERID: ''});
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toMatchObject({cniVersion: '1.0.0', code: 4});
	});

	it('answers code 11 when the daemon queue is full', async () => {
		await startDaemon(['--max-concurrent', '1', '--max-queued', '0']);
		const slow = shim('ADD', conf({sleepMs: 2000}));
		for (let i = 0; i < 100 && !existsSync(stateFile()); i++) await sleep(20);
		const refused = await shim('ADD', conf(), {CNI_CONTAINERID: 'c0ffee02'});
		expect(refused.exitCode).toBe(1);
		expect(JSON.parse(refused.stdout)).toMatchObject({cniVersion: '1.0.0', code: 11});
		expect(JSON.parse(refused.stdout).msg).toContain('queue full');
		expect((await slow).exitCode).toBe(0);
	});

	it('fails DEL with code 11 after its bound when no daemon is there (never a fake success)', async () => {
		const started = Date.now();
		const del = await shim('DEL', conf(), {PLEXUS_SHIM_DEL_TIMEOUT_MS: '800'});
		const elapsed = Date.now() - started;
		expect(del.exitCode).toBe(1);
		expect(JSON.parse(del.stdout)).toMatchObject({cniVersion: '1.0.0', code: 11});
		expect(JSON.parse(del.stdout).msg).toContain('unreachable for 800 ms');
		expect(elapsed).toBeGreaterThanOrEqual(600);
		expect(elapsed).toBeLessThan(5000);
	});

	it('fails ADD with code 11 when the daemon does not become ready within the bound', async () => {
		const add = await shim('ADD', conf(), {PLEXUS_SHIM_READY_TIMEOUT_MS: '300'});
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toMatchObject({code: 11});
		expect(JSON.parse(add.stdout).msg).toContain('not ready after 300 ms');
	});

	it('answers STATUS with code 50 within about a second when no daemon is ready, and 0 once it is', async () => {
		const started = Date.now();
		const down = await shim('STATUS', {...conf(), cniVersion: '1.1.0'});
		const elapsed = Date.now() - started;
		expect(down.exitCode).toBe(1);
		expect(JSON.parse(down.stdout)).toMatchObject({cniVersion: '1.1.0', code: 50});
		expect(JSON.parse(down.stdout).msg).toContain('not ready after 1000 ms');
		expect(elapsed).toBeLessThan(5000);
		await startDaemon();
		expect(await shim('STATUS', {...conf(), cniVersion: '1.1.0'})).toMatchObject({exitCode: 0, stdout: ''});
	});

	it('keeps retrying DEL while the daemon starts, then succeeds', async () => {
		const del = shim('DEL', conf(), {PLEXUS_SHIM_DEL_TIMEOUT_MS: '20000'});
		await sleep(300);
		await startDaemon();
		const result = await del;
		expect(result.exitCode).toBe(0);
	});

	it('survives a daemon restart between ADD and DEL', async () => {
		const first = await startDaemon();
		expect((await shim('ADD', conf())).exitCode).toBe(0);
		first.process.kill('SIGTERM');
		expect((await first.process).exitCode).toBe(0);
		await startDaemon();
		expect((await shim('DEL', conf())).exitCode).toBe(0);
		expect(existsSync(stateFile())).toBe(false);
	});

	it('after kill -9 of the daemon mid-ADD, ADD fails with code 11 and a DEL on a new daemon leaves nothing', async () => {
		const first = await startDaemon();
		const add = shim('ADD', conf({sleepMs: 5000}));
		for (let i = 0; i < 200 && !existsSync(stateFile()); i++) await sleep(20);
		expect(existsSync(stateFile())).toBe(true);
		first.process.kill('SIGKILL');
		await first.process;
		const failed = await add;
		expect(failed.exitCode).toBe(1);
		expect(JSON.parse(failed.stdout)).toMatchObject({code: 11});
		await startDaemon();
		expect((await shim('DEL', conf())).exitCode).toBe(0);
		expect(existsSync(stateFile())).toBe(false);
	});

	it('on SIGTERM fails readyz, finishes the in-flight ADD, then exits 0', async () => {
		const daemon = await startDaemon(['--grace-ms', '2000']);
		const add = shim('ADD', conf({sleepMs: 3000}));
		for (let i = 0; i < 200 && !existsSync(stateFile()); i++) await sleep(20);
		daemon.process.kill('SIGTERM');
		let readyz = 200;
		for (let i = 0; i < 50 && readyz === 200; i++) {
			readyz = await probe(socketPath, '/readyz');
			await sleep(10);
		}
		expect(readyz).toBe(500);
		expect(await probe(socketPath, '/healthz')).toBe(200);
		const result = await add;
		expect(result.exitCode).toBe(0);
		expect(JSON.parse(result.stdout)).toMatchObject({cniVersion: '1.0.0'});
		const exited = await daemon.process;
		expect(exited.exitCode).toBe(0);
		expect(exited.all).toContain('"msg":"plexus daemon stopped","drained":true');
		expect(existsSync(socketPath)).toBe(false);
	});

	it('exposes request metrics on /metrics and writes structured JSON logs', async () => {
		const port = await freePort();
		const daemon = await startDaemon(['--metrics-address', `127.0.0.1:${port}`]);
		expect((await shim('ADD', conf())).exitCode).toBe(0);
		expect((await shim('ADD', conf({failCode: 7}), {CNI_CONTAINERID: 'c0ffee02'})).exitCode).toBe(1);
		const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
		expect(
			value(metrics, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'success'}),
		).toBe(1);
		expect(value(metrics, 'plexus_cni_errors_total', {verb: 'ADD', code: '7'})).toBe(1);
		expect(value(metrics, 'plexus_http_requests_total', {handler: '/cni', method: 'POST', code: '400'})).toBe(
			1,
		);
		expect(value(metrics, 'plexus_cni_requests_in_flight')).toBe(0);
		daemon.process.kill('SIGTERM');
		const exited = await daemon.process;
		const parsed = (exited.all ?? '')
			.split('\n')
			.filter((line) => line.startsWith('{'))
			.map((line) => JSON.parse(line) as Record<string, unknown>);
		expect(parsed.find((l) => l['msg'] === 'cni request done')).toMatchObject({
			level: 'info',
			command: 'ADD',
			containerId: 'c0ffee01',
			ifname: 'eth0',
		});
		expect(parsed.find((l) => l['msg'] === 'cni request failed')).toMatchObject({
			level: 'error',
			code: 7,
			containerId: 'c0ffee02',
		});
	});
});

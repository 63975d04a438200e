import {chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {CniError} from '../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import {configureLog} from '../log.ts';
import {Daemon, REQUIRE_READY_HEADER} from './server.ts';
import {metricValue} from './testing/exposition.ts';

configureLog({logToStderr: false});

/** A CniPlugin that records requests and answers from a script. */
function fakePlugin(behaviour: {add?: (r: PluginRequest) => Promise<Record<string, unknown>>} = {}) {
	const seen: PluginRequest[] = [];
	const plugin: CniPlugin = {
		type: 'fake',
		supportedVersions: SUPPORTED_VERSIONS,
		async add(request) {
			seen.push(request);
			if (behaviour.add) return behaviour.add(request);
			return {cniVersion: request.config['cniVersion'], interfaces: [{name: request.ifname}], ips: []};
		},
		async del(request) {
			seen.push(request);
		},
		async check(request) {
			seen.push(request);
		},
	};
	return {plugin, seen};
}

/** One HTTP exchange on the daemon socket. */
function call(
	socketPath: string,
	method: string,
	path: string,
	body?: unknown,
	headers: Record<string, string> = {},
) {
	return new Promise<{status: number; body: string}>((resolve, reject) => {
		const req = httpRequest(
			{socketPath, method, path, headers: {'content-type': 'application/json', ...headers}},
			(res) => {
				const chunks: Buffer[] = [];
				res.on('data', (chunk: Buffer) => chunks.push(chunk));
				res.on('end', () => resolve({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString()}));
			},
		);
		req.on('error', reject);
		req.end(body === undefined ? undefined : JSON.stringify(body));
	});
}

const config = '{"cniVersion":"0.4.0","name":"plexus-net","type":"plexus"}';
const cniBody = (command: string, extra: Record<string, string> = {}) => ({
	env: {
		CNI_COMMAND: command,
		CNI_CONTAINERID: 'c0ffee',
		CNI_NETNS: '/var/run/netns/x',
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
		CNI_PATH: '/runtime/bin',
		...extra,
	},
	config: Buffer.from(config).toString('base64'),
});

describe('Daemon', () => {
	let dir: string;
	let daemon: Daemon | undefined;

	beforeEach(() => {
		dir = mkdtempSync(join(tmpdir(), 'plexus-daemon-'));
	});

	afterEach(async () => {
		await daemon?.shutdown({drainTimeoutMs: 1000});
		daemon = undefined;
		rmSync(dir, {recursive: true, force: true});
	});

	it('creates the socket dir 0700 and the socket 0600', async () => {
		const socketPath = join(dir, 'run', 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin});
		expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
		expect(statSync(socketPath).mode & 0o777).toBe(0o600);
		expect(statSync(socketPath).isSocket()).toBe(true);
	});

	it('tightens an existing dedicated socket dir (a 0755 hostPath) to 0700', async () => {
		const run = join(dir, 'run');
		mkdirSync(run, {mode: 0o755});
		chmodSync(run, 0o755);
		daemon = await Daemon.start({socketPath: join(run, 'plexus.sock'), plugin: fakePlugin().plugin});
		expect(statSync(run).mode & 0o777).toBe(0o700);
	});

	it('leaves a shared socket dir (holding other files) as it is, and still makes the socket 0600', async () => {
		const shared = join(dir, 'shared');
		mkdirSync(shared, {mode: 0o755});
		chmodSync(shared, 0o755);
		writeFileSync(join(shared, 'someone-else.pid'), '1');
		const socketPath = join(shared, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin});
		expect(statSync(shared).mode & 0o777).toBe(0o755);
		expect(statSync(socketPath).mode & 0o777).toBe(0o600);
	});

	it('answers ADD with {"Result": …} in the config version and passes the exact request to the plugin', async () => {
		const {plugin, seen} = fakePlugin();
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin, env: {PATH: '/daemon/bin'}});
		const res = await call(socketPath, 'POST', '/cni', cniBody('ADD', {SHIM_VAR: 'x'}));
		expect(res.status).toBe(200);
		expect(JSON.parse(res.body)).toEqual({
			Result: {cniVersion: '0.4.0', interfaces: [{name: 'eth0'}], ips: []},
		});
		const request = seen[0];
		expect(request?.command).toBe('ADD');
		expect(request?.containerId).toBe('c0ffee');
		expect(request?.path).toEqual(['/runtime/bin']);
		expect(request?.args).toBe('K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p');
		expect(Buffer.from(request?.stdin ?? []).toString()).toBe(config);
		expect(request?.env).toEqual({
			PATH: '/daemon/bin',
			CNI_COMMAND: 'ADD',
			CNI_CONTAINERID: 'c0ffee',
			CNI_NETNS: '/var/run/netns/x',
			CNI_IFNAME: 'eth0',
			CNI_ARGS: 'K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p',
			CNI_PATH: '/runtime/bin',
		});
	});

	it('answers DEL with 200 and an empty body', async () => {
		const {plugin, seen} = fakePlugin();
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin});
		const res = await call(socketPath, 'POST', '/cni', cniBody('DEL', {CNI_NETNS: ''}));
		expect(res).toEqual({status: 200, body: ''});
		expect(seen.map((r) => r.command)).toEqual(['DEL']);
	});

	it('answers a plugin failure with 400 and the CNI error JSON', async () => {
		const {plugin} = fakePlugin({
			add: async () => {
				throw new CniError(7, 'failed to load netconf "net1": bad', {details: 'why'});
			},
		});
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin});
		const res = await call(socketPath, 'POST', '/cni', cniBody('ADD'));
		expect(res.status).toBe(400);
		expect(JSON.parse(res.body)).toEqual({
			cniVersion: '0.4.0',
			code: 7,
			msg: 'failed to load netconf "net1": bad',
			details: 'why',
		});
		expect(await metricValue(daemon.metrics.errors, {verb: 'ADD', code: '7'})).toBe(1);
	});

	it('answers a malformed body and missing env with CNI errors 6 and 4', async () => {
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin});
		const garbage = await call(socketPath, 'POST', '/cni', {env: [], config: ''});
		expect(garbage.status).toBe(400);
		expect(JSON.parse(garbage.body)).toMatchObject({code: 6});
		const missing = await call(socketPath, 'POST', '/cni', {
			env: {CNI_COMMAND: 'ADD'},
			config: Buffer.from(config).toString('base64'),
		});
		expect(missing.status).toBe(400);
		expect(JSON.parse(missing.body)).toMatchObject({cniVersion: '0.4.0', code: 4});
	});

	it('serves healthz/readyz, 404 elsewhere and 405 for GET /cni', async () => {
		const socketPath = join(dir, 'plexus.sock');
		let ready = false;
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin, isReady: () => ready});
		expect((await call(socketPath, 'GET', '/healthz')).status).toBe(200);
		expect((await call(socketPath, 'GET', '/readyz')).status).toBe(500);
		ready = true;
		expect((await call(socketPath, 'POST', '/readyz')).status).toBe(200);
		expect((await call(socketPath, 'GET', '/nope')).status).toBe(404);
		expect((await call(socketPath, 'GET', '/cni')).status).toBe(405);
		expect(
			await metricValue(daemon.metrics.httpRequests, {handler: 'NotFound', method: 'GET', code: '404'}),
		).toBe(1);
	});

	it('answers 503 without running a request that requires readiness while not ready, and runs it once ready', async () => {
		const socketPath = join(dir, 'plexus.sock');
		let ready = false;
		const {plugin, seen} = fakePlugin();
		daemon = await Daemon.start({socketPath, plugin, isReady: () => ready});
		const requireReady = {[REQUIRE_READY_HEADER]: '1'};
		const refused = await call(socketPath, 'POST', '/cni', cniBody('ADD'), requireReady);
		expect(refused.status).toBe(503);
		expect(seen).toHaveLength(0);
		// Without the header (multus-shim) the request runs as before, ready or not.
		expect((await call(socketPath, 'POST', '/cni', cniBody('DEL'))).status).toBe(200);
		expect(seen.map((r) => r.command)).toEqual(['DEL']);
		ready = true;
		const served = await call(socketPath, 'POST', '/cni', cniBody('ADD'), requireReady);
		expect(served.status).toBe(200);
		expect(JSON.parse(served.body)).toMatchObject({Result: {interfaces: [{name: 'eth0'}]}});
		expect(seen.map((r) => r.command)).toEqual(['DEL', 'ADD']);
	});

	it('refuses with code 11 when the queue is full', async () => {
		let release!: () => void;
		const blocked = new Promise<void>((resolve) => {
			release = resolve;
		});
		const {plugin} = fakePlugin({
			add: async (r) => {
				await blocked;
				return {cniVersion: r.config['cniVersion'], ips: []};
			},
		});
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin, limits: {maxConcurrent: 1, maxQueued: 1}});
		const first = call(socketPath, 'POST', '/cni', cniBody('ADD'));
		const second = call(socketPath, 'POST', '/cni', cniBody('ADD'));
		while (daemon.queue.queued < 1) await new Promise((resolve) => setTimeout(resolve, 5));
		const third = await call(socketPath, 'POST', '/cni', cniBody('ADD'));
		expect(third.status).toBe(400);
		expect(JSON.parse(third.body)).toMatchObject({cniVersion: '0.4.0', code: 11});
		release();
		expect((await first).status).toBe(200);
		expect((await second).status).toBe(200);
	});

	it('answers /delegate with code 50 when no delegate runner is configured, else runs it with the attributes', async () => {
		const socketPath = join(dir, 'plexus.sock');
		const delegate = fakePlugin();
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin});
		const body = {...cniBody('ADD'), interfaceAttributes: {mac: '02:00:00:00:00:09'}};
		const refused = await call(socketPath, 'POST', '/delegate', body);
		expect(refused.status).toBe(400);
		expect(JSON.parse(refused.body)).toMatchObject({code: 50});
		await daemon.shutdown();
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin, delegatePlugin: delegate.plugin});
		const res = await call(socketPath, 'POST', '/delegate', body);
		expect(res.status).toBe(200);
		expect(delegate.seen[0]?.config['runtimeConfig']).toEqual({mac: '02:00:00:00:00:09'});
	});

	it('replaces a stale socket but refuses to take over a live one', async () => {
		const socketPath = join(dir, 'plexus.sock');
		daemon = await Daemon.start({socketPath, plugin: fakePlugin().plugin});
		await expect(Daemon.start({socketPath, plugin: fakePlugin().plugin})).rejects.toThrow(
			'another daemon is serving it',
		);
	});

	it('on shutdown fails readyz at once, finishes in-flight work, then refuses connections', async () => {
		let release!: () => void;
		const blocked = new Promise<void>((resolve) => {
			release = resolve;
		});
		const {plugin} = fakePlugin({
			add: async (r) => {
				await blocked;
				return {cniVersion: r.config['cniVersion'], ips: []};
			},
		});
		const socketPath = join(dir, 'plexus.sock');
		const running = await Daemon.start({socketPath, plugin});
		daemon = running;
		const inFlight = call(socketPath, 'POST', '/cni', cniBody('ADD'));
		while (running.queue.inFlight < 1) await new Promise((resolve) => setTimeout(resolve, 5));
		const stopped = running.shutdown({graceMs: 1000});
		expect(running.ready).toBe(false);
		expect((await call(socketPath, 'GET', '/readyz')).status).toBe(500);
		release();
		expect((await inFlight).status).toBe(200);
		await stopped;
		await expect(call(socketPath, 'GET', '/healthz')).rejects.toThrow(/ENOENT|ECONNREFUSED/);
	});
});

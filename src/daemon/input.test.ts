// Issue 12 through the daemon's POST /cni: the same refusals as the one-shot plugin, never 999 (a
// NUL in CNI_IFNAME used to reach exec and come back as 999), and a nested body is code 7.
import {mkdtempSync, rmSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, expect, test} from 'vitest';
import {FakePluginExec} from '../chain/testing/fake-exec.ts';
import {MAX_JSON_DEPTH} from '../cni/json.ts';
import {configureLog} from '../log.ts';
import {createPlexusPlugin} from '../meta/plugin.ts';
import {anyPathIsNetns} from '../meta/testing/netns.ts';
import {Daemon} from './server.ts';

configureLog({logToStderr: false});

let dir: string;
let daemon: Daemon;
let exec: FakePluginExec;

beforeEach(async () => {
	dir = mkdtempSync(join(tmpdir(), 'plexus-daemon-input-'));
	exec = new FakePluginExec({bridge: () => ({cniVersion: '1.0.0'})});
	const plugin = createPlexusPlugin({
		kube: () => undefined,
		exec,
		inProcess: async () => new Map(),
		probeNetns: anyPathIsNetns,
	});
	daemon = await Daemon.start({socketPath: join(dir, 'plexus.sock'), plugin});
});

afterEach(async () => {
	await daemon.shutdown({drainTimeoutMs: 1000});
	rmSync(dir, {recursive: true, force: true});
});

/** POST /cni with a raw body; the status and the decoded answer. */
function post(body: string): Promise<{status: number; answer: {code?: number; msg?: string}}> {
	return new Promise((resolve, reject) => {
		const req = httpRequest({socketPath: daemon.socketPath, method: 'POST', path: '/cni'}, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () =>
				resolve({status: res.statusCode ?? 0, answer: JSON.parse(Buffer.concat(chunks).toString() || '{}')}),
			);
		});
		req.on('error', reject);
		req.end(body);
	});
}

const conf = () =>
	JSON.stringify({
		cniVersion: '1.0.0',
		name: 'plexus-net',
		type: 'plexus',
		cniDir: join(dir, 'cni'),
		delegates: [{cniVersion: '1.0.0', name: 'cbr0', type: 'bridge'}],
	});
const body = (env: Record<string, string>) =>
	JSON.stringify({
		env: {
			CNI_COMMAND: 'ADD',
			CNI_CONTAINERID: 'c1',
			CNI_NETNS: '/var/run/netns/x',
			CNI_IFNAME: 'eth0',
			CNI_PATH: '/fake/cni/bin',
			...env,
		},
		config: Buffer.from(conf()).toString('base64'),
	});

test.each(['eth\u00000', '\u0000', 'a/b', 'e 0', 'x'.repeat(16)])(
	'CNI_IFNAME %j is code 4, never 999',
	async (ifname) => {
		for (const command of ['ADD', 'DEL', 'CHECK']) {
			const {status, answer} = await post(body({CNI_COMMAND: command, CNI_IFNAME: ifname}));
			expect(status).toBe(400);
			expect(answer.code).toBe(4);
			expect(answer.msg).toMatch(/interface name|CNI_IFNAME/);
		}
		expect(exec.calls).toEqual([]);
	},
);

test('a NUL in any CNI_* variable of the body is code 4 naming it', async () => {
	const {answer} = await post(body({CNI_NETNS: '/var/run/netns/x\u0000y'}));
	expect(answer).toMatchObject({code: 4, msg: 'invalid env variable CNI_NETNS: contains a NUL byte'});
	expect(exec.calls).toEqual([]);
});

test(`a body nested deeper than ${MAX_JSON_DEPTH} levels is code 7 naming the limit`, async () => {
	const deep = `{"env":{"CNI_COMMAND":"ADD"},"x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
	const {status, answer} = await post(deep);
	expect(status).toBe(400);
	expect(answer).toMatchObject({
		code: 7,
		msg: `invalid daemon request: JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
	});
});

test('a config (the base64 stdin) nested too deep is code 7 too', async () => {
	const config = `{"cniVersion":"1.0.0","name":"n","type":"plexus","x":${'['.repeat(3000)}${']'.repeat(3000)}}`;
	const {answer} = await post(
		JSON.stringify({
			env: {CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/x', CNI_IFNAME: 'eth0', CNI_PATH: '/b'},
			config: Buffer.from(config).toString('base64'),
		}),
	);
	expect(answer).toMatchObject({
		code: 7,
		msg: `invalid network config: JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
	});
	expect(exec.calls).toEqual([]);
});

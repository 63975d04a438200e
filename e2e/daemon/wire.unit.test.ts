/**
 * plexus-shim against a scripted server that answers the way Multus's Go daemon can (chunked
 * bodies, plain-text http.Error, other statuses): the shim's request is exactly Multus's
 * api.Request, and every kind of answer becomes the right stdout and exit code.
 */
import {mkdtempSync, rmSync} from 'node:fs';
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {requireShim, runShim, SHIM} from '../helpers/daemon.ts';

interface Seen {
	method: string;
	url: string;
	body: string;
	requireReady: string | undefined;
}

describe('plexus-shim wire format', () => {
	let dir: string;
	let socketPath: string;
	let server: Server;
	let seen: Seen[];
	let answer: (req: IncomingMessage, res: ServerResponse) => void;

	beforeAll(requireShim);

	beforeEach(async () => {
		dir = mkdtempSync(join(tmpdir(), 'plexus-wire-'));
		socketPath = join(dir, 'multus.sock');
		seen = [];
		server = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (chunk: Buffer) => chunks.push(chunk));
			req.on('end', () => {
				seen.push({
					method: req.method ?? '',
					url: req.url ?? '',
					body: Buffer.concat(chunks).toString(),
					requireReady: req.headers['plexus-require-ready'] as string | undefined,
				});
				if (req.url === '/readyz') res.writeHead(200).end();
				else answer(req, res);
			});
		});
		await new Promise<void>((done) => server.listen(socketPath, done));
	});

	afterEach(async () => {
		server.closeAllConnections();
		await new Promise((done) => server.close(done));
		rmSync(dir, {recursive: true, force: true});
	});

	const conf = {cniVersion: '1.0.0', name: 'net', type: 'plexus-shim', socketDir: '/unused'};
	const env = (extra: Record<string, string> = {}) => ({
		CNI_CONTAINERID: 'ctr',
		CNI_NETNS: '/var/run/netns/x',
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'K8S_POD_NAMESPACE=a;K8S_POD_NAME=b',
		CNI_PATH: '/opt/cni/bin',
		PLEXUS_SOCKET: socketPath,
		WEIRD: 'quote" backslash\\ newline\n tab\t',
		...extra,
	});

	it('sends POST /cni with every environment variable and the exact stdin as base64, requiring readiness', async () => {
		answer = (_req, res) =>
			res.writeHead(200, {'content-type': 'application/json'}).end('{"Result":{"cniVersion":"1.0.0"}}');
		const result = await runShim('ADD', conf, env());
		expect(result.exitCode).toBe(0);
		// One exchange: the Plexus-Require-Ready header stands in for a GET /readyz before it.
		expect(seen.map((s) => `${s.method} ${s.url} ${s.requireReady}`)).toEqual(['POST /cni 1']);
		const body = JSON.parse(seen[0]?.body ?? '{}') as {env: Record<string, string>; config: string};
		expect(Object.keys(body).sort()).toEqual(['config', 'env']);
		expect(Buffer.from(body.config, 'base64').toString()).toBe(JSON.stringify(conf));
		expect(body.env).toEqual({PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_COMMAND: 'ADD', ...env()});
	});

	it('waits for GET /readyz and sends the request again when the daemon answers 503 (not ready)', async () => {
		let posts = 0;
		answer = (_req, res) => {
			posts++;
			if (posts === 1) res.writeHead(503).end('not ready\n');
			else res.writeHead(200, {'content-type': 'application/json'}).end('{"Result":{"cniVersion":"1.0.0"}}');
		};
		const result = await runShim('ADD', conf, env());
		expect(result).toMatchObject({exitCode: 0, stdout: '{"cniVersion":"1.0.0"}'});
		expect(seen.map((s) => `${s.method} ${s.url}`)).toEqual(['POST /cni', 'GET /readyz', 'POST /cni']);
		expect(seen[2]?.body).toBe(seen[0]?.body);
	});

	it('gives up within the readiness bound when POST keeps answering 503 while /readyz says 200 (code 11)', async () => {
		answer = (_req, res) => res.writeHead(503).end('not ready\n');
		const result = await runShim('ADD', conf, env({PLEXUS_SHIM_READY_TIMEOUT_MS: '300'}));
		expect(result.exitCode).toBe(1);
		expect(JSON.parse(result.stdout)).toMatchObject({
			code: 11,
			msg: expect.stringContaining('not ready after 300 ms'),
		});
		expect(seen.filter((s) => s.url === '/cni').length).toBeGreaterThan(1);
	});

	it('takes an answer with a Content-Length as whole once that many bytes came, without waiting for the close', async () => {
		const body = '{"Result":{"cniVersion":"1.0.0"}}';
		// Written raw on a connection the server then leaves open: a shim waiting for the close would hang.
		answer = (_req, res) =>
			res.socket?.write(
				`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
			);
		expect(await runShim('ADD', conf, env())).toMatchObject({exitCode: 0, stdout: '{"cniVersion":"1.0.0"}'});
		answer = (_req, res) => res.socket?.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
		expect(await runShim('DEL', conf, env())).toMatchObject({exitCode: 0, stdout: ''});
	});

	it('sends DEL without requiring readiness (a DEL must get through a daemon that is shutting down)', async () => {
		answer = (_req, res) => res.writeHead(200).end();
		expect(await runShim('DEL', conf, env())).toMatchObject({exitCode: 0, stdout: ''});
		expect(seen.map((s) => `${s.method} ${s.url} ${s.requireReady}`)).toEqual(['POST /cni undefined']);
	});

	it('prints the Result of a chunked answer', async () => {
		const ips = Array.from({length: 300}, (_, i) => ({address: `10.0.${Math.floor(i / 250)}.${i % 250}/16`}));
		const text = JSON.stringify({Result: {cniVersion: '1.0.0', ips}});
		answer = (_req, res) => {
			res.writeHead(200, {'content-type': 'application/json'});
			for (let i = 0; i < text.length; i += 1000) res.write(text.slice(i, i + 1000));
			res.end();
		};
		const result = await runShim('ADD', conf, env());
		expect(result.exitCode).toBe(0);
		expect(JSON.parse(result.stdout)).toEqual({cniVersion: '1.0.0', ips});
	});

	it('passes a 400 CNI error JSON through verbatim with exit 1', async () => {
		const error = '{"cniVersion":"1.0.0","code":7,"msg":"failed to load netconf \\"x\\"","details":"d"}';
		answer = (_req, res) => res.writeHead(400, {'content-type': 'application/json'}).end(error);
		const result = await runShim('DEL', conf, env());
		expect(result.exitCode).toBe(1);
		expect(result.stdout).toBe(error);
	});

	it('turns a plain-text 400 (Go http.Error) into CNI error 999 naming what the daemon said', async () => {
		answer = (_req, res) =>
			res.writeHead(400, {'content-type': 'text/plain'}).end('could not extract the CNI command args\n');
		const result = await runShim('ADD', conf, env());
		expect(result.exitCode).toBe(1);
		expect(JSON.parse(result.stdout)).toEqual({
			cniVersion: '1.0.0',
			code: 999,
			msg: 'plexus daemon answered HTTP 400: could not extract the CNI command args\n',
		});
	});

	it('reports an ADD answer without a Result as code 6', async () => {
		answer = (_req, res) => res.writeHead(200).end();
		const result = await runShim('ADD', conf, env());
		expect(result.exitCode).toBe(1);
		expect(JSON.parse(result.stdout)).toMatchObject({cniVersion: '1.0.0', code: 6});
	});

	it('succeeds on a 200 with an empty body for DEL, CHECK, STATUS and GC', async () => {
		answer = (_req, res) => res.writeHead(200).end();
		for (const command of ['DEL', 'CHECK', 'STATUS', 'GC']) {
			const result = await runShim(command, conf, env());
			expect({command, exitCode: result.exitCode, stdout: result.stdout}).toEqual({
				command,
				exitCode: 0,
				stdout: '',
			});
		}
	});

	it('fails with code 11 when the daemon closes the connection before answering', async () => {
		answer = (req) => req.socket.destroy();
		const add = await runShim('ADD', conf, env());
		expect(add.exitCode).toBe(1);
		expect(JSON.parse(add.stdout)).toMatchObject({code: 11});
		const del = await runShim('DEL', conf, env({PLEXUS_SHIM_DEL_TIMEOUT_MS: '300'}));
		expect(del.exitCode).toBe(1);
		expect(JSON.parse(del.stdout)).toMatchObject({code: 11});
		expect(seen.filter((s) => s.url === '/cni').length).toBeGreaterThan(2);
	});

	it('fails without CNI_COMMAND with code 4, before contacting the daemon', async () => {
		const missing = await runShim('', conf, env());
		expect(missing.exitCode).toBe(1);
		expect(JSON.parse(missing.stdout)).toMatchObject({
			code: 4,
			msg: 'required env variable CNI_COMMAND is missing',
		});
	});

	it('refuses a CNI_* variable that is not UTF-8 with code 4 naming it, before contacting the daemon', async () => {
		// JSON strings carry only UTF-8: forwarded, the bytes would reach the daemon as U+FFFD and the
		// plugin would act on an interface name the runtime never asked for. Node cannot put raw
		// bytes in an environment, so a shell sets the variable.
		const result = await execa('bash', ['-c', 'CNI_IFNAME=$(printf "eth\\377") exec "$0"', SHIM], {
			input: JSON.stringify(conf),
			reject: false,
			extendEnv: false,
			env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_COMMAND: 'ADD', ...env()},
		});
		expect(result.exitCode).toBe(1);
		expect(JSON.parse(result.stdout)).toMatchObject({
			code: 4,
			msg: 'invalid env variable CNI_IFNAME: not valid UTF-8',
		});
		expect(seen).toEqual([]);
	});

	it('forwards an interface name with control characters as sent (the daemon judges it)', async () => {
		answer = (_req, res) => res.writeHead(200).end();
		const result = await runShim('DEL', conf, env({CNI_IFNAME: 'e\u0001\u00e9'}));
		expect(result.exitCode).toBe(0);
		const body = JSON.parse(seen.find((s) => s.url === '/cni')?.body ?? '{}') as {
			env: Record<string, string>;
		};
		expect(body.env['CNI_IFNAME']).toBe('e\u0001\u00e9');
	});

	it('refuses a relative daemonSocketDir with code 7 instead of connecting relative to its cwd', async () => {
		const result = await runShim(
			'ADD',
			{...conf, daemonSocketDir: 'run/plexus'},
			{...env(), PLEXUS_SOCKET: ''},
		);
		expect(result.exitCode).toBe(1);
		expect(JSON.parse(result.stdout)).toMatchObject({
			code: 7,
			msg: 'invalid config: socket directory "run/plexus" is a relative path; it must be absolute',
		});
		expect(seen).toEqual([]);
	});
});

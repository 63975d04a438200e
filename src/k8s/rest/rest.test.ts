// The kubeconfig reader and the REST transport against real TLS servers (openssl-made CA):
// verified by certificate-authority(-data), refused without it, insecure-skip-tls-verify,
// client certificates, bearer token and token file, plain http with a warning, YAML kubeconfigs.
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {createServer as createHttpServer, type IncomingMessage, type ServerResponse} from 'node:http';
import {createServer as createHttpsServer, type Server} from 'node:https';
import type {AddressInfo} from 'node:net';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {getCACertificates, setDefaultCACertificates} from 'node:tls';
import {afterAll, afterEach, beforeAll, describe, expect, test} from 'vitest';
import {makePki, type TestPki} from '../../../e2e/testing/pki.ts';
import {configureLog} from '../../log.ts';
import {ApiStatusError, RestClient} from './http.ts';
import {inClusterAccess, loadKubeconfig} from './kubeconfig.ts';

let dir: string;
let pki: TestPki;
const seen: {authorization: string | undefined; clientCn: string | undefined}[] = [];
const closers: (() => void)[] = [];

beforeAll(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-rest-'));
	pki = await makePki(dir);
});

afterAll(async () => {
	await rm(dir, {recursive: true, force: true});
});

afterEach(() => {
	for (const close of closers.splice(0)) close();
	seen.length = 0;
});

function answer(req: IncomingMessage, res: ServerResponse): void {
	const peer = (req.socket as {getPeerCertificate?: () => {subject?: {CN?: string}}}).getPeerCertificate?.();
	seen.push({authorization: req.headers.authorization, clientCn: peer?.subject?.CN});
	if (req.url === '/missing') {
		res
			.writeHead(404, {'content-type': 'application/json'})
			.end('{"kind":"Status","message":"not here","reason":"NotFound"}');
		return;
	}
	res.writeHead(200, {'content-type': 'application/json'}).end('{"kind":"Pod"}');
}

async function httpsServer(requestCert = false): Promise<string> {
	const server: Server = createHttpsServer(
		{cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert, rejectUnauthorized: false},
		answer,
	);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	closers.push(() => {
		server.closeAllConnections();
		server.close();
	});
	return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Writes a kubeconfig with `cluster` and `user` and returns its path. */
async function kubeconfig(cluster: Record<string, unknown>, user: Record<string, unknown>, yaml = false) {
	const path = join(dir, `kc-${Math.random().toString(36).slice(2)}`);
	const doc = {
		apiVersion: 'v1',
		kind: 'Config',
		clusters: [{name: 'c', cluster}],
		users: [{name: 'u', user}],
		contexts: [{name: 'x', context: {cluster: 'c', user: 'u'}}],
		'current-context': 'x',
	};
	const {stringify} = await import('yaml');
	await writeFile(path, yaml ? stringify(doc) : JSON.stringify(doc));
	return path;
}

async function client(path: string): Promise<RestClient> {
	const rest = new RestClient(await loadKubeconfig(path));
	closers.push(() => rest.close());
	return rest;
}

describe('RestClient over TLS', () => {
	test('verifies the server with certificate-authority-data and sends the bearer token', async () => {
		const server = await httpsServer();
		const rest = await client(
			await kubeconfig({server, 'certificate-authority-data': pki.caCert.toString('base64')}, {token: 'tok'}),
		);
		expect(await rest.json({method: 'GET', path: '/api/v1/namespaces/a/pods/b'})).toEqual({kind: 'Pod'});
		expect(seen).toEqual([{authorization: 'Bearer tok', clientCn: undefined}]);
	});

	test('certificate-authority as a file path relative to the kubeconfig, from a YAML kubeconfig', async () => {
		const server = await httpsServer();
		const rest = await client(
			await kubeconfig({server, 'certificate-authority': 'ca.crt'}, {token: 't'}, true),
		);
		expect(await rest.json({method: 'GET', path: '/x'})).toEqual({kind: 'Pod'});
	});

	test('refuses a server its CA did not sign (no CA given: the system trust store)', async () => {
		const server = await httpsServer();
		const rest = await client(await kubeconfig({server}, {token: 't'}));
		await expect(rest.request({method: 'GET', path: '/x'})).rejects.toMatchObject({
			code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/),
		});
		expect(seen).toEqual([]);
	});

	test('insecure-skip-tls-verify skips the check', async () => {
		const server = await httpsServer();
		const rest = await client(await kubeconfig({server, 'insecure-skip-tls-verify': true}, {token: 't'}));
		expect((await rest.request({method: 'GET', path: '/x'})).status).toBe(200);
	});

	test('presents the client certificate (data and file forms)', async () => {
		const server = await httpsServer(true);
		const ca = {server, 'certificate-authority-data': pki.caCert.toString('base64')};
		const byData = await client(
			await kubeconfig(ca, {
				'client-certificate-data': pki.clientCert.toString('base64'),
				'client-key-data': pki.clientKey.toString('base64'),
			}),
		);
		await byData.request({method: 'GET', path: '/x'});
		const byFile = await client(
			await kubeconfig(ca, {'client-certificate': pki.paths.clientCert, 'client-key': 'client.key'}),
		);
		await byFile.request({method: 'GET', path: '/x'});
		expect(seen).toEqual([
			{authorization: undefined, clientCn: 'plexus'},
			{authorization: undefined, clientCn: 'plexus'},
		]);
	});

	test('reads the token file, relative to the kubeconfig', async () => {
		await writeFile(join(dir, 'token'), 'from-file\n');
		const server = await httpsServer();
		const rest = await client(
			await kubeconfig({server, 'insecure-skip-tls-verify': true}, {tokenFile: 'token'}),
		);
		await rest.request({method: 'GET', path: '/x'});
		expect(seen[0]?.authorization).toBe('Bearer from-file');
	});

	test('a non-2xx answer is an ApiStatusError with the Status message and reason', async () => {
		const server = await httpsServer();
		const rest = await client(await kubeconfig({server, 'insecure-skip-tls-verify': true}, {}));
		const error = await rest.json({method: 'GET', path: '/missing'}).catch((e: unknown) => e);
		expect(error).toBeInstanceOf(ApiStatusError);
		expect(error).toMatchObject({status: 404, reason: 'NotFound', message: 'not here'});
	});

	test('optionalJson: 404 is undefined, 2xx the parsed body', async () => {
		const server = await httpsServer();
		const rest = await client(await kubeconfig({server, 'insecure-skip-tls-verify': true}, {}));
		expect(await rest.optionalJson({method: 'GET', path: '/missing'})).toBeUndefined();
		expect(await rest.optionalJson({method: 'GET', path: '/x'})).toEqual({kind: 'Pod'});
	});
});

describe('RestClient as the sole TLS client of a one-shot process', () => {
	// It makes the kubeconfig's CA the process's default trust: put the worker's back afterwards.
	const before = getCACertificates('default');
	afterEach(() => setDefaultCACertificates(before));

	async function sole(cluster: Record<string, unknown>): Promise<RestClient> {
		const rest = new RestClient(await loadKubeconfig(await kubeconfig(cluster, {token: 't'})), {
			maxSockets: 1,
			soleTlsClient: true,
		});
		closers.push(() => rest.close());
		return rest;
	}

	test('trusts the kubeconfig CA, and only it', async () => {
		const server = await httpsServer();
		const ok = await sole({server, 'certificate-authority-data': pki.caCert.toString('base64')});
		expect(await ok.json({method: 'GET', path: '/x'})).toEqual({kind: 'Pod'});
		expect(getCACertificates('default')).toHaveLength(1);
		const other = await makePki(await mkdtemp(join(dir, 'other-')));
		const refused = await sole({server, 'certificate-authority-data': other.caCert.toString('base64')});
		await expect(refused.request({method: 'GET', path: '/x'})).rejects.toMatchObject({
			code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/),
		});
		// A client made earlier keeps the trust it was made with.
		expect((await ok.request({method: 'GET', path: '/x'})).status).toBe(200);
	});

	test('a CA that is not a certificate fails at the handshake, as for any other client', async () => {
		const server = await httpsServer();
		const rest = await sole({
			server,
			'certificate-authority-data': Buffer.from('not a pem').toString('base64'),
		});
		await expect(rest.request({method: 'GET', path: '/x'})).rejects.toMatchObject({
			code: expect.stringMatching(/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/),
		});
		expect(seen).toEqual([]);
	});
});

describe('RestClient over plain http', () => {
	test('works as with client-go, and warns that nothing is encrypted', async () => {
		const lines: string[] = [];
		configureLog({logToStderr: false, logFile: join(dir, 'log')});
		const server = createHttpServer(answer);
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		closers.push(() => server.close());
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const rest = await client(await kubeconfig({server: url}, {token: 'tok'}));
		expect((await rest.request({method: 'GET', path: '/x'})).status).toBe(200);
		const {readFile} = await import('node:fs/promises');
		lines.push(...(await readFile(join(dir, 'log'), 'utf8')).trim().split('\n'));
		expect(lines.map((l) => JSON.parse(l) as {level: string; msg: string})).toContainEqual(
			expect.objectContaining({level: 'warning', msg: expect.stringContaining('plain http')}),
		);
		configureLog({logToStderr: false});
	});

	test('a response cut off before its end is an error, not a short body', async () => {
		configureLog({logToStderr: false});
		const server = createHttpServer((_req, res) => {
			res.writeHead(200, {'content-type': 'application/json', 'content-length': '100'});
			res.write('{"partial":');
			setTimeout(() => res.socket?.destroy(), 20);
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		closers.push(() => server.close());
		const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
		const rest = await client(await kubeconfig({server: url}, {token: 'tok'}));
		await expect(rest.request({method: 'GET', path: '/x'})).rejects.toThrow();
		await expect(rest.json({method: 'GET', path: '/x'})).rejects.toThrow();
	});
});

describe('loadKubeconfig / inClusterAccess', () => {
	test('refuses exec credentials by name', async () => {
		const path = await kubeconfig({server: 'https://x'}, {exec: {command: 'aws'}});
		await expect(loadKubeconfig(path)).rejects.toThrow(
			'exec and auth-provider credentials are not supported',
		);
	});

	test('names a context that is not there', async () => {
		const path = join(dir, 'bad-context');
		await writeFile(path, JSON.stringify({'current-context': 'nope', contexts: []}));
		await expect(loadKubeconfig(path)).rejects.toThrow('context "nope" is not in the kubeconfig');
	});

	test('in-cluster: the service host and port, the mounted CA and token file', async () => {
		await writeFile(join(dir, 'ca.crt'), pki.caCert);
		const access = inClusterAccess({KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443'}, dir);
		expect(access.server.href).toBe('https://[fd00::1]/');
		expect(access.tokenFile).toBe(join(dir, 'token'));
		expect(access.ca?.equals(pki.caCert)).toBe(true);
		expect(() => inClusterAccess({}, dir)).toThrow('KUBERNETES_SERVICE_HOST');
	});
});

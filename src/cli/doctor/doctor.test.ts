// plexus doctor against a node laid out in a temp dir and the in-repo test API server (through
// a real kubeconfig and client-node): a healthy install, then each problem with its fix.
import {chmod, mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {TestApiServer} from '../../../e2e/kube/apiserver.ts';
import type {CniPlugin} from '../../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../../cni/versions.ts';
import {Daemon} from '../../daemon/server.ts';
import {configureLog} from '../../log.ts';
import {runCli} from '../cli.ts';
import type {Check} from './command.ts';

// The daemon the daemon-mode checks start logs nowhere.
configureLog({logToStderr: false});

const FIXTURE_BIN = fileURLToPath(new URL('../../../e2e/testdata/dry-run/bin', import.meta.url));

let dir: string;
let api: TestApiServer;
let confDir: string;

interface Layout {
	conf?: Record<string, unknown>;
	clusterNetwork?: string;
}

async function layout(options: Layout = {}): Promise<void> {
	confDir = join(dir, 'net.d');
	await mkdir(confDir, {recursive: true});
	await mkdir(join(dir, 'cache'), {mode: 0o700});
	await writeFile(join(dir, 'ready'), '');
	await writeFile(
		join(dir, 'cluster.conflist'),
		options.clusterNetwork ??
			'{"cniVersion":"1.0.0","name":"cluster","plugins":[{"type":"bridge"},{"type":"route-override"}]}',
	);
	const conf = {
		cniVersion: '1.0.0',
		name: 'plexus-cni-network',
		type: 'plexus',
		kubeconfig: await api.writeKubeconfig(dir),
		binDir: FIXTURE_BIN,
		cniDir: join(dir, 'cache'),
		clusterNetwork: join(dir, 'cluster.conflist'),
		readinessindicatorfile: join(dir, 'ready'),
		...options.conf,
	};
	await writeFile(join(confDir, '00-plexus.conf'), JSON.stringify(conf));
}

async function doctor(...extra: string[]): Promise<{exitCode: number; checks: Check[]}> {
	const outcome = await runCli({
		argv: ['doctor', '--conf-dir', confDir, '-o', 'json', ...extra],
		env: {CNI_PATH: '/nonexistent'},
		readStdin: async () => new Uint8Array(),
	});
	expect(outcome.stderr).toBe('');
	return {exitCode: outcome.exitCode, checks: (JSON.parse(outcome.stdout) as {checks: Check[]}).checks};
}

const problems = (checks: Check[]) => checks.filter((c) => c.status === 'problem');

/** What the daemon serves in the daemon-mode checks (doctor only asks /readyz). */
const idle: CniPlugin = {
	type: 'idle',
	supportedVersions: SUPPORTED_VERSIONS,
	add: async () => ({}),
	del: async () => undefined,
	check: async () => undefined,
};

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-doctor-'));
	api = await TestApiServer.start();
});

afterEach(async () => {
	await api.close();
	await rm(dir, {recursive: true, force: true});
});

describe('plexus doctor', () => {
	test('a healthy node: every check passes, exit 0', async () => {
		await layout();
		const {exitCode, checks} = await doctor();
		expect(problems(checks)).toEqual([]);
		expect(exitCode).toBe(0);
		expect(checks.map((c) => `${c.status} ${c.check}`)).toEqual([
			'ok conf',
			'ok conf order',
			'ok kubernetes',
			'ok kubernetes',
			'warning kubernetes',
			'ok delegates',
			'ok delegates',
			'ok readiness',
			'ok cache dir',
			'ok failing DEL',
		]);
		expect(checks[5]?.detail).toContain(`"${join(FIXTURE_BIN, 'bridge')}" and supports cniVersion 1.0.0`);
		expect(checks[6]?.detail).toContain('"route-override" of network "cluster" is built in');
		// The probes really reached the API server with the kubeconfig's token.
		// (and asked for a SelfSubjectAccessReview, which this server does not serve: a warning).
		expect(api.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['GET 404', 'GET 404', 'POST 404']);
		expect(api.requests[2]?.path).toBe('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
	});

	/** The conflist `plexus install` writes: plexus-shim in front of the daemon at `socketDir`. */
	async function shimLayout(socketDir: string): Promise<void> {
		await layout();
		await rm(join(confDir, '00-plexus.conf'));
		const shim = {
			type: 'plexus-shim',
			daemonSocketDir: socketDir,
			kubeconfig: await api.writeKubeconfig(dir),
			binDir: FIXTURE_BIN,
			cniDir: join(dir, 'cache'),
			clusterNetwork: join(dir, 'cluster.conflist'),
		};
		await writeFile(
			join(confDir, '00-plexus.conflist'),
			JSON.stringify({cniVersion: '1.0.0', name: 'plexus-cni-network', plugins: [shim]}),
		);
	}

	test('the conflist of plexus install (plexus-shim in front of the daemon) is a Plexus conf; the daemon answers', async () => {
		const socketDir = join(dir, 'run');
		await shimLayout(socketDir);
		const daemon = await Daemon.start({socketPath: join(socketDir, 'plexus.sock'), plugin: idle});
		try {
			const {exitCode, checks} = await doctor();
			expect(problems(checks)).toEqual([]);
			expect(checks.at(-1)).toEqual({
				check: 'daemon',
				status: 'ok',
				detail: `plexus daemon at "${join(socketDir, 'plexus.sock')}" is ready`,
			});
			expect(exitCode).toBe(0);
		} finally {
			await daemon.shutdown({drainTimeoutMs: 0});
		}
	});

	test('daemon mode without a daemon on the socket, or one not ready, is a problem with its fix', async () => {
		const socketDir = join(dir, 'run');
		const socketPath = join(socketDir, 'plexus.sock');
		await shimLayout(socketDir);
		const down = await doctor();
		expect(down.exitCode).toBe(1);
		expect(problems(down.checks)).toEqual([
			{
				check: 'daemon',
				status: 'problem',
				detail: `no plexus daemon answers at "${socketPath}" (ENOENT): every ADD and DEL fails with code 11`,
				fix: `start it: the plexus DaemonSet (kubectl -n kube-system get ds plexus), or plexus daemon --socket ${socketPath}`,
			},
		]);
		const daemon = await Daemon.start({socketPath, plugin: idle, isReady: () => false});
		try {
			const unready = await doctor();
			expect(unready.exitCode).toBe(1);
			expect(problems(unready.checks).map((c) => c.detail)).toEqual([
				expect.stringContaining(`plexus daemon at "${socketPath}" is not ready (HTTP 500)`),
			]);
		} finally {
			await daemon.shutdown({drainTimeoutMs: 0});
		}
	});

	test('the table prints each problem with its fix', async () => {
		await layout({conf: {readinessindicatorfile: join(dir, 'not-there')}});
		const outcome = await runCli({
			argv: ['doctor', '--conf-dir', confDir],
			env: {},
			readStdin: async () => new Uint8Array(),
		});
		expect(outcome.exitCode).toBe(1);
		expect(outcome.stdout).toContain(
			`PROBLEM  readiness: readiness indicator file "${join(dir, 'not-there')}" does not exist`,
		);
		expect(outcome.stdout).toContain('         fix: start the cluster network (it writes that file)');
		expect(outcome.stdout).toContain('1 problem(s) found.');
	});

	const cases: [string, () => Promise<void>, string, RegExp][] = [
		[
			'an invalid conf',
			() => layout({conf: {clusterNetwrok: 'x'}}),
			'conf',
			/is not a valid Plexus conf: .*clusterNetwrok/,
		],
		[
			'another conf sorting first',
			async () => {
				await layout();
				await writeFile(
					join(confDir, '00-aaa.conflist'),
					'{"cniVersion":"1.0.0","name":"x","plugins":[{"type":"bridge"}]}',
				);
			},
			'conf',
			/runs plugin type "bridge", not plexus/,
		],
		[
			'a delegate missing from binDir and CNI_PATH',
			() =>
				layout({clusterNetwork: '{"cniVersion":"1.0.0","name":"cluster","plugins":[{"type":"flannel"}]}'}),
			'delegates',
			/delegate "flannel" of network "cluster": failed to find plugin "flannel"/,
		],
		[
			'a delegate that does not support the network cniVersion',
			async () => {
				const bin = join(dir, 'bin');
				await mkdir(bin);
				await writeFile(
					join(bin, 'bridge'),
					'#!/bin/sh\necho \'{"cniVersion":"0.4.0","supportedVersions":["0.3.1","0.4.0"]}\'\n',
				);
				await chmod(join(bin, 'bridge'), 0o755);
				await layout({conf: {binDir: bin}});
			},
			'delegates',
			/supports \[0\.3\.1 0\.4\.0\], not the network's cniVersion 1\.0\.0/,
		],
		[
			'an API server that is down',
			async () => {
				await layout();
				await api.down();
			},
			'kubernetes',
			/the API server is not reachable/,
		],
		[
			'rejected credentials',
			async () => {
				await layout();
				api.token = 'another-token';
			},
			'kubernetes',
			/rejects the kubeconfig's credentials/,
		],
		[
			'no RBAC for NADs',
			async () => {
				await layout();
				api.inject({path: /network-attachment-definitions/, status: 403});
			},
			'kubernetes',
			/may not get network-attachment-definitions/,
		],
		[
			'a missing readiness file',
			() => layout({conf: {readinessindicatorfile: join(dir, 'absent')}}),
			'readiness',
			/does not exist/,
		],
		[
			'a world-writable cache dir',
			async () => {
				await layout();
				await chmod(join(dir, 'cache'), 0o777);
			},
			'cache dir',
			/is world-writable/,
		],
		[
			'a cache dir that is a file',
			async () => {
				await layout({conf: {cniDir: join(dir, 'ready')}});
			},
			'cache dir',
			/is not usable: ENOTDIR/,
		],
	];

	test.each(cases)('%s is a problem with a fix, exit 1', async (_name, setup, check, detail) => {
		await setup();
		const {exitCode, checks} = await doctor();
		expect(exitCode).toBe(1);
		const found = problems(checks);
		expect(found).toHaveLength(1);
		expect(found[0]).toMatchObject({check, detail: expect.stringMatching(detail), fix: expect.any(String)});
	});

	test('an empty conf dir', async () => {
		confDir = join(dir, 'empty');
		await mkdir(confDir);
		const {exitCode, checks} = await doctor();
		expect(exitCode).toBe(1);
		expect(checks).toEqual([
			expect.objectContaining({
				check: 'conf',
				status: 'problem',
				fix: expect.stringContaining('plexus install'),
			}),
		]);
	});

	test('RBAC through SelfSubjectAccessReview: each missing permission is a problem', async () => {
		// A server that answers reads with 404 and reviews from a fixed set of allowed permissions.
		const {createServer} = await import('node:http');
		const allowed = new Set([
			'get pods',
			'get network-attachment-definitions',
			'list network-attachment-definitions',
		]);
		const reviews: unknown[] = [];
		const server = createServer((req, res) => {
			let body = '';
			req.on('data', (c: Buffer) => {
				body += c.toString();
			});
			req.on('end', () => {
				res.setHeader('content-type', 'application/json');
				if (
					req.method === 'POST' &&
					req.url?.startsWith('/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')
				) {
					const review = JSON.parse(body) as {
						spec: {resourceAttributes: {verb: string; resource: string; subresource?: string}};
					};
					reviews.push(review.spec.resourceAttributes);
					const a = review.spec.resourceAttributes;
					const key = `${a.verb} ${a.resource}${a.subresource === undefined ? '' : `/${a.subresource}`}`;
					res.end(
						JSON.stringify({
							...review,
							status: {allowed: allowed.has(key), reason: allowed.has(key) ? '' : 'no rule'},
						}),
					);
					return;
				}
				res.statusCode = 404;
				res.end(
					JSON.stringify({
						kind: 'Status',
						apiVersion: 'v1',
						status: 'Failure',
						reason: 'NotFound',
						code: 404,
					}),
				);
			});
		});
		await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
		try {
			const port = (server.address() as {port: number}).port;
			const kubeconfig = join(dir, 'ssar.kubeconfig');
			await writeFile(
				kubeconfig,
				JSON.stringify({
					apiVersion: 'v1',
					kind: 'Config',
					clusters: [
						{name: 'c', cluster: {server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true}},
					],
					users: [{name: 'u', user: {token: 't'}}],
					contexts: [{name: 'x', context: {cluster: 'c', user: 'u'}}],
					'current-context': 'x',
				}),
			);
			await layout({conf: {kubeconfig}});
			const {exitCode, checks} = await doctor();
			expect(exitCode).toBe(1);
			expect(checks.filter((c) => c.check === 'kubernetes').map((c) => `${c.status}: ${c.detail}`)).toEqual([
				'ok: may get pods',
				'ok: may get network-attachment-definitions',
				'ok: may get pods (SelfSubjectAccessReview)',
				"problem: the kubeconfig's user may not update pods/status (no rule)",
				'ok: may get network-attachment-definitions (SelfSubjectAccessReview)',
				'ok: may list network-attachment-definitions (SelfSubjectAccessReview)',
				"problem: the kubeconfig's user may not create events (no rule)",
				"problem: the kubeconfig's user may not get resourceclaims (no rule)",
				"problem: the kubeconfig's user may not list resourceslices (no rule)",
				"problem: the kubeconfig's user may not watch resourceslices (no rule)",
			]);
			expect(reviews).toContainEqual({
				namespace: 'kube-system',
				verb: 'update',
				group: '',
				resource: 'pods',
				subresource: 'status',
			});
		} finally {
			await new Promise<void>((resolve) => server.close(() => resolve()));
		}
	});

	test('usage errors exit 2', async () => {
		const outcome = await runCli({
			argv: ['doctor', '--nope'],
			env: {},
			readStdin: async () => new Uint8Array(),
		});
		expect(outcome.exitCode).toBe(2);
		expect(outcome.stderr).toContain('Usage: plexus doctor');
	});
});

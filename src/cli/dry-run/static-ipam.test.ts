// --simulate's stand-in reads a `static` IPAM section as the reference `static` plugin does: each
// section the real plugin (Debian's /usr/lib/cni/static, which only parses here) refuses is refused
// with its message and code, and what it accepts gives the same addresses; through the CLI, an
// address without a prefix is a finding of plain dry-run already (and so never simulated).
import {mkdtemp, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {ProcessPluginExec} from '../../chain/plugin-exec.ts';
import {toCniError} from '../../cni/errors.ts';
import {runCli} from '../cli.ts';
import {staticIpam, staticIpamFailure} from './static-ipam.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const EXAMPLES = join(REPO, 'conf/examples');

let dir: string;

beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-static-ipam-'));
});

afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

/** The real static plugin's ADD of `ipam` (it fails on config before touching any netns). */
async function realStatic(
	ipam: Record<string, unknown>,
): Promise<{code: number; message: string} | undefined> {
	const stdin = Buffer.from(JSON.stringify({cniVersion: '1.0.0', name: 'n', type: 'x', ipam}));
	try {
		await new ProcessPluginExec({busyRetries: 0}).exec({
			pluginPath: '/usr/lib/cni/static',
			stdin,
			env: {
				CNI_COMMAND: 'ADD',
				CNI_CONTAINERID: 'c1',
				CNI_NETNS: '/nonexistent/netns',
				CNI_IFNAME: 'eth0',
				CNI_PATH: '/usr/lib/cni',
			},
			timeoutMs: 10_000,
		});
		return undefined;
	} catch (error) {
		const e = toCniError(error);
		return {code: e.code, message: e.message};
	}
}

const addr = (address: string, gateway?: string) => ({address, ...(gateway === undefined ? {} : {gateway})});

describe('the static IPAM stand-in', () => {
	test.each([
		['an address without a prefix', {addresses: [addr('192.168.3.10', '192.168.3.1')]}],
		['a prefix too long', {addresses: [addr('10.0.0.1/33')]}],
		['a leading zero', {addresses: [addr('010.0.0.1/24')]}],
		['a bad gateway', {addresses: [addr('10.0.0.1/24', '1.2.3')]}],
		['a route without a prefix', {addresses: [addr('10.0.0.1/24')], routes: [{dst: '10.1.0.0'}]}],
		['a bad route gateway', {routes: [{dst: '10.1.0.0/16', gw: 'x'}], addresses: [addr('10.0.0.1/24')]}],
		['route errors before address errors', {routes: [{dst: 'x'}], addresses: [addr('10.0.0.1')]}],
		['addresses that are not a list', {addresses: 'x'}],
		['an address entry that is not an object', {addresses: [5]}],
		['an address that is not a string', {addresses: [{address: 5}]}],
		['an address entry without an address', {addresses: [{}]}],
	])('%s: refused as static refuses it', async (_what, section) => {
		const ipam = {type: 'static', ...section};
		const real = await realStatic(ipam);
		expect(real).toBeDefined();
		let mine: {code: number; message: string} | undefined;
		try {
			staticIpam(ipam);
		} catch (error) {
			mine = {code: toCniError(error).code, message: toCniError(error).message};
		}
		expect(mine).toEqual(real);
	});

	test('what static accepts gives its addresses and routes', async () => {
		const ipam = {
			type: 'static',
			addresses: [addr('10.0.0.1/24', '10.0.0.254'), addr('fd00::1/64')],
			routes: [{dst: '10.1.0.0/16', gw: '10.0.0.254'}],
		};
		expect(await realStatic(ipam)).toBeUndefined();
		expect(staticIpam(ipam)).toEqual({
			ips: [{address: '10.0.0.1/24', gateway: '10.0.0.254'}, {address: 'fd00::1/64'}],
			routes: [{dst: '10.1.0.0/16', gw: '10.0.0.254'}],
		});
	});

	test("an address without a prefix is a plan finding with static's message, with or without --simulate", async () => {
		const config = {
			cniVersion: '1.0.0',
			name: 'v',
			plugins: [{type: 'macvlan', master: 'eth0', ipam: {type: 'static', addresses: [addr('192.168.3.10')]}}],
		};
		const pod = join(dir, 'pod.yaml');
		await writeFile(
			pod,
			[
				'kind: NetworkAttachmentDefinition',
				'metadata: {name: v, namespace: ns1}',
				`spec: {config: '${JSON.stringify(config)}'}`,
				'---',
				'kind: Pod',
				'metadata: {name: web, namespace: ns1, annotations: {k8s.v1.cni.cncf.io/networks: v}}',
			].join('\n'),
		);
		const argv = [
			'dry-run',
			'--conf',
			join(EXAMPLES, '00-plexus.conf'),
			'--nads',
			join(EXAMPLES, 'cluster-net.yaml'),
		];
		for (const simulate of [[], ['--simulate']]) {
			const outcome = await runCli({
				argv: [
					...argv,
					'--bin-dir',
					join(REPO, 'e2e/testdata/dry-run/bin'),
					'--pod',
					pod,
					'-o',
					'json',
					...simulate,
				],
				env: {},
				readStdin: async () => new Uint8Array(),
			});
			expect(outcome.exitCode).toBe(1);
			const report = JSON.parse(outcome.stdout) as {
				findings: {message: string; source?: string}[];
				simulation: unknown;
			};
			expect(report.findings).toEqual([
				{
					severity: 'error',
					network: 'ns1/v',
					plugin: 1,
					message: expect.stringMatching(
						/plugin type="macvlan" failed \(add\): the 'address' field is expected to be in CIDR notation, got: '192\.168\.3\.10'$/,
					),
				},
			]);
			expect(report.simulation).toBeNull();
		}
	});
});

describe('a main plugin whose static IPAM gives no address', () => {
	// The real bridge/macvlan/ipvlan ADD with such a section is in e2e/dry-run/corpus.e2e.test.ts.
	test('fails as bridge, macvlan, ipvlan and ptp fail, unless the runtime adds addresses', () => {
		for (const type of ['bridge', 'macvlan', 'ipvlan', 'ptp'])
			expect(staticIpamFailure(type, {ipam: {type: 'static'}})?.message).toBe(
				'IPAM plugin returned missing IP config',
			);
		expect(staticIpamFailure('tuning', {ipam: {type: 'static'}})).toBeUndefined();
		expect(staticIpamFailure('macvlan', {ipam: {type: 'host-local'}})).toBeUndefined();
		const ips = {ipam: {type: 'static'}, runtimeConfig: {ips: ['10.1.0.5/24']}};
		expect(staticIpamFailure('macvlan', ips)).toBeUndefined();
		const args = {ipam: {type: 'static'}, args: {cni: {ips: ['10.1.0.5/24']}}};
		expect(staticIpamFailure('macvlan', args)).toBeUndefined();
		expect(staticIpamFailure('bridge', {ipam: {type: 'static', addresses: [{address: 'x'}]}})?.message).toBe(
			"the 'address' field is expected to be in CIDR notation, got: 'x'",
		);
	});
});

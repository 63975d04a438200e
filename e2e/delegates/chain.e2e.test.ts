import {randomBytes} from 'node:crypto';
import {mkdir, mkdtemp, rm, symlink} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {createBuiltins} from '../../delegates/index.ts';
import {BuiltinPluginExec} from '../../src/chain/builtin-exec.ts';
import {ChainExecutor, type RuntimeConf} from '../../src/chain/executor.ts';
import {parseNetworkList} from '../../src/chain/network-list.ts';
import {type ExecRequest, ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import type {CniPlugin} from '../../src/cni/plugin.ts';
import {isNotFound} from '../../src/netlink/errors.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';

// The built-ins behind the chain executor on the host kernel: in-process by default, and, when the
// Plexus conf turns one off, the standalone binary (bin/plexus-route-override) found on CNI_PATH.
// Both must give the same result and kernel state. The chain's first plugin is a small in-process
// test plugin that makes a veth pair inside the pod netns, so nothing touches the host netns.

const BIN = resolve(import.meta.dirname, '../../bin');

/** Creates CNI_IFNAME (a veth whose peer stays in the pod), addresses it, adds a default route. */
const vethPlugin: CniPlugin = {
	type: 'test-veth',
	supportedVersions: ['1.0.0'],
	async add(request) {
		const address = String(request.config['address']);
		const gateway = String(request.config['gateway']);
		const nl = openNetlink(request.netns);
		try {
			nl.addLink({kind: 'veth', name: request.ifname, up: true, peer: {name: `${request.ifname}p`}});
			nl.setLink(`${request.ifname}p`, {up: true});
			nl.addAddress(request.ifname, address);
			nl.addRoute({dst: '0.0.0.0/0', gateway, oif: request.ifname});
			nl.addRoute({dst: '30.0.0.0/24', gateway, oif: request.ifname});
			return {
				cniVersion: '1.0.0',
				interfaces: [{name: request.ifname, mac: nl.getLink(request.ifname).mac, sandbox: request.netns}],
				ips: [{interface: 0, address, gateway}],
				routes: [
					{dst: '0.0.0.0/0', gw: gateway},
					{dst: '30.0.0.0/24', gw: gateway},
				],
			};
		} finally {
			nl.close();
		}
	},
	async del(request) {
		if (request.netns === '') return;
		const nl = openNetlink(request.netns);
		try {
			nl.deleteLink(request.ifname);
		} catch (err) {
			if (!isNotFound(err)) throw err;
		} finally {
			nl.close();
		}
	},
	async check() {},
};

/** An ProcessPluginExec that remembers which binaries it ran. */
class RecordingExec extends ProcessPluginExec {
	readonly ran: string[] = [];
	override async exec(request: ExecRequest): Promise<Uint8Array> {
		this.ran.push(`${request.env['CNI_COMMAND']} ${request.pluginPath}`);
		return super.exec(request);
	}
}

const conflist = {
	cniVersion: '1.0.0',
	name: 'ro-chain',
	plugins: [
		{type: 'test-veth', address: '10.0.0.2/24', gateway: '10.0.0.254'},
		{type: 'route-override', flushgateway: true, addroutes: [{dst: '20.0.0.0/24', gw: '10.0.0.254'}]},
	],
};

describe('built-ins through the chain executor', () => {
	let name: string;
	let netns: string;
	let dir: string;

	beforeEach(async () => {
		name = `pxch-${randomBytes(4).toString('hex')}`;
		netns = `/var/run/netns/${name}`;
		dir = await mkdtemp(join(tmpdir(), 'pxchain-'));
		await execa('ip', ['netns', 'add', name]);
		// Installed under its reference name: the binary does not care what it is called.
		await mkdir(join(dir, 'bin'));
		await symlink(join(BIN, 'plexus-route-override'), join(dir, 'bin', 'route-override'));
	});

	afterEach(async () => {
		await execa('ip', ['netns', 'del', name], {reject: false});
		await rm(dir, {recursive: true, force: true});
	});

	async function roundTrip(disable: readonly string[]) {
		const binDir = join(dir, 'bin');
		const exec = new RecordingExec();
		const inProcess = createBuiltins({openNetlink, exec}, {disable});
		inProcess.set('test-veth', vethPlugin);
		const executor = new ChainExecutor({
			path: [binDir],
			cacheDir: join(dir, 'cache'),
			exec: new BuiltinPluginExec(exec, inProcess),
			env: process.env,
		});
		const list = parseNetworkList(Buffer.from(JSON.stringify(conflist)));
		const rt: RuntimeConf = {containerId: `ctr-${name}`, netns, ifname: 'net1', args: [], capabilityArgs: {}};
		const result = (await executor.addNetworkList(list, rt)) as unknown as Record<string, unknown>;
		const nl = openNetlink(netns);
		const routes = nl
			.listRoutes({family: 4, oif: 'net1'})
			.map((r) => `${r.dst}${r.gateway === undefined ? '' : ` via ${r.gateway}`}`)
			.sort();
		nl.close();
		await executor.checkNetworkList(list, rt);
		await executor.delNetworkList(list, rt);
		await executor.delNetworkList(list, rt);
		const after = openNetlink(netns);
		const left = after.listLinks().map((l) => l.name);
		after.close();
		return {result, routes, left, ran: exec.ran};
	}

	it('runs route-override in-process by default, and as the standalone binary when turned off, with equal outcomes', async () => {
		const inProc = await roundTrip([]);
		expect(inProc.ran).toEqual([]);
		expect(inProc.result).toMatchObject({
			cniVersion: '1.0.0',
			ips: [{interface: 0, address: '10.0.0.2/24', gateway: '0.0.0.0'}],
			routes: [
				{dst: '30.0.0.0/24', gw: '10.0.0.254'},
				{dst: '20.0.0.0/24', gw: '10.0.0.254'},
			],
		});
		expect(inProc.routes).toEqual([
			'10.0.0.0/24',
			'20.0.0.0/24 via 10.0.0.254',
			'30.0.0.0/24 via 10.0.0.254',
		]);
		expect(inProc.left).toEqual(['lo']);

		await execa('ip', ['netns', 'del', name]);
		await execa('ip', ['netns', 'add', name]);
		const binary = await roundTrip(['route-override']);
		expect(binary.ran.map((r) => r.split(' ')[0])).toEqual(['ADD', 'CHECK', 'DEL', 'DEL']);
		expect(binary.ran[0]).toContain('/route-override');
		const {interfaces: _a, ...inProcRest} = inProc.result;
		const {interfaces: _b, ...binaryRest} = binary.result;
		expect(binaryRest).toEqual(inProcRest);
		expect(binary.routes).toEqual(inProc.routes);
		expect(binary.left).toEqual(['lo']);
	});
});

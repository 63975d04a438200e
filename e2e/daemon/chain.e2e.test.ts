/**
 * Real delegates through the shim and the daemon: a bridge + host-local network is attached to a
 * fresh netns by `plexus-shim ADD` (POST /cni → the daemon's chain runner → /usr/lib/cni binaries),
 * checked in the kernel, then removed by DEL; and POST /delegate (hot-plug) with a MAC request.
 */
import {randomBytes} from 'node:crypto';
import {mkdtempSync, readdirSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest';
import {post, type RunningDaemon, requireShim, runShim, startDaemon} from '../helpers/daemon.ts';

const CNI_BIN = '/usr/lib/cni';

interface IpAddr {
	ifname: string;
	address: string;
	addr_info: {family: string; local: string; prefixlen: number}[];
}

/** `ip -json addr show` inside the netns. */
async function addresses(netnsName: string): Promise<IpAddr[]> {
	const {stdout} = await execa('ip', ['-n', netnsName, '-json', 'addr', 'show']);
	return JSON.parse(stdout) as IpAddr[];
}

describe('plexus-shim → daemon → real delegates', () => {
	let dir: string;
	let socketPath: string;
	let netnsName: string;
	let bridge: string;
	let daemon: RunningDaemon | undefined;
	let subnet: string;

	const conflist = () => ({
		cniVersion: '1.0.0',
		name: `pxd-${bridge}`,
		plugins: [
			{
				type: 'bridge',
				bridge,
				capabilities: {mac: true},
				ipam: {type: 'host-local', subnet, dataDir: join(dir, 'ipam')},
			},
		],
	});

	const env = (extra: Record<string, string> = {}) => ({
		CNI_CONTAINERID: `ctr-${bridge}`,
		CNI_NETNS: `/var/run/netns/${netnsName}`,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAMESPACE=ns1;K8S_POD_NAME=pod1',
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: socketPath,
		...extra,
	});

	beforeAll(requireShim);

	beforeEach(async () => {
		const id = randomBytes(3).toString('hex');
		dir = mkdtempSync(join(tmpdir(), 'plexus-chain-'));
		socketPath = join(dir, 'run', 'plexus.sock');
		netnsName = `pxd-${id}`;
		bridge = `pxbr${id}`;
		subnet = `10.${200 + ((randomBytes(1)[0] ?? 0) % 50)}.${randomBytes(1)[0] ?? 0}.0/24`;
		await execa('ip', ['netns', 'add', netnsName]);
		daemon = await startDaemon(socketPath, ['--plugin', 'chain', '--cni-path', CNI_BIN], {
			PLEXUS_TEST_CACHE_DIR: join(dir, 'cache'),
		});
	});

	afterEach(async () => {
		daemon?.process.kill('SIGKILL');
		await daemon?.process;
		daemon = undefined;
		await execa('ip', ['netns', 'del', netnsName], {reject: false});
		await execa('ip', ['link', 'del', bridge], {reject: false});
		rmSync(dir, {recursive: true, force: true});
	});

	it('ADD through the shim configures eth0 in the netns; DEL removes it and frees the address', async () => {
		const add = await runShim('ADD', conflist(), env());
		expect({exitCode: add.exitCode, stdout: add.stdout}).toMatchObject({exitCode: 0});
		const result = JSON.parse(add.stdout) as {cniVersion: string; ips: {address: string}[]};
		expect(result.cniVersion).toBe('1.0.0');
		const address = result.ips[0]?.address ?? '';
		expect(address.startsWith(subnet.split('.').slice(0, 3).join('.'))).toBe(true);
		const eth0 = (await addresses(netnsName)).find((link) => link.ifname === 'eth0');
		expect(
			eth0?.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
		).toEqual([address]);
		expect(readdirSync(join(dir, 'cache'), {recursive: true}).length).toBeGreaterThan(0);

		const del = await runShim('DEL', conflist(), env());
		expect(del.exitCode).toBe(0);
		expect(del.stdout).toBe('');
		expect((await addresses(netnsName)).some((link) => link.ifname === 'eth0')).toBe(false);
		const leases = readdirSync(join(dir, 'ipam', `pxd-${bridge}`)).filter((f) => /^\d/.test(f));
		expect(leases).toEqual([]);
	});

	it('passes a delegate failure through the shim with its code and context', async () => {
		const broken = {...conflist(), plugins: [{type: 'bridge', bridge, ipam: {type: 'host-local'}}]};
		const add = await runShim('ADD', broken, env());
		expect(add.exitCode).toBe(1);
		const error = JSON.parse(add.stdout) as {code: number; msg: string};
		expect(error.msg).toContain('plugin type="bridge" failed (add)');
		expect(error.code).not.toBe(0);
	});

	it('POST /delegate hot-plugs one network with the requested MAC, and removes it', async () => {
		const request = (command: string) => ({
			env: {...env(), CNI_COMMAND: command, CNI_IFNAME: 'net1', CNI_PATH: ''},
			config: Buffer.from(JSON.stringify(conflist())).toString('base64'),
			interfaceAttributes: {mac: '02:11:22:33:44:55'},
		});
		const add = await post(socketPath, '/delegate', request('ADD'));
		expect(add).toMatchObject({status: 200});
		const result = (JSON.parse(add.body) as {Result: {interfaces: {name: string; mac: string}[]}}).Result;
		expect(result.interfaces.find((i) => i.name === 'net1')?.mac).toBe('02:11:22:33:44:55');
		const net1 = (await addresses(netnsName)).find((link) => link.ifname === 'net1');
		expect(net1?.address).toBe('02:11:22:33:44:55');
		const del = await post(socketPath, '/delegate', request('DEL'));
		expect(del).toEqual({status: 200, body: ''});
		expect((await addresses(netnsName)).some((link) => link.ifname === 'net1')).toBe(false);
	});
});

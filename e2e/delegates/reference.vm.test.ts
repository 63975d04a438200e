import {randomBytes} from 'node:crypto';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {callPlugin, pluginRequest} from '../../delegates/common/request.ts';
import {createBuiltins} from '../../delegates/index.ts';
import {ProcessPluginExec} from '../../src/chain/plugin-exec.ts';
import type {CniCommand} from '../../src/cni/plugin.ts';
import {openNetlink} from '../../src/netlink/kernel.ts';

// Differential tests: the same input given to the reference Go plugin (Debian's
// containernetworking-plugins, /usr/lib/cni) and to the built-in must give the same result JSON and
// the same kernel state. Debian ships 1.1.1 (2022): where later upstream releases changed
// behaviour (vrf's route moving, vlan's linkInContainer) the inputs stay inside what both do.

const REFERENCE = '/usr/lib/cni';
const exec = new ProcessPluginExec();
const builtins = createBuiltins({openNetlink, exec});

interface IpLink {
	ifname: string;
	mtu: number;
	master?: string;
	operstate: string;
	linkinfo?: {info_kind?: string; info_data?: {id?: number; table?: number}};
}

describe('built-ins against the reference binaries', () => {
	let id: string;
	const namespaces: string[] = [];
	const hostLinks: string[] = [];

	beforeEach(() => {
		id = randomBytes(3).toString('hex');
	});

	afterEach(async () => {
		for (const ns of namespaces.splice(0)) await execa('ip', ['netns', 'del', ns], {reject: false});
		for (const dev of hostLinks.splice(0)) await execa('ip', ['link', 'del', dev], {reject: false});
	});

	async function netns(label: string): Promise<string> {
		const ns = `pxref-${label}-${id}`;
		await execa('ip', ['netns', 'add', ns]);
		namespaces.push(ns);
		return ns;
	}

	const ip = (ns: string, ...args: string[]) => execa('ip', ['-n', ns, ...args]);
	const ipJson = async <T>(ns: string, ...args: string[]) =>
		JSON.parse((await ip(ns, '-json', ...args)).stdout || '[]') as T[];

	/** Runs `type` for `command` either as the reference binary or in-process; returns stdout JSON. */
	async function run(
		how: 'reference' | 'builtin',
		type: string,
		command: CniCommand,
		config: Record<string, unknown>,
		ns: string,
		ifname: string,
	): Promise<Record<string, unknown> | undefined> {
		const request = pluginRequest(command, config, {
			netns: `/var/run/netns/${ns}`,
			ifname,
			containerId: `ctr-${ns}`,
			path: [REFERENCE],
			env: {PATH: process.env['PATH'] ?? ''},
		});
		if (how === 'reference') {
			const out = Buffer.from(
				await exec.exec({pluginPath: `${REFERENCE}/${type}`, stdin: request.stdin, env: {...request.env}}),
			).toString();
			return out.trim() === '' ? undefined : (JSON.parse(out) as Record<string, unknown>);
		}
		const plugin = builtins.get(type);
		if (plugin === undefined) throw new Error(`no built-in ${type}`);
		return callPlugin(plugin, request);
	}

	/** Kernel state that must match: links (kind, master, VLAN id/VRF table, MTU), addresses, routes. */
	async function state(ns: string) {
		const links = (await ipJson<IpLink>(ns, '-details', 'link', 'show')).map((l) => ({
			name: l.ifname,
			mtu: l.mtu,
			master: l.master,
			up: l.operstate !== 'DOWN',
			kind: l.linkinfo?.info_kind,
			data:
				l.linkinfo?.info_data === undefined
					? undefined
					: {id: l.linkinfo.info_data.id, table: l.linkinfo.info_data.table},
		}));
		const addrs = (
			await ipJson<{
				ifname: string;
				addr_info: {family: string; local: string; prefixlen: number; scope: string}[];
			}>(ns, 'address', 'show')
		)
			.flatMap((l) =>
				l.addr_info.filter((a) => a.scope === 'global').map((a) => `${l.ifname} ${a.local}/${a.prefixlen}`),
			)
			.sort();
		const routes = (
			await ipJson<{dst: string; gateway?: string; dev?: string; table?: string; type?: string}>(
				ns,
				'route',
				'show',
				'table',
				'all',
			)
		)
			.filter(
				(r) =>
					r.table !== 'local' &&
					!r.dst.startsWith('fe80') &&
					!r.dst.startsWith('ff00') &&
					r.type !== 'local' &&
					r.type !== 'broadcast' &&
					r.type !== 'multicast',
			)
			.map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} table ${r.table ?? 'main'}`)
			.sort();
		return {links, addrs, routes};
	}

	it.each(['0.3.1', '0.4.0', '1.0.0'])(
		'[%s] vrf: same result and kernel state as the reference, ADD then DEL',
		async (cniVersion) => {
			const setups = {reference: await netns('a'), builtin: await netns('b')};
			for (const ns of Object.values(setups)) {
				await ip(ns, 'link', 'add', 'eth0', 'type', 'dummy');
				await ip(ns, 'link', 'set', 'eth0', 'up');
				await ip(ns, 'address', 'add', '10.0.0.2/24', 'dev', 'eth0');
			}
			const old = cniVersion.startsWith('0.');
			const config = (ns: string) => ({
				cniVersion,
				name: 'net',
				type: 'vrf',
				vrfname: 'blue',
				prevResult: {
					cniVersion,
					interfaces: [{name: 'eth0', sandbox: `/var/run/netns/${ns}`}],
					ips: [{...(old ? {version: '4'} : {}), interface: 0, address: '10.0.0.2/24', gateway: '10.0.0.1'}],
					routes: [{dst: '0.0.0.0/0', gw: '10.0.0.1'}],
					dns: {nameservers: ['10.0.0.53']},
				},
			});
			const results = {
				reference: await run('reference', 'vrf', 'ADD', config(setups.reference), setups.reference, 'eth0'),
				builtin: await run('builtin', 'vrf', 'ADD', config(setups.builtin), setups.builtin, 'eth0'),
			};
			const sandbox = (r: Record<string, unknown> | undefined, ns: string) =>
				JSON.stringify(r).replaceAll(`/var/run/netns/${ns}`, '<netns>');
			expect(sandbox(results.builtin, setups.builtin)).toBe(sandbox(results.reference, setups.reference));
			expect(await state(setups.builtin)).toEqual(await state(setups.reference));
			await run('reference', 'vrf', 'DEL', config(setups.reference), setups.reference, 'eth0');
			await run('builtin', 'vrf', 'DEL', config(setups.builtin), setups.builtin, 'eth0');
			expect(await state(setups.builtin)).toEqual(await state(setups.reference));
		},
	);

	it.each(['0.2.0', '0.3.1', '0.4.0', '1.0.0'])(
		'[%s] vlan: same result and kernel state as the reference, ADD then DEL',
		async (cniVersion) => {
			// One master per side: a master carries one VLAN of a given id.
			const masters = {reference: `pxra-${id}`, builtin: `pxrb-${id}`};
			for (const master of Object.values(masters)) {
				hostLinks.push(master);
				await execa('ip', ['link', 'add', master, 'type', 'dummy']);
				await execa('ip', ['link', 'set', master, 'up', 'mtu', '1400']);
			}
			const setups = {reference: await netns('a'), builtin: await netns('b')};
			const config = (master: string) => ({
				cniVersion,
				name: 'net',
				type: 'vlan',
				master,
				vlanId: 42,
				mtu: 1300,
				dns: {nameservers: ['10.9.0.53'], search: ['example.org']},
				ipam: {
					type: 'static',
					addresses: [{address: '10.9.0.2/24', gateway: '10.9.0.1'}],
					routes: [{dst: '0.0.0.0/0'}, {dst: '10.99.0.0/16', gw: '10.9.0.254'}],
				},
			});
			const results = {
				reference: await run('reference', 'vlan', 'ADD', config(masters.reference), setups.reference, 'net1'),
				builtin: await run('builtin', 'vlan', 'ADD', config(masters.builtin), setups.builtin, 'net1'),
			};
			const normalize = (r: Record<string, unknown> | undefined, ns: string) =>
				JSON.stringify(r)
					.replaceAll(`/var/run/netns/${ns}`, '<netns>')
					.replace(/"mac":"[0-9a-f:]+"/, '"mac":"<mac>"');
			expect(normalize(results.builtin, setups.builtin)).toBe(normalize(results.reference, setups.reference));
			expect(await state(setups.builtin)).toEqual(await state(setups.reference));
			await run('reference', 'vlan', 'DEL', config(masters.reference), setups.reference, 'net1');
			await run('builtin', 'vlan', 'DEL', config(masters.builtin), setups.builtin, 'net1');
			expect(await state(setups.builtin)).toEqual(await state(setups.reference));
		},
	);
});

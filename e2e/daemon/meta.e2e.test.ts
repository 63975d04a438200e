/**
 * The seed scenarios through plexus-shim and `plexus daemon` serving the real meta-plugin: the
 * in-repo API server behind a kubeconfig, Debian's plugins in /usr/lib/cni, real netns. Also a
 * daemon restart between ADD and DEL, and kill -9 of the daemon mid-ADD followed by DEL on a new
 * daemon, after which nothing is left in the pod, on the cluster bridge or in the caches.
 */

import {existsSync} from 'node:fs';
import {writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {describe, expect, it} from 'vitest';
import {parseExposition, value} from '../../src/daemon/testing/exposition.ts';
import {freePort, type RunningDaemon, runShim, startDaemon} from '../helpers/daemon.ts';
import {useDaemonBed} from '../helpers/daemon-bed.ts';
import {ipJson} from '../helpers/netns.ts';
import {CNI_BIN, type MetaHarness, macvlanNad, podCniArgs, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;
let socketPath: string;
const daemons = useDaemonBed((bed) => {
	({h, socketPath} = bed);
});

/** Starts `plexus daemon` (the fixture, serving the real meta-plugin) on the test socket. */
async function daemon(...args: string[]): Promise<RunningDaemon> {
	const started = await startDaemon(socketPath, ['--plugin', 'plexus', '--cni-path', CNI_BIN, ...args]);
	daemons.push(started);
	return started;
}

/** Runs the shim for `pod` exactly as the runtime runs bin/plexus in the meta e2e tests. */
async function shim(command: string, pod: TestPod, address: number) {
	const conf = {...h.conf(), runtimeConfig: {ips: [`${h.subnet}.${address}/24`]}};
	const run = await runShim(command, conf, {
		CNI_CONTAINERID: pod.containerId,
		CNI_NETNS: pod.netns.path,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(pod),
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: socketPath,
	});
	const stdout = String(run.stdout);
	return {
		exitCode: run.exitCode,
		stdout,
		json: stdout.trim() === '' ? undefined : (JSON.parse(stdout) as Record<string, unknown>),
	};
}

/** Nothing of the pod is left: only lo in its netns, no bridge port, no cache file. */
async function expectNothingLeft(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.clusterBridgePorts()).toEqual([]);
	expect(await h.cachedFiles()).toEqual([]);
}

interface IpLink {
	address: string;
	promiscuity: number;
	link_index?: number;
	linkinfo?: {info_kind: string; info_data?: Record<string, unknown>};
}

describe('seeds through plexus-shim and the daemon', () => {
	it('seed 001: two macvlan + route-override NADs, network-status written, DEL leaves nothing', async () => {
		const nad = (name: string, vlan: number, net: string, dst: string) =>
			JSON.stringify({
				cniVersion: '1.0.0',
				name,
				plugins: [
					{
						type: 'macvlan',
						master: h.master,
						vlan,
						mode: 'bridge',
						ipam: {type: 'static', addresses: [{address: `${net}.10/24`, gateway: `${net}.1`}]},
					},
					{type: 'route-override', addroutes: [{dst, gw: `${net}.1`}]},
				],
			});
		h.api.createNad(
			'chain-example',
			'management-net',
			nad('management-net', 100, '192.168.100', '10.0.0.0/8'),
		);
		h.api.createNad('chain-example', 'sip-net', nad('sip-net', 200, '192.168.200', '172.16.0.0/12'));
		const pod = await h.createPod(
			'chain-test-pod',
			{
				'k8s.v1.cni.cncf.io/networks':
					'[{ "name": "management-net", "interface": "eth1" }, { "name": "sip-net", "interface": "eth2" }]',
			},
			'chain-example',
		);
		const port = await freePort();
		await daemon('--metrics-address', `127.0.0.1:${port}`);
		const add = await shim('ADD', pod, 2);
		expect(add).toMatchObject({
			exitCode: 0,
			json: {cniVersion: '1.0.0', ips: [{address: `${h.subnet}.2/24`}]},
		});
		expect(await h.links(pod)).toEqual(['eth0', 'eth1', 'eth2', 'lo']);
		const status = JSON.parse(
			h.api.getPod('chain-example', 'chain-test-pod')?.metadata.annotations?.[
				'k8s.v1.cni.cncf.io/network-status'
			] ?? '[]',
		) as {name: string; interface: string}[];
		expect(status.map((s) => `${s.name} ${s.interface}`)).toEqual([
			'cluster-net eth0',
			'chain-example/management-net eth1',
			'chain-example/sip-net eth2',
		]);
		const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
		const series: [string, string, string][] = [
			['chain-example', 'sip-net', 'macvlan'],
			['chain-example', 'sip-net', 'route-override'],
			['chain-example', 'management-net', 'route-override'],
			['', 'cluster-net', 'bridge'],
		];
		for (const [nad_namespace, nad_name, plugin] of series) {
			const labels = {nad_namespace, nad_name, plugin, verb: 'ADD', result: 'success'};
			expect(value(metrics, 'plexus_delegate_duration_seconds_count', labels)).toBe(1);
		}
		expect(
			value(metrics, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'success'}),
		).toBe(1);
		expect((await shim('CHECK', pod, 2)).exitCode).toBe(0);
		expect(await shim('DEL', pod, 2)).toMatchObject({exitCode: 0, stdout: ''});
		await expectNothingLeft(pod);
	});

	it('seed 003: a single-conf NAD (cniVersion 0.3.1, no IPAM) as macvlan0; CHECK, then DEL leaves nothing', async () => {
		h.api.createNad(
			'vpp-server',
			'macvlan0',
			`{\n"cniVersion": "0.3.1",\n"name": "macvlan0",\n"type": "macvlan",\n"master": "${h.master}",\n"linkInContainer": false,\n"mode": "bridge"\n}`,
		);
		const pod = await h.createPod(
			'vpp-app',
			{'k8s.v1.cni.cncf.io/networks': '[{"name": "macvlan0", "interface": "macvlan0"}]'},
			'vpp-server',
		);
		await daemon();
		const add = await shim('ADD', pod, 6);
		expect(add).toMatchObject({
			exitCode: 0,
			json: {cniVersion: '1.0.0', ips: [{address: `${h.subnet}.6/24`}]},
		});
		expect(await h.links(pod)).toEqual(['eth0', 'lo', 'macvlan0']);
		const [link] = await ipJson<IpLink[]>(pod.netns, '-d', 'link', 'show', 'dev', 'macvlan0');
		expect(link?.linkinfo).toMatchObject({info_kind: 'macvlan', info_data: {mode: 'bridge'}});
		expect(link?.promiscuity).toBe(0);
		const [master] = await ipJson<{ifindex: number}[]>(undefined, 'link', 'show', 'dev', h.master);
		expect(link?.link_index).toBe(master?.ifindex);
		const status = JSON.parse(
			h.api.getPod('vpp-server', 'vpp-app')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ??
				'[]',
		) as Record<string, unknown>[];
		expect(status[1]).toEqual({
			name: 'vpp-server/macvlan0',
			interface: 'macvlan0',
			mac: link?.address,
			default: false,
			dns: {},
		});
		expect(await shim('CHECK', pod, 6)).toMatchObject({exitCode: 0, stdout: ''});
		expect(await shim('DEL', pod, 6)).toMatchObject({exitCode: 0, stdout: ''});
		await expectNothingLeft(pod);
	});

	it('seed 002 across a daemon restart between ADD and DEL', async () => {
		h.api.createNad('ns1', 'vn-left-1', macvlanNad('vn-left-1', h.master, '10.10.10.5/24'));
		h.api.createNad('ns1', 'vn-right-1', macvlanNad('vn-right-1', h.master, '10.20.20.5/24'));
		const pod = await h.createPod('multi', {'k8s.v1.cni.cncf.io/networks': 'vn-left-1, vn-right-1'});
		const first = await daemon();
		expect((await shim('ADD', pod, 3)).exitCode).toBe(0);
		expect(await h.links(pod)).toEqual(['eth0', 'lo', 'net1', 'net2']);
		first.process.kill('SIGTERM');
		expect((await first.process).exitCode).toBe(0);
		await daemon();
		expect((await shim('DEL', pod, 3)).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});

	it('kill -9 of the daemon mid-ADD, then DEL through a new daemon: nothing is left', async () => {
		// A macvlan that waits before running; it gives up when its parent (the daemon) is gone,
		// as a delegate orphaned by a killed daemon must not create links after the DEL.
		const started = join(h.dir, 'macvlan.started');
		await writeFile(
			join(h.binDir, 'macvlan'),
			`#!/bin/sh\nparent=$PPID\ntouch '${started}'\nsleep 2\nkill -0 "$parent" 2>/dev/null || exit 1\nexec '${CNI_BIN}/macvlan'\n`,
			{mode: 0o755},
		);
		h.api.createNad('ns1', 'vn-left-1', macvlanNad('vn-left-1', h.master, '10.10.10.5/24'));
		const pod = await h.createPod('killed', {'k8s.v1.cni.cncf.io/networks': 'vn-left-1'});
		const first = await daemon();
		const add = shim('ADD', pod, 4);
		for (let i = 0; i < 250 && !existsSync(started); i++) await sleep(20);
		expect(existsSync(started)).toBe(true);
		expect(await h.links(pod)).toEqual(['eth0', 'lo']);
		first.process.kill('SIGKILL');
		await first.process;
		const failed = await add;
		expect(failed.exitCode).toBe(1);
		expect(failed.json).toMatchObject({code: 11});
		await daemon();
		const del = await shim('DEL', pod, 4);
		expect(del).toMatchObject({exitCode: 0, stdout: ''});
		await sleep(2500);
		await expectNothingLeft(pod);
	});

	it('kills a delegate that outlives --delegate-timeout-ms: ADD fails with code 11, DEL cleans up', async () => {
		// ADD hangs (the shell becomes the sleep, so the kill ends it); DEL runs the real macvlan.
		const script = `#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && exec sleep 30\nexec '${CNI_BIN}/macvlan'\n`;
		await writeFile(join(h.binDir, 'macvlan'), script, {mode: 0o755});
		h.api.createNad('ns1', 'vn-left-1', macvlanNad('vn-left-1', h.master, '10.10.10.5/24'));
		const pod = await h.createPod('slow', {'k8s.v1.cni.cncf.io/networks': 'vn-left-1'});
		await daemon('--delegate-timeout-ms', '500');
		const add = await shim('ADD', pod, 5);
		expect(add.exitCode).toBe(1);
		expect(add.json).toMatchObject({code: 11});
		expect(String(add.json?.['msg'])).toContain('timed out after 500ms');
		expect((await shim('DEL', pod, 5)).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});
});

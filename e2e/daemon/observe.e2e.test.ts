import {execa} from 'execa';
import {describe, expect, it} from 'vitest';
import {find, parseExposition, value} from '../../src/daemon/testing/exposition.ts';
import type {OperationRecord} from '../../src/observe/trace.ts';
import {plexusVersion} from '../../src/version/version.ts';
import {freePort, runShim, startDaemon} from '../helpers/daemon.ts';
import {useDaemonBed} from '../helpers/daemon-bed.ts';
import {CNI_BIN, type MetaHarness, macvlanNad, PLEXUS, podCniArgs, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;
let socketPath: string;
const daemons = useDaemonBed((bed) => {
	({h, socketPath} = bed);
});

/** Runs the shim for `pod` as the runtime would. */
async function shim(command: string, pod: TestPod, address: number) {
	const conf = {...h.conf(), runtimeConfig: {ips: [`${h.subnet}.${address}/24`]}};
	return runShim(command, conf, {
		CNI_CONTAINERID: pod.containerId,
		CNI_NETNS: pod.netns.path,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(pod),
		CNI_PATH: CNI_BIN,
		PLEXUS_SOCKET: socketPath,
	});
}

/** The JSON log lines of a stopped daemon. */
function logLines(all: string): Record<string, unknown>[] {
	return all
		.split('\n')
		.filter((line) => line.startsWith('{'))
		.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('operating plexus daemon', () => {
	it('metrics, probes, logs, User-Agent and `plexus trace` of a pod whose second NAD failed', async () => {
		h.api.createNad('ns1', 'net', macvlanNad('net', h.master, '192.168.77.10/24'));
		h.api.createNad('ns2', 'net', macvlanNad('net', h.master, '192.168.78.10/24'));
		// macvlan works, then tuning fails on a sysctl the kernel does not have.
		const sysctl = {'net.ipv4.conf.IFNAME.pxnosuch0': '1'};
		h.api.createNad(
			'ns1',
			'broken',
			macvlanNad('broken', h.master, '192.168.79.10/24', [{type: 'tuning', sysctl}]),
		);
		const good = await h.createPod('good', {'k8s.v1.cni.cncf.io/networks': 'ns2/net'}, 'ns2');
		const bad = await h.createPod('bad', {'k8s.v1.cni.cncf.io/networks': 'ns1/net, ns1/broken'}, 'ns1');
		const port = await freePort();
		const daemon = await startDaemon(socketPath, [
			'--plugin',
			'plexus',
			'--cni-path',
			CNI_BIN,
			'--metrics-address',
			`127.0.0.1:${port}`,
		]);
		daemons.push(daemon);

		expect((await shim('ADD', good, 2)).exitCode).toBe(0);
		const failed = await shim('ADD', bad, 3);
		expect(failed.exitCode).toBe(1);
		expect(JSON.parse(String(failed.stdout))).toMatchObject({
			msg: expect.stringContaining('failed to add network "ns1/broken"'),
		});

		// /metrics, /healthz and /readyz on the metrics listener.
		const base = `http://127.0.0.1:${port}`;
		expect((await fetch(`${base}/healthz`)).status).toBe(200);
		expect((await fetch(`${base}/readyz`)).status).toBe(200);
		const exposition = parseExposition(await (await fetch(`${base}/metrics`)).text());
		const delegate = (nad_namespace: string, nad_name: string, result: string, verb = 'ADD') =>
			value(exposition, 'plexus_delegate_duration_seconds_count', {
				nad_namespace,
				nad_name,
				plugin: 'macvlan',
				verb,
				result,
			});
		expect(delegate('ns1', 'net', 'success')).toBe(1);
		expect(delegate('ns2', 'net', 'success')).toBe(1);
		expect(delegate('ns1', 'broken', 'success')).toBe(1);
		// The rollback DELs what the failed ADD attempted.
		expect(delegate('ns1', 'broken', 'success', 'DEL')).toBe(1);
		expect(
			value(exposition, 'plexus_delegate_duration_seconds_count', {
				nad_namespace: 'ns1',
				nad_name: 'broken',
				plugin: 'tuning',
				verb: 'ADD',
				result: 'error',
			}),
		).toBe(1);
		expect(
			value(exposition, 'plexus_delegate_duration_seconds_count', {
				nad_namespace: '',
				nad_name: 'cluster-net',
				plugin: 'bridge',
				verb: 'ADD',
				result: 'success',
			}),
		).toBe(2);
		const [delegateError] = find(exposition, 'plexus_delegate_errors_total', {nad_name: 'broken'});
		expect(delegateError?.value).toBe(1);
		const code = delegateError?.labels['code'] ?? '';
		expect(value(exposition, 'plexus_cni_errors_total', {verb: 'ADD', code})).toBe(1);
		expect(
			value(exposition, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'success'}),
		).toBe(1);
		expect(
			value(exposition, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'error'}),
		).toBe(1);
		expect(value(exposition, 'plexus_cni_requests_in_flight')).toBe(0);
		expect(value(exposition, 'plexus_cni_requests_queued')).toBe(0);
		expect(
			value(exposition, 'plexus_build_info', {version: plexusVersion(), node: process.versions.node}),
		).toBe(1);
		expect(value(exposition, 'plexus_informer_synced', {informer: 'nads'})).toBe(1);
		expect(value(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(0);

		// Every API call the daemon made says who it is.
		expect(h.api.requests.length).toBeGreaterThan(0);
		expect(new Set(h.api.requests.map((r) => r.userAgent))).toEqual(
			new Set([`plexus/${plexusVersion()} (daemon)`]),
		);

		// plexus trace: the failing delegate, its message and its duration.
		const trace = await execa(PLEXUS, ['trace', 'ns1/bad', '--socket', socketPath], {reject: false});
		expect(trace.exitCode).toBe(0);
		const text = String(trace.stdout);
		expect(text).toContain('Pod ns1/bad: 1 operation(s)');
		expect(text).toMatch(
			/^ADD container \S+ eth0 at \S+ {2}[\d.]+ ms {2}failed \(code \d+\): failed to add network "ns1\/broken"/m,
		);
		expect(text).toMatch(/attachment {2}ns1\/net as net1 \(ADD\) {2}[\d.]+ ms {2}ok/);
		expect(text).toMatch(
			/attachment {2}ns1\/broken as net2 \(ADD\) {2}[\d.]+ ms {2}failed \(code \d+\): .*pxnosuch0/,
		);
		expect(text).toMatch(
			/delegate {2}tuning ADD net2 \(network ns1\/broken\) {2}[\d.]+ ms {2}failed \(code \d+\): .*pxnosuch0/,
		);
		expect(text).toMatch(/delegate {2}macvlan DEL net2 \(network ns1\/broken\) {2}[\d.]+ ms {2}ok/);
		expect(text).toMatch(/api {9}get pod "ns1\/bad".* {2}[\d.]+ ms {2}ok/);
		const json = await execa(PLEXUS, ['trace', 'ns1/bad', '--socket', socketPath, '-o', 'json']);
		const [operation] = (JSON.parse(String(json.stdout)) as {operations: OperationRecord[]}).operations;
		const failedDelegate = operation?.events.find((e) => e.kind === 'delegate' && e.code !== undefined);
		expect(failedDelegate).toMatchObject({
			kind: 'delegate',
			nad: 'ns1/broken',
			plugin: 'tuning',
			verb: 'ADD',
			ifname: 'net2',
			error: expect.stringContaining('pxnosuch0'),
			durationMs: expect.any(Number),
		});
		expect(
			(await execa(PLEXUS, ['trace', 'ns1/nobody', '--socket', socketPath], {reject: false})).exitCode,
		).toBe(1);

		expect((await shim('DEL', bad, 3)).exitCode).toBe(0);
		expect((await shim('DEL', good, 2)).exitCode).toBe(0);

		// The log: one line per attachment and per delegate run, with pod, NAD, interface, plugin, verb.
		daemon.process.kill('SIGTERM');
		const lines = logLines(String((await daemon.process).all));
		daemons.splice(0);
		expect(lines[0]).toMatchObject({msg: 'plexus daemon starting', version: plexusVersion()});
		expect(lines).toContainEqual(
			expect.objectContaining({
				level: 'info',
				msg: 'delegate failed',
				pod: 'ns1/bad',
				containerId: bad.containerId,
				nad: 'ns1/broken',
				ifname: 'net2',
				plugin: 'tuning',
				verb: 'ADD',
				durationMs: expect.any(Number),
				code: expect.any(Number),
				error: expect.stringContaining('pxnosuch0'),
			}),
		);
		expect(lines).toContainEqual(
			expect.objectContaining({
				level: 'info',
				msg: 'attachment done',
				pod: 'ns2/good',
				nad: 'ns2/net',
				network: 'ns2/net',
				ifname: 'net1',
				verb: 'DEL',
				durationMs: expect.any(Number),
			}),
		);
		// debug: each delegate's stdin (the daemon runs at --log-level debug here).
		expect(lines).toContainEqual(
			expect.objectContaining({
				level: 'debug',
				msg: 'delegate stdin',
				nad: 'ns2/net',
				plugin: 'macvlan',
				stdin: expect.objectContaining({type: 'macvlan', master: h.master}),
			}),
		);
	});

	it('one-shot bin/plexus logs the same attachment and delegate lines, and sends User-Agent (one-shot)', async () => {
		h.api.createNad('ns1', 'net', macvlanNad('net', h.master, '192.168.77.10/24'));
		const pod = await h.createPod('solo', {'k8s.v1.cni.cncf.io/networks': 'ns1/net'}, 'ns1');
		const add = await h.cni('ADD', pod);
		expect(add.exitCode).toBe(0);
		const lines = logLines(add.stderr);
		expect(lines).toContainEqual(
			expect.objectContaining({
				level: 'info',
				msg: 'delegate done',
				pod: 'ns1/solo',
				containerId: pod.containerId,
				nad: 'ns1/net',
				ifname: 'net1',
				plugin: 'macvlan',
				verb: 'ADD',
				durationMs: expect.any(Number),
			}),
		);
		expect(lines).toContainEqual(
			expect.objectContaining({msg: 'attachment done', nad: 'ns1/net', ifname: 'net1', verb: 'ADD'}),
		);
		expect(new Set(h.api.requests.map((r) => r.userAgent))).toEqual(
			new Set([`plexus/${plexusVersion()} (one-shot)`]),
		);
		expect((await h.cni('DEL', pod)).exitCode).toBe(0);
		const version = await execa(PLEXUS, ['--version']);
		expect(String(version.stdout)).toMatch(
			new RegExp(`^plexus ${plexusVersion().replace(/\./g, '\\.')} \\(node \\d+\\.\\d+\\.\\d+\\)$`),
		);
	});
});

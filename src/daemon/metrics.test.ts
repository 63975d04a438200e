import {afterEach, describe, expect, it} from 'vitest';
import {informerState} from '../observe/informer-health.ts';
import {plexusVersion} from '../version/version.ts';
import {DaemonMetrics, parseListenAddress, serveMetrics} from './metrics.ts';
import {find, parseExposition, value} from './testing/exposition.ts';

describe('DaemonMetrics on prom-client', () => {
	it('renders requests, delegates labelled by NAD namespace and name, errors, queue, build info, process', async () => {
		const metrics = new DaemonMetrics({inFlight: () => 3, queued: () => 5});
		metrics.observeRequest('ADD', 0.02);
		metrics.observeRequest('ADD', 0.03, 11);
		const run = {plugin: 'macvlan', verb: 'ADD', seconds: 0.004};
		metrics.observeDelegateRun({...run, nadNamespace: 'ns1', nadName: 'net'});
		metrics.observeDelegateRun({...run, nadNamespace: 'ns2', nadName: 'net'});
		metrics.observeDelegateRun({...run, nadNamespace: 'ns2', nadName: 'net', seconds: 0.2, errorCode: 7});
		const text = await metrics.registry.metrics();
		const exposition = parseExposition(text);
		expect(exposition.types.get('plexus_cni_request_duration_seconds')).toBe('histogram');
		expect(
			value(exposition, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'success'}),
		).toBe(1);
		expect(
			value(exposition, 'plexus_cni_request_duration_seconds_count', {verb: 'ADD', result: 'error'}),
		).toBe(1);
		expect(value(exposition, 'plexus_cni_errors_total', {verb: 'ADD', code: '11'})).toBe(1);
		// ns1/net and ns2/net are different series.
		const delegate = (nad_namespace: string, result: string) =>
			value(exposition, 'plexus_delegate_duration_seconds_count', {
				nad_namespace,
				nad_name: 'net',
				plugin: 'macvlan',
				verb: 'ADD',
				result,
			});
		expect([delegate('ns1', 'success'), delegate('ns2', 'success'), delegate('ns2', 'error')]).toEqual([
			1, 1, 1,
		]);
		expect(
			value(exposition, 'plexus_delegate_duration_seconds_bucket', {
				nad_namespace: 'ns2',
				result: 'error',
				le: '0.25',
			}),
		).toBe(1);
		expect(
			value(exposition, 'plexus_delegate_errors_total', {nad_namespace: 'ns2', nad_name: 'net', code: '7'}),
		).toBe(1);
		expect(find(exposition, 'plexus_delegate_errors_total', {nad_namespace: 'ns1'})).toEqual([]);
		expect(value(exposition, 'plexus_cni_requests_in_flight')).toBe(3);
		expect(value(exposition, 'plexus_cni_requests_queued')).toBe(5);
		expect(
			value(exposition, 'plexus_build_info', {version: plexusVersion(), node: process.versions.node}),
		).toBe(1);
		expect(value(exposition, 'process_resident_memory_bytes')).toBeGreaterThan(0);
		expect(value(exposition, 'process_start_time_seconds')).toBeGreaterThan(0);
		expect(find(exposition, 'nodejs_heap_size_used_bytes')).toHaveLength(1);
	});

	it('reports informer health: synced, last event age, relists', async () => {
		const state = informerState('nads');
		Object.assign(state, {synced: true, lastEventAt: performance.now() - 2000, relists: 3});
		const exposition = parseExposition(
			await new DaemonMetrics({inFlight: () => 0, queued: () => 0}).registry.metrics(),
		);
		expect(value(exposition, 'plexus_informer_synced', {informer: 'nads'})).toBe(1);
		expect(value(exposition, 'plexus_informer_relists', {informer: 'nads'})).toBe(3);
		expect(
			value(exposition, 'plexus_informer_last_event_age_seconds', {informer: 'nads'}),
		).toBeGreaterThanOrEqual(2);
	});
});

describe('the metrics listener', () => {
	const servers: {close(): void}[] = [];
	afterEach(() => {
		for (const server of servers.splice(0)) server.close();
	});

	it('serves /metrics, /healthz and /readyz (500 when not ready), 404 elsewhere', async () => {
		const metrics = new DaemonMetrics({inFlight: () => 0, queued: () => 0});
		metrics.observeRequest('DEL', 0.01);
		let ready = false;
		const {server, port} = await serveMetrics(
			metrics.registry,
			{host: '127.0.0.1', port: 0},
			{ready: () => ready},
		);
		servers.push(server);
		const base = `http://127.0.0.1:${port}`;
		const res = await fetch(`${base}/metrics`);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
		expect(
			value(parseExposition(await res.text()), 'plexus_cni_request_duration_seconds_count', {verb: 'DEL'}),
		).toBe(1);
		expect((await fetch(`${base}/healthz`)).status).toBe(200);
		expect((await fetch(`${base}/readyz`)).status).toBe(500);
		ready = true;
		expect((await fetch(`${base}/readyz`)).status).toBe(200);
		expect((await fetch(`${base}/nope`)).status).toBe(404);
		expect((await fetch(`${base}/metrics`, {method: 'POST'})).status).toBe(405);
	});

	it('parses listen addresses; no host is loopback, never every interface', () => {
		expect(parseListenAddress('127.0.0.1:9091')).toEqual({host: '127.0.0.1', port: 9091});
		expect(parseListenAddress(':9100')).toEqual({host: '127.0.0.1', port: 9100});
		expect(parseListenAddress('9100')).toEqual({host: '127.0.0.1', port: 9100});
		expect(parseListenAddress('0.0.0.0:9100')).toEqual({host: '0.0.0.0', port: 9100});
		expect(parseListenAddress('[::1]:0')).toEqual({host: '::1', port: 0});
		expect(() => parseListenAddress('host:99999')).toThrow('invalid metrics address "host:99999"');
		expect(() => parseListenAddress('nope')).toThrow('invalid metrics address "nope"');
	});
});

import {describe, expect, it} from 'vitest';
import {
	Counter,
	DaemonMetrics,
	Gauge,
	Histogram,
	parseListenAddress,
	Registry,
	serveMetrics,
} from './metrics.ts';

describe('metrics text format', () => {
	it('renders counters with escaped labels', () => {
		const registry = new Registry();
		const counter = registry.register(new Counter('x_total', 'Things.\nMore.', ['a']));
		counter.inc({a: 'q"u\\o\nte'});
		counter.inc({a: 'plain'}, 2);
		expect(registry.render()).toBe(
			'# HELP x_total Things.\\nMore.\n# TYPE x_total counter\nx_total{a="q\\"u\\\\o\\nte"} 1\nx_total{a="plain"} 2\n',
		);
	});

	it('renders cumulative histogram buckets, +Inf, sum and count', () => {
		const registry = new Registry();
		const histogram = registry.register(new Histogram('d_seconds', 'Durations.', ['cmd'], [0.1, 1]));
		histogram.observe({cmd: 'ADD'}, 0.05);
		histogram.observe({cmd: 'ADD'}, 0.5);
		histogram.observe({cmd: 'ADD'}, 3);
		expect(registry.render()).toBe(
			[
				'# HELP d_seconds Durations.',
				'# TYPE d_seconds histogram',
				'd_seconds_bucket{cmd="ADD",le="0.1"} 1',
				'd_seconds_bucket{cmd="ADD",le="1"} 2',
				'd_seconds_bucket{cmd="ADD",le="+Inf"} 3',
				'd_seconds_sum{cmd="ADD"} 3.55',
				'd_seconds_count{cmd="ADD"} 3',
				'',
			].join('\n'),
		);
	});

	it('reads gauges at render time', () => {
		let value = 1;
		const registry = new Registry();
		registry.register(new Gauge('g', 'A gauge.', () => value));
		expect(registry.render()).toContain('\ng 1\n');
		value = 7;
		expect(registry.render()).toContain('\ng 7\n');
	});

	it('rejects wrong labels, decreasing counters, bad names and duplicate registration', () => {
		const counter = new Counter('c_total', 'C.', ['a', 'b']);
		expect(() => counter.inc({a: '1'})).toThrow('expects labels [a, b], got [a]');
		expect(() => counter.inc({a: '1', b: '2'}, -1)).toThrow('cannot decrease');
		expect(() => new Counter('bad-name', 'B.', [])).toThrow('invalid metric name "bad-name"');
		expect(() => new Histogram('h', 'H.', [], [1, 1])).toThrow('buckets must increase');
		const registry = new Registry();
		registry.register(new Counter('dup', 'D.', []));
		expect(() => registry.register(new Counter('dup', 'D.', []))).toThrow('registered twice');
	});
});

describe('DaemonMetrics', () => {
	it('records requests, errors by code, delegates by NAD and plugin, and the queue gauges', () => {
		const metrics = new DaemonMetrics({inFlight: () => 3, queued: () => 5});
		metrics.observeRequest('ADD', 0.02);
		metrics.observeRequest('ADD', 0.03, 11);
		metrics.observeDelegate({nad: 'default/net1', plugin: 'bridge', command: 'ADD', seconds: 0.004});
		metrics.observeDelegate({
			nad: 'default/net1',
			plugin: 'bridge',
			command: 'DEL',
			seconds: 0.5,
			errorCode: 999,
		});
		const text = metrics.registry.render();
		expect(text).toContain('plexus_cni_request_duration_seconds_count{command="ADD",result="success"} 1');
		expect(text).toContain('plexus_cni_request_duration_seconds_count{command="ADD",result="error"} 1');
		expect(text).toContain('plexus_cni_errors_total{command="ADD",code="11"} 1');
		expect(text).toContain(
			'plexus_delegate_duration_seconds_bucket{nad="default/net1",plugin="bridge",command="ADD",result="success",le="0.005"} 1',
		);
		expect(text).toContain(
			'plexus_delegate_errors_total{nad="default/net1",plugin="bridge",command="DEL",code="999"} 1',
		);
		expect(text).toContain('\nplexus_cni_requests_in_flight 3\n');
		expect(text).toContain('\nplexus_cni_requests_queued 5\n');
		expect(text).toMatch(/\nprocess_resident_memory_bytes \d+\n/);
	});

	it('serves /metrics over TCP', async () => {
		const metrics = new DaemonMetrics({inFlight: () => 0, queued: () => 0});
		metrics.observeRequest('DEL', 0.01);
		const {server, port} = await serveMetrics(metrics.registry, {host: '127.0.0.1', port: 0});
		try {
			const res = await fetch(`http://127.0.0.1:${port}/metrics`);
			expect(res.status).toBe(200);
			expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
			expect(await res.text()).toContain(
				'plexus_cni_request_duration_seconds_count{command="DEL",result="success"} 1',
			);
			expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
		} finally {
			server.close();
		}
	});

	it.each([
		['127.0.0.1:9091', {host: '127.0.0.1', port: 9091}],
		[':9091', {host: '0.0.0.0', port: 9091}],
		['9091', {host: '0.0.0.0', port: 9091}],
		['[::1]:0', {host: '::1', port: 0}],
	])('parses listen address %s', (text, expected) => {
		expect(parseListenAddress(text)).toEqual(expected);
	});

	it('rejects a malformed listen address', () => {
		expect(() => parseListenAddress('host:99999')).toThrow('invalid metrics address "host:99999"');
		expect(() => parseListenAddress('nope')).toThrow('invalid metrics address "nope"');
	});
});

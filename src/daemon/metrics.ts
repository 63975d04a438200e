/**
 * The daemon's Prometheus metrics, on prom-client (the Node ecosystem's client library): request
 * and per-delegate latency histograms, errors by CNI code, queue depth and in-flight requests,
 * informer health, the process metrics prom-client collects (CPU, memory, heap, event-loop lag,
 * file descriptors) and `plexus_build_info`. Observing is a few array writes, so the ADD path pays
 * nothing noticeable; gauges are read at scrape time.
 * @see https://prometheus.io/docs/instrumenting/writing_exporters/
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';
import {performance} from 'node:perf_hooks';
import {Counter, collectDefaultMetrics, Gauge, Histogram, Registry} from 'prom-client';
import {type InformerState, informerStates} from '../observe/informer-health.ts';
import {plexusVersion} from '../version/version.ts';
import {eventQueueTotals} from './event-queue.ts';

/** Latency buckets in seconds: a CNI ADD takes milliseconds in-process and seconds through slow IPAM. */
export const LATENCY_BUCKETS = [
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/** One delegate invocation, as reported by the delegate timers (./delegate.ts). */
export interface DelegateSample {
	/** The network: the `name` of the conf the delegate was given (the NAD's CNI network name). */
	nad: string;
	/** The delegate's `type`. */
	plugin: string;
	command: string;
	seconds: number;
	/** The CNI error code when it failed. */
	errorCode?: number | undefined;
	/** The CNI error message when it failed. */
	error?: string | undefined;
	/** CNI_IFNAME of the run. */
	ifname?: string | undefined;
	/** The delegate's stdin, for the debug log (redacted there). */
	stdin?: Uint8Array | undefined;
}

/** Receives per-delegate timings; the meta-plugin takes one of these. */
export type DelegateObserver = (sample: DelegateSample) => void;

/** A delegate run with the NAD it ran for, as the per-delegate metrics label it. */
export interface DelegateRun {
	/** The NAD's namespace; '' for a network that is not a NAD (the cluster network from a file). */
	nadNamespace: string;
	/** The NAD's name, or the network's name when it is not a NAD. */
	nadName: string;
	plugin: string;
	verb: string;
	seconds: number;
	errorCode?: number | undefined;
}

/** The daemon's metrics, on one prom-client registry. */
export class DaemonMetrics {
	readonly registry = new Registry();
	readonly requestDuration: Histogram<'verb' | 'result'>;
	readonly delegateDuration: Histogram<'nad_namespace' | 'nad_name' | 'plugin' | 'verb' | 'result'>;
	readonly errors: Counter<'verb' | 'code'>;
	readonly delegateErrors: Counter<'nad_namespace' | 'nad_name' | 'plugin' | 'verb' | 'code'>;
	readonly httpRequests: Counter<'handler' | 'method' | 'code'>;

	constructor(gauges: {inFlight: () => number; queued: () => number}) {
		const registers = [this.registry];
		collectDefaultMetrics({register: this.registry});
		this.requestDuration = new Histogram({
			name: 'plexus_cni_request_duration_seconds',
			help: 'Duration of CNI requests served by the daemon, by verb and result.',
			labelNames: ['verb', 'result'],
			buckets: LATENCY_BUCKETS,
			registers,
		});
		this.delegateDuration = new Histogram({
			name: 'plexus_delegate_duration_seconds',
			help: 'Duration of each delegate invocation, by NAD namespace and name, plugin type, verb and result.',
			labelNames: ['nad_namespace', 'nad_name', 'plugin', 'verb', 'result'],
			buckets: LATENCY_BUCKETS,
			registers,
		});
		this.errors = new Counter({
			name: 'plexus_cni_errors_total',
			help: 'CNI requests that failed, by verb and CNI error code.',
			labelNames: ['verb', 'code'],
			registers,
		});
		this.delegateErrors = new Counter({
			name: 'plexus_delegate_errors_total',
			help: 'Delegate invocations that failed, by NAD, plugin type, verb and CNI error code.',
			labelNames: ['nad_namespace', 'nad_name', 'plugin', 'verb', 'code'],
			registers,
		});
		this.httpRequests = new Counter({
			name: 'plexus_http_requests_total',
			help: 'HTTP requests on the daemon socket.',
			labelNames: ['handler', 'method', 'code'],
			registers,
		});
		const read = (name: string, help: string, value: () => number) =>
			new Gauge({
				name,
				help,
				registers,
				collect() {
					this.set(value());
				},
			});
		read('plexus_cni_requests_in_flight', 'CNI requests being executed now.', gauges.inFlight);
		read('plexus_cni_requests_queued', 'CNI requests waiting for a free slot (queue depth).', gauges.queued);
		read(
			'plexus_kube_events_dropped_total',
			'Kubernetes events dropped because the bounded event queue was full.',
			() => eventQueueTotals().dropped,
		);
		read(
			'plexus_kube_events_sent_total',
			'Kubernetes events sent after their request.',
			() => eventQueueTotals().sent,
		);
		new Gauge({
			name: 'plexus_build_info',
			help: 'Always 1; the labels name the Plexus and Node.js versions.',
			labelNames: ['version', 'node'],
			registers,
		}).set({version: plexusVersion(), node: process.versions.node}, 1);
		this.#informerGauges(registers);
	}

	/** Synced, last-event age and relists of each watch cache, read at scrape time. */
	#informerGauges(registers: Registry[]): void {
		const each = (name: string, help: string, value: (s: InformerState) => number | undefined) =>
			new Gauge({
				name,
				help,
				labelNames: ['informer'],
				registers,
				collect() {
					for (const [informer, state] of informerStates()) {
						const v = value(state);
						if (v !== undefined) this.set({informer}, v);
					}
				},
			});
		each('plexus_informer_synced', '1 when the watch cache has listed and is watching, else 0.', (s) =>
			s.synced ? 1 : 0,
		);
		each(
			'plexus_informer_last_event_age_seconds',
			'Seconds since the watch cache last received a list or event.',
			(s) => (s.lastEventAt === undefined ? undefined : (performance.now() - s.lastEventAt) / 1000),
		);
		each(
			'plexus_informer_relists',
			'How many times the watch cache re-listed after a watch failure.',
			(s) => s.relists,
		);
	}

	/** Records one served CNI request; `errorCode` is set when it failed. */
	observeRequest(verb: string, seconds: number, errorCode?: number): void {
		this.requestDuration.observe({verb, result: errorCode === undefined ? 'success' : 'error'}, seconds);
		if (errorCode !== undefined) this.errors.inc({verb, code: String(errorCode)});
	}

	/** Records one delegate run. */
	observeDelegateRun(run: DelegateRun): void {
		const labels = {
			nad_namespace: run.nadNamespace,
			nad_name: run.nadName,
			plugin: run.plugin,
			verb: run.verb,
		};
		this.delegateDuration.observe(
			{...labels, result: run.errorCode === undefined ? 'success' : 'error'},
			run.seconds,
		);
		if (run.errorCode !== undefined) this.delegateErrors.inc({...labels, code: String(run.errorCode)});
	}
}

/** Parses `host:port`, `:port` or `port` (port 0 picks a free one); no host means 127.0.0.1. */
export function parseListenAddress(address: string): {host: string; port: number} {
	const match = /^(?:(.*):)?(\d+)$/.exec(address);
	const port = Number(match?.[2]);
	if (match === null || port > 65535) {
		throw new TypeError(`invalid metrics address "${address}": expected [host]:port`);
	}
	const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
	return {host: host === '' ? '127.0.0.1' : host, port};
}

/** What the metrics listener serves besides /metrics: the daemon's own health. */
export interface HealthProbes {
	/** True while the daemon serves and is not shutting down (/readyz). */
	ready: () => boolean;
}

/**
 * Serves GET /metrics from `registry`, and /healthz (200 while the process serves) and /readyz
 * (200, or 500 when not ready) for kubelet's HTTP probes, on a TCP address; resolves once listening.
 */
export async function serveMetrics(
	registry: Registry,
	address: {host: string; port: number},
	health: HealthProbes = {ready: () => true},
): Promise<{server: Server; port: number}> {
	const server = createServer((req, res) => {
		const path = (req.url ?? '/').split('?')[0];
		const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
			res.writeHead(status, {'content-type': type, 'content-length': Buffer.byteLength(body)});
			res.end(req.method === 'HEAD' ? undefined : body);
		};
		if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
		if (path === '/healthz') return reply(200, 'ok\n');
		if (path === '/readyz') return health.ready() ? reply(200, 'ok\n') : reply(500, 'not ready\n');
		if (path !== '/metrics') return reply(404, 'not found\n');
		registry.metrics().then(
			(body) => reply(200, body, registry.contentType),
			(err: unknown) => reply(500, `failed to collect metrics: ${String(err)}\n`),
		);
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(address.port, address.host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	return {server, port: (server.address() as AddressInfo).port};
}

/**
 * Prometheus metrics for the daemon, hand-written (text exposition format 0.0.4, no client library):
 * counters, gauges read at scrape time, and histograms, each with labels.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/
 */
import {createServer, type Server} from 'node:http';
import type {AddressInfo} from 'node:net';

export type Labels = Readonly<Record<string, string>>;

/** Latency buckets in seconds: a CNI ADD takes milliseconds in-process and seconds through slow IPAM. */
export const LATENCY_BUCKETS = [
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

const namePattern = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/** Escapes a label value as the text format requires (backslash, double quote, newline). */
function escapeLabel(value: string): string {
	return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Renders `{a="1",b="2"}` (empty string for no labels), names in the order the metric declared them. */
function renderLabels(names: readonly string[], values: readonly string[], extra?: [string, string]): string {
	const parts = names.map((name, i) => `${name}="${escapeLabel(values[i] ?? '')}"`);
	if (extra !== undefined) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
	return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** Formats a sample value: integers plainly, +Inf/-Inf/NaN as Prometheus spells them. */
function formatValue(value: number): string {
	if (Number.isNaN(value)) return 'NaN';
	if (value === Number.POSITIVE_INFINITY) return '+Inf';
	if (value === Number.NEGATIVE_INFINITY) return '-Inf';
	return String(value);
}

/** What every metric shares: a name, help text, label names, and children keyed by label values. */
abstract class Metric<Child> {
	readonly name: string;
	readonly help: string;
	readonly labelNames: readonly string[];
	protected readonly children = new Map<string, {values: string[]; child: Child}>();

	constructor(name: string, help: string, labelNames: readonly string[]) {
		if (!namePattern.test(name)) throw new TypeError(`invalid metric name "${name}"`);
		for (const label of labelNames) {
			if (!namePattern.test(label) || label.startsWith('__')) {
				throw new TypeError(`invalid label name "${label}" on metric "${name}"`);
			}
		}
		this.name = name;
		this.help = help;
		this.labelNames = labelNames;
	}

	abstract readonly type: 'counter' | 'gauge' | 'histogram';

	protected abstract create(): Child;

	/** The child for these labels, created on first use; every declared label must be given, no others. */
	protected child(labels: Labels): {values: string[]; child: Child} {
		const given = Object.keys(labels);
		if (given.length !== this.labelNames.length || !this.labelNames.every((name) => name in labels)) {
			throw new TypeError(
				`metric "${this.name}" expects labels [${this.labelNames.join(', ')}], got [${given.join(', ')}]`,
			);
		}
		const values = this.labelNames.map((name) => labels[name] ?? '');
		const key = JSON.stringify(values);
		let entry = this.children.get(key);
		if (entry === undefined) {
			entry = {values, child: this.create()};
			this.children.set(key, entry);
		}
		return entry;
	}

	protected abstract samples(): string[];

	/** The metric's HELP, TYPE and sample lines. */
	render(): string {
		const help = this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
		return [`# HELP ${this.name} ${help}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()].join('\n');
	}
}

/** A monotonically increasing count. */
export class Counter extends Metric<{value: number}> {
	readonly type = 'counter';

	protected create(): {value: number} {
		return {value: 0};
	}

	/** Adds `amount` (default 1) to the child with these labels. */
	inc(labels: Labels = {}, amount = 1): void {
		if (amount < 0) throw new RangeError(`counter "${this.name}" cannot decrease (got ${amount})`);
		this.child(labels).child.value += amount;
	}

	/** The current value for these labels (0 when never incremented). */
	get(labels: Labels = {}): number {
		return this.child(labels).child.value;
	}

	protected samples(): string[] {
		return [...this.children.values()].map(
			({values, child}) => `${this.name}${renderLabels(this.labelNames, values)} ${formatValue(child.value)}`,
		);
	}
}

/** A value read at scrape time from a callback (in-flight requests, queue depth, RSS). */
export class Gauge extends Metric<never> {
	readonly type = 'gauge';
	readonly #read: () => number;

	constructor(name: string, help: string, read: () => number) {
		super(name, help, []);
		this.#read = read;
	}

	protected create(): never {
		throw new TypeError(`gauge "${this.name}" has no labels`);
	}

	protected samples(): string[] {
		return [`${this.name} ${formatValue(this.#read())}`];
	}
}

interface HistogramChild {
	counts: number[];
	sum: number;
	count: number;
}

/** Observations counted into cumulative `le` buckets, plus their sum and count. */
export class Histogram extends Metric<HistogramChild> {
	readonly type = 'histogram';
	readonly buckets: readonly number[];

	constructor(name: string, help: string, labelNames: readonly string[], buckets = LATENCY_BUCKETS) {
		super(name, help, labelNames);
		for (let i = 1; i < buckets.length; i++) {
			if ((buckets[i] ?? 0) <= (buckets[i - 1] ?? 0)) {
				throw new TypeError(`histogram "${name}" buckets must increase, got [${buckets.join(', ')}]`);
			}
		}
		this.buckets = buckets;
	}

	protected create(): HistogramChild {
		return {counts: this.buckets.map(() => 0), sum: 0, count: 0};
	}

	/** Records one observation (seconds, for latencies). */
	observe(labels: Labels, value: number): void {
		const child = this.child(labels).child;
		for (let i = 0; i < this.buckets.length; i++) {
			if (value <= (this.buckets[i] ?? 0)) child.counts[i] = (child.counts[i] ?? 0) + 1;
		}
		child.sum += value;
		child.count += 1;
	}

	/** The observation count for these labels. */
	count(labels: Labels): number {
		return this.child(labels).child.count;
	}

	protected samples(): string[] {
		const lines: string[] = [];
		for (const {values, child} of this.children.values()) {
			this.buckets.forEach((bound, i) => {
				const labels = renderLabels(this.labelNames, values, ['le', formatValue(bound)]);
				lines.push(`${this.name}_bucket${labels} ${child.counts[i] ?? 0}`);
			});
			lines.push(
				`${this.name}_bucket${renderLabels(this.labelNames, values, ['le', '+Inf'])} ${child.count}`,
			);
			lines.push(`${this.name}_sum${renderLabels(this.labelNames, values)} ${formatValue(child.sum)}`);
			lines.push(`${this.name}_count${renderLabels(this.labelNames, values)} ${child.count}`);
		}
		return lines;
	}
}

/** A set of metrics rendered together. */
export class Registry {
	readonly #metrics = new Map<string, Metric<unknown>>();

	/** Adds a metric; names are unique. */
	register<M extends Metric<unknown>>(metric: M): M {
		if (this.#metrics.has(metric.name)) throw new TypeError(`metric "${metric.name}" registered twice`);
		this.#metrics.set(metric.name, metric);
		return metric;
	}

	/** The whole exposition, newline-terminated. */
	render(): string {
		return `${[...this.#metrics.values()].map((metric) => metric.render()).join('\n')}\n`;
	}
}

/** One delegate invocation, as reported by the meta-plugin for the per-delegate metrics. */
export interface DelegateSample {
	/** `<namespace>/<name>` of the NetworkAttachmentDefinition, or the conf name for the cluster network. */
	nad: string;
	/** The delegate's `type`. */
	plugin: string;
	command: string;
	seconds: number;
	/** The CNI error code when it failed. */
	errorCode?: number | undefined;
}

/** Receives per-delegate timings; the meta-plugin takes one of these. */
export type DelegateObserver = (sample: DelegateSample) => void;

/** The daemon's metrics, on one registry. */
export class DaemonMetrics {
	readonly registry = new Registry();
	readonly requestDuration = this.registry.register(
		new Histogram('plexus_cni_request_duration_seconds', 'Duration of CNI requests served by the daemon.', [
			'command',
			'result',
		]),
	);
	readonly delegateDuration = this.registry.register(
		new Histogram(
			'plexus_delegate_duration_seconds',
			'Duration of each delegate invocation, by NAD and plugin.',
			['nad', 'plugin', 'command', 'result'],
		),
	);
	readonly errors = this.registry.register(
		new Counter('plexus_cni_errors_total', 'CNI requests that failed, by CNI error code.', [
			'command',
			'code',
		]),
	);
	readonly delegateErrors = this.registry.register(
		new Counter('plexus_delegate_errors_total', 'Delegate invocations that failed, by CNI error code.', [
			'nad',
			'plugin',
			'command',
			'code',
		]),
	);
	readonly httpRequests = this.registry.register(
		new Counter('plexus_http_requests_total', 'HTTP requests on the daemon socket.', [
			'handler',
			'method',
			'code',
		]),
	);

	constructor(gauges: {inFlight: () => number; queued: () => number}) {
		this.registry.register(
			new Gauge('plexus_cni_requests_in_flight', 'CNI requests being executed now.', gauges.inFlight),
		);
		this.registry.register(
			new Gauge('plexus_cni_requests_queued', 'CNI requests waiting for a free slot.', gauges.queued),
		);
		this.registry.register(
			new Gauge('process_resident_memory_bytes', 'Resident memory size of the daemon in bytes.', () =>
				process.memoryUsage.rss(),
			),
		);
		const started = Date.now() / 1000;
		this.registry.register(
			new Gauge(
				'process_start_time_seconds',
				'Start time of the daemon since the Unix epoch in seconds.',
				() => started,
			),
		);
	}

	/** Records one served CNI request; `errorCode` is set when it failed. */
	observeRequest(command: string, seconds: number, errorCode?: number): void {
		const result = errorCode === undefined ? 'success' : 'error';
		this.requestDuration.observe({command, result}, seconds);
		if (errorCode !== undefined) this.errors.inc({command, code: String(errorCode)});
	}

	/** The DelegateObserver that feeds the per-delegate metrics. */
	readonly observeDelegate: DelegateObserver = (sample) => {
		const result = sample.errorCode === undefined ? 'success' : 'error';
		const labels = {nad: sample.nad, plugin: sample.plugin, command: sample.command};
		this.delegateDuration.observe({...labels, result}, sample.seconds);
		if (sample.errorCode !== undefined) this.delegateErrors.inc({...labels, code: String(sample.errorCode)});
	};
}

/** Parses `host:port`, `:port` or `port` (port 0 picks a free one). */
export function parseListenAddress(address: string): {host: string; port: number} {
	const match = /^(?:(.*):)?(\d+)$/.exec(address);
	const port = Number(match?.[2]);
	if (match === null || port > 65535) {
		throw new TypeError(`invalid metrics address "${address}": expected [host]:port`);
	}
	const host = (match[1] ?? '').replace(/^\[(.*)\]$/, '$1');
	return {host: host === '' ? '0.0.0.0' : host, port};
}

/** Serves GET /metrics from `registry` on a TCP address; resolves once listening. */
export async function serveMetrics(
	registry: Registry,
	address: {host: string; port: number},
): Promise<{server: Server; port: number}> {
	const server = createServer((req, res) => {
		if (req.url !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
			res.writeHead(404).end();
			return;
		}
		const body = registry.render();
		res.writeHead(200, {
			'content-type': 'text/plain; version=0.0.4; charset=utf-8',
			'content-length': Buffer.byteLength(body),
		});
		res.end(req.method === 'HEAD' ? undefined : body);
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

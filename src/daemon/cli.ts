/**
 * `plexus daemon`: serve CNI requests from plexus-shim (or multus-shim) on a unix socket until
 * SIGTERM/SIGINT, then stop gracefully (readyz fails, in-flight work drains, exit 0).
 */
import type {EventEmitter} from 'node:events';
import type {Server} from 'node:http';
import {parseArgs} from 'node:util';
import {checkHostRoot, HostRootPluginExec} from '../chain/host-root.ts';
import {type PluginExec, ProcessPluginExec} from '../chain/plugin-exec.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {configureLog, LOG_LEVELS, type LogLevel, lockLogConfig, log} from '../log.ts';
import {observeDelegates} from '../observe/delegates.ts';
import {DEFAULT_TRACE_CAPACITY, TraceStore} from '../observe/trace.ts';
import {plexusVersion, setPlexusMode} from '../version/version.ts';
import {DelegateRunner} from './delegate.ts';
import type {DaemonPluginContext} from './meta.ts';
import {DaemonMetrics, parseListenAddress, serveMetrics} from './metrics.ts';
import {DEFAULT_QUEUE_LIMITS} from './queue.ts';
import {Daemon, DEFAULT_SOCKET_PATH} from './server.ts';

export const DAEMON_USAGE = `Usage: plexus daemon [options]

Serves CNI requests from plexus-shim (or a Multus multus-shim) over HTTP on a unix socket, so the
host only needs the small shim binary. Stops gracefully on SIGTERM or SIGINT.

Options:
      --socket <path>            unix socket (default: $PLEXUS_SOCKET or ${DEFAULT_SOCKET_PATH})
      --metrics-address <addr>   Prometheus /metrics, and /healthz and /readyz for kubelet's
                                 probes, on [host]:port ("off" to disable; no host means
                                 127.0.0.1, never every interface) (default: 127.0.0.1:9091)
      --trace-capacity <n>       CNI operations kept in memory for \`plexus trace\`
                                 (default: ${DEFAULT_TRACE_CAPACITY}; 0 keeps none)
      --max-concurrent <n>       requests executed at once (default: ${DEFAULT_QUEUE_LIMITS.maxConcurrent})
      --max-queued <n>           requests waiting beyond that; more are refused with code 11
                                 (default: ${DEFAULT_QUEUE_LIMITS.maxQueued})
      --max-wait-ms <ms>         longest wait for a slot before code 11 (default: ${DEFAULT_QUEUE_LIMITS.maxWaitMs})
      --delegate-timeout-ms <ms> kill a delegate binary after this long; it fails with code 11
                                 (default: none)
      --cni-path <dirs>          ":"-separated CNI_PATH for requests without one (default: /opt/cni/bin)
      --cache-dir <dir>          result cache of POST /delegate attachments (default: /var/lib/cni)
      --chroot-dir <dir>         the host's root as mounted in this container (e.g. /hostroot):
                                 delegate binaries are found on CNI_PATH inside it and run
                                 chrooted there, as Multus thick's chrootDir (default: off,
                                 delegates run in this process's root)
      --grace-ms <ms>            on SIGTERM, how long /readyz fails before the socket closes (default: 2000)
      --drain-timeout-ms <ms>    how long in-flight requests may finish after that (default: 30000)
      --plugin <name>            the CNI plugin POST /cni runs (default: plexus, the meta-plugin)
      --informers <on|off>       serve pod and NAD reads from watch caches, live GET on a miss;
                                 pods are watched for $NODE_NAME only (default: on)
      --log-level <level>        ${LOG_LEVELS.join(', ')} (default: info)
      --log-file <path>          also append JSON log lines to this file
  -h, --help                     show this help
`;

/** Loads the plugin POST /cni runs; gets the daemon's per-delegate metrics hook. */
export type DaemonPluginLoader = (context: DaemonPluginContext) => Promise<CniPlugin>;

/** The plugins `plexus daemon --plugin <name>` can serve. */
export const DAEMON_PLUGINS: ReadonlyMap<string, DaemonPluginLoader> = new Map([
	[
		'plexus',
		async (context: DaemonPluginContext) => {
			const meta = await import('./meta.ts');
			await meta.prewarm();
			return meta.createDaemonMetaPlugin(context);
		},
	],
]);

/** What `plexus daemon` needs from its caller (src/cli): the environment, the plugin table, signals. */
export interface DaemonCommandIo {
	env: Readonly<Record<string, string | undefined>>;
	/** Plugin loaders by name (default: DAEMON_PLUGINS, the meta-plugin as "plexus"). */
	plugins?: ReadonlyMap<string, DaemonPluginLoader> | undefined;
	/** Where SIGTERM/SIGINT arrive (default: process). */
	signals?: Pick<EventEmitter, 'once' | 'off'> | undefined;
	/** Called once the daemon serves (tests use it to learn the metrics port). */
	onListening?: ((info: {daemon: Daemon; metricsPort: number | undefined}) => void) | undefined;
}

/** The outcome shape of src/cli/outcome.ts. */
export interface DaemonCommandOutcome {
	stdout: string;
	stderr: string;
	exitCode: number;
}

function parse(argv: readonly string[]) {
	return parseArgs({
		args: [...argv],
		allowPositionals: false,
		strict: true,
		options: {
			socket: {type: 'string'},
			'metrics-address': {type: 'string'},
			'trace-capacity': {type: 'string'},
			'max-concurrent': {type: 'string'},
			'max-queued': {type: 'string'},
			'max-wait-ms': {type: 'string'},
			'delegate-timeout-ms': {type: 'string'},
			informers: {type: 'string'},
			'cni-path': {type: 'string'},
			'cache-dir': {type: 'string'},
			'chroot-dir': {type: 'string'},
			'grace-ms': {type: 'string'},
			'drain-timeout-ms': {type: 'string'},
			plugin: {type: 'string'},
			'log-level': {type: 'string'},
			'log-file': {type: 'string'},
			help: {type: 'boolean', short: 'h'},
		},
	});
}

/** A non-negative integer option, or its default; names the option when malformed. */
function integer(values: Record<string, unknown>, name: string, fallback: number): number {
	const text = values[name];
	if (text === undefined) return fallback;
	const value = Number(text);
	if (typeof text !== 'string' || !/^\d+$/.test(text) || !Number.isSafeInteger(value)) {
		throw new TypeError(`expected --${name} to be a non-negative integer, got "${String(text)}"`);
	}
	return value;
}

const usage = (message: string): DaemonCommandOutcome => ({
	stdout: '',
	stderr: `plexus: ${message}\n\n${DAEMON_USAGE}`,
	exitCode: 2,
});

/** The validated options of `plexus daemon`. */
export interface DaemonCommandOptions {
	help: boolean;
	socketPath: string;
	/** "off" disables the metrics listener. */
	metricsAddress: string;
	/** How many CNI operations GET /trace remembers. */
	traceCapacity: number;
	limits: {maxConcurrent: number; maxQueued: number; maxWaitMs: number};
	graceMs: number;
	drainTimeoutMs: number;
	delegateTimeoutMs: number | undefined;
	defaultCniPath: string[];
	cacheDir: string | undefined;
	/** Delegates run chrooted into this directory (the host's `/` mounted in the container). */
	chrootDir: string | undefined;
	plugin: string;
	/** Pod (this node's, by $NODE_NAME) and NAD watch caches for the meta-plugin. */
	informers: boolean;
	logLevel: LogLevel | undefined;
	logFile: string | undefined;
}

/** Parses and validates `plexus daemon` arguments; throws a TypeError naming the bad option. */
export function parseDaemonOptions(
	argv: readonly string[],
	env: Readonly<Record<string, string | undefined>> = {},
): DaemonCommandOptions {
	const {values} = parse(argv);
	const level = values['log-level'];
	if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) {
		throw new TypeError(`expected --log-level to be one of ${LOG_LEVELS.join(', ')}, got "${level}"`);
	}
	const informers = values.informers ?? 'on';
	if (informers !== 'on' && informers !== 'off') {
		throw new TypeError(`expected --informers to be "on" or "off", got "${informers}"`);
	}
	const metricsAddress = values['metrics-address'] ?? '127.0.0.1:9091';
	if (metricsAddress !== 'off' && metricsAddress !== '') parseListenAddress(metricsAddress);
	return {
		help: values.help === true,
		socketPath: values.socket ?? (env['PLEXUS_SOCKET'] || DEFAULT_SOCKET_PATH),
		metricsAddress: metricsAddress === '' ? 'off' : metricsAddress,
		traceCapacity: integer(values, 'trace-capacity', DEFAULT_TRACE_CAPACITY),
		limits: {
			maxConcurrent: integer(values, 'max-concurrent', DEFAULT_QUEUE_LIMITS.maxConcurrent),
			maxQueued: integer(values, 'max-queued', DEFAULT_QUEUE_LIMITS.maxQueued),
			maxWaitMs: integer(values, 'max-wait-ms', DEFAULT_QUEUE_LIMITS.maxWaitMs),
		},
		graceMs: integer(values, 'grace-ms', 2000),
		drainTimeoutMs: integer(values, 'drain-timeout-ms', 30_000),
		delegateTimeoutMs:
			values['delegate-timeout-ms'] === undefined ? undefined : integer(values, 'delegate-timeout-ms', 0),
		defaultCniPath: (values['cni-path'] ?? '/opt/cni/bin').split(':').filter((dir) => dir !== ''),
		cacheDir: values['cache-dir'],
		chrootDir: values['chroot-dir'] === '' ? undefined : values['chroot-dir'],
		plugin: values.plugin ?? 'plexus',
		informers: informers === 'on',
		logLevel: level as LogLevel | undefined,
		logFile: values['log-file'],
	};
}

/** The delegates' exec: processes, chrooted into the host root with --chroot-dir. */
async function delegatesExec(chrootDir: string | undefined): Promise<PluginExec> {
	const exec = new ProcessPluginExec();
	if (chrootDir === undefined) return exec;
	await checkHostRoot(chrootDir);
	log('info', 'delegates run chrooted in the host root', {chrootDir});
	return new HostRootPluginExec(exec, chrootDir);
}

/** Serves /metrics, /healthz and /readyz on `address`; undefined when it is "off". */
async function listenMetrics(
	metrics: DaemonMetrics,
	address: string,
	ready: () => boolean,
): Promise<{server: Server; port: number} | undefined> {
	if (address === 'off') return undefined;
	const served = await serveMetrics(metrics.registry, parseListenAddress(address), {ready});
	log('info', 'plexus metrics listening', {
		address,
		port: served.port,
		paths: ['/metrics', '/healthz', '/readyz'],
	});
	return served;
}

/** Runs `plexus daemon …` (argv after "daemon"); resolves when the daemon has stopped. */
export async function runDaemonCommand(
	argv: readonly string[],
	io: DaemonCommandIo,
): Promise<DaemonCommandOutcome> {
	let options: DaemonCommandOptions;
	try {
		options = parseDaemonOptions(argv, io.env);
	} catch (err) {
		return usage((err as Error).message);
	}
	if (options.help) return {stdout: DAEMON_USAGE, stderr: '', exitCode: 0};
	setPlexusMode('daemon');
	configureLog({logLevel: options.logLevel, logFile: options.logFile});
	// The daemon's logging is its flags'; the meta-plugin's per-request configureLog must not change it.
	lockLogConfig();

	const load = (io.plugins ?? DAEMON_PLUGINS).get(options.plugin);
	if (load === undefined) {
		return {
			stdout: '',
			stderr: `plexus: failed to start daemon: no CNI plugin is registered as "${options.plugin}" in this build of plexus\n`,
			exitCode: 1,
		};
	}
	const {socketPath, limits, defaultCniPath, chrootDir} = options;
	let daemon: Daemon | undefined;
	let metricsServer: Server | undefined;
	const closers: (() => Promise<void>)[] = [];
	const readiness: (() => boolean)[] = [];
	try {
		log('info', 'plexus daemon starting', {
			version: plexusVersion(),
			node: process.versions.node,
			pid: process.pid,
		});
		const exec = await delegatesExec(chrootDir);
		const metrics = new DaemonMetrics({
			inFlight: () => daemon?.queue.inFlight ?? 0,
			queued: () => daemon?.queue.queued ?? 0,
		});
		const observeDelegate = observeDelegates(metrics);
		const plugin = await load({
			observeDelegate,
			delegateTimeoutMs: options.delegateTimeoutMs,
			informers: options.informers ? {nodeName: io.env['NODE_NAME']} : undefined,
			env: io.env,
			onClose: (close) => closers.push(close),
			addReadiness: (ready) => readiness.push(ready),
			exec,
			hostRoot: chrootDir,
		});
		const delegatePlugin = new DelegateRunner({
			exec,
			cacheDir: options.cacheDir,
			timeoutMs: options.delegateTimeoutMs,
			observe: observeDelegate,
		});
		daemon = await Daemon.start({
			socketPath,
			plugin,
			delegatePlugin,
			limits,
			defaultCniPath,
			env: io.env,
			metrics,
			traces: new TraceStore(options.traceCapacity),
			isReady: () => readiness.every((ready) => ready()),
		});
		const running = daemon;
		const served = await listenMetrics(metrics, options.metricsAddress, () => running.ready);
		metricsServer = served?.server;
		io.onListening?.({daemon, metricsPort: served?.port});
	} catch (err) {
		await daemon?.shutdown({drainTimeoutMs: 0});
		metricsServer?.close();
		await Promise.all(closers.map((close) => close()));
		return {stdout: '', stderr: `plexus: failed to start daemon: ${(err as Error).message}\n`, exitCode: 1};
	}

	const signals = io.signals ?? process;
	const signal = await new Promise<string>((resolve) => {
		const on = (name: string) => () => {
			signals.off('SIGTERM', onTerm);
			signals.off('SIGINT', onInt);
			resolve(name);
		};
		const onTerm = on('SIGTERM');
		const onInt = on('SIGINT');
		signals.once('SIGTERM', onTerm);
		signals.once('SIGINT', onInt);
	});
	log('info', 'plexus daemon received signal', {signal});
	await daemon.shutdown({graceMs: options.graceMs, drainTimeoutMs: options.drainTimeoutMs});
	await Promise.all(closers.map((close) => close()));
	await new Promise<void>((resolve) =>
		metricsServer === undefined ? resolve() : metricsServer.close(() => resolve()),
	);
	return {stdout: '', stderr: '', exitCode: 0};
}

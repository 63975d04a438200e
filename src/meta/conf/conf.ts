/**
 * The Plexus conf: the stdin of the meta-plugin. It accepts every key of a Multus thin conf with
 * the same meaning (reference §1.2), so a Multus user switches by changing `type`. Unknown keys and
 * contradictory combinations are code-7 errors naming the key, never silently ignored.
 * @see https://github.com/k8snetworkplumbingwg/multus-cni/blob/95a0932350f0060cd232096876e24672a1de83fa/pkg/types/types.go#L131
 */
import {BUILTIN_TYPES} from '../../../delegates/builtin-types.ts';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {z} from '../../cni/schema/index.ts';
import {
	DEFAULT_DEVICE_CHECKPOINT,
	DEFAULT_DP_DEVICE_INFO_DIR,
	DEFAULT_POD_RESOURCES_SOCKET,
} from '../../k8s/device-plugin-paths.ts';
import type {LogLevel} from '../../log.ts';
import {PASSTHRU_TYPE} from '../passthru.ts';

/** Multus' defaults, so an existing conf means the same thing. */
export const DEFAULT_CONF_DIR = '/etc/cni/multus/net.d';
export const DEFAULT_CNI_DIR = '/var/lib/cni/multus';
export const DEFAULT_BIN_DIR = '/opt/cni/bin';
export const DEFAULT_DEVICE_INFO_DIR = '/var/run/k8s.cni.cncf.io/devinfo/cni';
export const DEFAULT_SYSTEM_NAMESPACES = ['kube-system'] as const;
export const DEFAULT_MULTUS_NAMESPACE = 'kube-system';
/** The largest `delegateTimeoutMs`: 10 minutes, beyond any runtime's own CNI timeout. */
export const DELEGATE_TIMEOUT_MAX_MS = 600_000;
/** With `namespaceIsolation` and no `globalNamespaces`, this namespace is still referenceable. */
export const DEFAULT_GLOBAL_NAMESPACE = 'default';

/**
 * Log levels, Multus' mapped onto Plexus'. Multus orders panic < error < verbose < debug, so its
 * `verbose` is Plexus' `info`; Plexus' own names are accepted too.
 */
const MULTUS_LOG_LEVELS: Readonly<Record<string, LogLevel>> = {
	panic: 'panic',
	error: 'error',
	warning: 'warning',
	info: 'info',
	verbose: 'info',
	debug: 'debug',
};

const StringList = z.array(z.string().min(1));

const LogOptionsSchema = z.strictObject({
	maxAge: z.number().int().nonnegative().optional(),
	maxSize: z.number().int().nonnegative().optional(),
	maxBackups: z.number().int().nonnegative().optional(),
	compress: z.boolean().optional(),
});

/** The keys a Plexus conf may carry: Multus' NetConf plus the runtime-injected CNI keys. */
export const PlexusConfSchema = z.strictObject({
	cniVersion: z.string().min(1),
	name: z.string().optional(),
	type: z.string().min(1),
	capabilities: z.record(z.string(), z.boolean()).optional(),
	// Injected by the runtime / libcni.
	runtimeConfig: z.record(z.string(), z.unknown()).optional(),
	prevResult: z.record(z.string(), z.unknown()).optional(),
	args: z.record(z.string(), z.unknown()).optional(),
	'cni.dev/valid-attachments': z
		.array(z.looseObject({containerID: z.string(), ifname: z.string()}))
		.optional(),
	'cni.dev/attachments': z.array(z.looseObject({containerID: z.string(), ifname: z.string()})).optional(),
	// Multus keys.
	kubeconfig: z.string().optional(),
	confDir: z.string().min(1).optional(),
	cniDir: z.string().min(1).optional(),
	binDir: z.string().min(1).optional(),
	clusterNetwork: z.string().min(1).optional(),
	defaultNetworks: StringList.optional(),
	delegates: z.array(z.record(z.string(), z.unknown())).optional(),
	systemNamespaces: StringList.optional(),
	multusNamespace: z.string().min(1).optional(),
	namespaceIsolation: z.boolean().optional(),
	globalNamespaces: z.string().optional(),
	readinessindicatorfile: z.string().optional(),
	logFile: z.string().optional(),
	logLevel: z.string().optional(),
	logToStderr: z.boolean().optional(),
	logOptions: LogOptionsSchema.optional(),
	retryDeleteOnError: z.boolean().optional(),
	auxiliaryCNIChainName: z.string().optional(),
	// The thick shim's key; harmless when the same file is read by the one-shot plugin.
	daemonSocketDir: z.string().optional(),
	// Written by Multus' thin entrypoint into every auto-generated conf, read by no Multus code
	// (reference §1.2 errata); accepted so such a conf works by changing `type`, and ignored.
	cniConf: z.string().optional(),
	// Plexus: the bound of one Kubernetes API call (retries included), in milliseconds.
	apiTimeoutMs: z.number().int().positive().max(60_000).optional(),
	// Plexus: how long one delegate may run before it is killed (code 11), in milliseconds.
	delegateTimeoutMs: z.number().int().positive().max(DELEGATE_TIMEOUT_MAX_MS).optional(),
	// Plexus: where CNIDeviceInfoFile files go (device-info spec; Multus' fixed path by default).
	deviceInfoDir: z.string().min(1).optional(),
	// Plexus: kubelet's device-manager checkpoint and the device plugins' device-info directory.
	deviceCheckpointFile: z.string().min(1).optional(),
	devicePluginInfoDir: z.string().min(1).optional(),
	// Plexus: kubelet's PodResources socket (device-plugin devices; the checkpoint only when absent).
	podResourcesSocket: z.string().min(1).optional(),
	// Plexus: built-in delegate types to leave to the binary of that name on CNI_PATH.
	disableBuiltins: StringList.optional(),
});

/** Every key a Plexus conf may carry (the schema's, so a new key is never missed elsewhere). */
export const PLEXUS_CONF_KEYS: readonly string[] = Object.keys(PlexusConfSchema.shape);

/** A validated Plexus conf with Multus' defaults applied. `raw` is the untouched stdin object. */
export interface PlexusConf {
	cniVersion: string;
	name: string;
	type: string;
	capabilities: Readonly<Record<string, boolean>>;
	runtimeConfig: Readonly<Record<string, unknown>>;
	prevResult: Readonly<Record<string, unknown>> | undefined;
	kubeconfig: string;
	confDir: string;
	cniDir: string;
	binDir: string;
	clusterNetwork: string | undefined;
	defaultNetworks: readonly string[];
	delegates: readonly Readonly<Record<string, unknown>>[];
	systemNamespaces: readonly string[];
	multusNamespace: string;
	namespaceIsolation: boolean;
	/** The parsed `globalNamespaces` list (the implied `default` when the key is absent). */
	globalNamespaces: readonly string[];
	readinessIndicatorFile: string;
	logFile: string | undefined;
	logLevel: LogLevel | undefined;
	logToStderr: boolean | undefined;
	retryDeleteOnError: boolean;
	auxiliaryCNIChainName: string | undefined;
	apiTimeoutMs: number | undefined;
	/** Kill a delegate binary after this long (its run fails with code 11); undefined: no limit. */
	delegateTimeoutMs: number | undefined;
	disableBuiltins: readonly string[];
	deviceInfoDir: string;
	deviceCheckpointFile: string;
	devicePluginInfoDir: string;
	podResourcesSocket: string;
	validAttachments: readonly {containerID: string; ifname: string}[] | undefined;
	raw: Readonly<Record<string, unknown>>;
}

function invalid(msg: string, details?: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, msg, details === undefined ? {} : {details});
}

/**
 * The keys that name a file or directory. Each must be absolute: a relative one would resolve
 * against the working directory of whatever runs Plexus (kubelet, the runtime, the daemon), which
 * nobody chose (issue 12). '' keeps its meaning where it has one (no kubeconfig, no readiness file,
 * no log file) and is refused elsewhere by the schema.
 */
export const PATH_KEYS = [
	'confDir',
	'cniDir',
	'binDir',
	'kubeconfig',
	'readinessindicatorfile',
	'logFile',
	'daemonSocketDir',
	'deviceInfoDir',
	'deviceCheckpointFile',
	'devicePluginInfoDir',
	'podResourcesSocket',
] as const;

/**
 * Refuses a path key that is relative or holds a NUL byte (code 7 naming the key and the value).
 * `clusterNetwork` is a path only when it starts with "/" (else a network name), so it has no rule.
 */
export function checkPathKeys(conf: {readonly [K in (typeof PATH_KEYS)[number]]?: string | undefined}): void {
	for (const key of PATH_KEYS) {
		const value = conf[key];
		if (value === undefined || value === '') continue;
		if (value.includes('\0')) {
			throw invalid(`invalid plexus config: key "${key}": ${JSON.stringify(value)} contains a NUL byte`);
		}
		if (!value.startsWith('/')) {
			throw invalid(
				`invalid plexus config: key "${key}": ${JSON.stringify(value)} is a relative path; it must be absolute`,
			);
		}
	}
}

/** The conf through its schema: the typed keys, or the first problem as a code 7 error. */
function parseSchema(raw: Record<string, unknown>): z.infer<typeof PlexusConfSchema> {
	// Runtimes may add reverse-DNS keys of their own; only plain keys are Plexus' namespace.
	const plain = Object.fromEntries(
		Object.entries(raw).filter(([key]) => !/[./]/.test(key) || key.startsWith('cni.dev/')),
	);
	const parsed = PlexusConfSchema.safeParse(plain);
	if (!parsed.success) {
		const first = parsed.error.issues[0];
		if (first?.code === 'unrecognized_keys') {
			const keys = first.keys.map((k) => `"${k}"`).join(', ');
			throw invalid(
				`invalid plexus config: unknown key ${keys}`,
				'plexus accepts the Multus conf keys (see README "Plexus conf")',
			);
		}
		const path = first?.path.join('.') ?? '';
		throw invalid(`invalid plexus config: key "${path}": ${first?.message ?? 'invalid value'}`);
	}
	return parsed.data;
}

/** The rules across keys the schema cannot say; returns the conf's log level. */
function checkKeys(conf: z.infer<typeof PlexusConfSchema>): LogLevel | undefined {
	checkPathKeys(conf);
	if (conf.clusterNetwork !== undefined && conf.delegates !== undefined && conf.delegates.length > 0) {
		throw invalid(
			'invalid plexus config: keys "clusterNetwork" and "delegates" contradict: both name the cluster network, set one',
		);
	}
	if (conf.clusterNetwork === undefined && (conf.delegates === undefined || conf.delegates.length === 0)) {
		throw invalid(
			'invalid plexus config: key "clusterNetwork" or "delegates" is required to name the cluster network',
		);
	}
	let logLevel: LogLevel | undefined;
	if (conf.logLevel !== undefined && conf.logLevel !== '') {
		logLevel = MULTUS_LOG_LEVELS[conf.logLevel.toLowerCase()];
		if (logLevel === undefined) {
			throw invalid(
				`invalid plexus config: key "logLevel": unknown level "${conf.logLevel}", expected one of ${Object.keys(MULTUS_LOG_LEVELS).join(', ')}`,
			);
		}
	}
	if (conf.auxiliaryCNIChainName !== undefined && conf.auxiliaryCNIChainName !== '') {
		// Multus reads the auxiliary chain from <dir of clusterNetwork>/<name>/, so it needs a path.
		if (conf.clusterNetwork === undefined || !conf.clusterNetwork.startsWith('/')) {
			throw invalid(
				'invalid plexus config: key "auxiliaryCNIChainName" needs "clusterNetwork" to be a file path (the chain is read from <dir of clusterNetwork>/<name>/)',
			);
		}
		if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(conf.auxiliaryCNIChainName)) {
			throw invalid(
				`invalid plexus config: key "auxiliaryCNIChainName": "${conf.auxiliaryCNIChainName}" is not a valid network name`,
			);
		}
	}
	// A misspelt type would silently keep the built-in: say so instead.
	const builtins: readonly string[] = [...BUILTIN_TYPES, PASSTHRU_TYPE];
	const unknownBuiltin = conf.disableBuiltins?.find((t) => !builtins.includes(t));
	if (unknownBuiltin !== undefined) {
		throw invalid(
			`invalid plexus config: key "disableBuiltins": "${unknownBuiltin}" is not a built-in delegate, expected one of ${builtins.join(', ')}`,
		);
	}
	return logLevel;
}

/**
 * Validates a Plexus conf object (already JSON-decoded).
 *
 * @throws CniError code 7 naming the unknown key, the key of the wrong type, a relative path, or the
 * contradiction.
 * @example
 * parsePlexusConf({cniVersion: '1.0.0', name: 'plexus', type: 'plexus', clusterNetwork: 'cbr0'});
 */
export function parsePlexusConf(raw: Record<string, unknown>): PlexusConf {
	const conf = parseSchema(raw);
	const logLevel = checkKeys(conf);
	const globalNamespaces =
		conf.globalNamespaces === undefined
			? [DEFAULT_GLOBAL_NAMESPACE]
			: conf.globalNamespaces
					.split(',')
					.map((ns) => ns.trim())
					.filter((ns) => ns !== '');
	const valid = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'];
	return {
		cniVersion: conf.cniVersion,
		name: conf.name ?? 'plexus-cni-network',
		type: conf.type,
		capabilities: conf.capabilities ?? {},
		runtimeConfig: conf.runtimeConfig ?? {},
		prevResult: conf.prevResult,
		kubeconfig: conf.kubeconfig ?? '',
		confDir: conf.confDir ?? DEFAULT_CONF_DIR,
		cniDir: conf.cniDir ?? DEFAULT_CNI_DIR,
		binDir: conf.binDir ?? DEFAULT_BIN_DIR,
		clusterNetwork: conf.clusterNetwork,
		defaultNetworks: conf.defaultNetworks ?? [],
		delegates: conf.delegates ?? [],
		systemNamespaces: conf.systemNamespaces ?? DEFAULT_SYSTEM_NAMESPACES,
		multusNamespace: conf.multusNamespace ?? DEFAULT_MULTUS_NAMESPACE,
		namespaceIsolation: conf.namespaceIsolation ?? false,
		globalNamespaces,
		readinessIndicatorFile: conf.readinessindicatorfile ?? '',
		logFile: conf.logFile === '' ? undefined : conf.logFile,
		logLevel,
		logToStderr: conf.logToStderr,
		retryDeleteOnError: conf.retryDeleteOnError ?? false,
		auxiliaryCNIChainName: conf.auxiliaryCNIChainName === '' ? undefined : conf.auxiliaryCNIChainName,
		apiTimeoutMs: conf.apiTimeoutMs,
		delegateTimeoutMs: conf.delegateTimeoutMs,
		disableBuiltins: conf.disableBuiltins ?? [],
		deviceInfoDir: conf.deviceInfoDir ?? DEFAULT_DEVICE_INFO_DIR,
		deviceCheckpointFile: conf.deviceCheckpointFile ?? DEFAULT_DEVICE_CHECKPOINT,
		devicePluginInfoDir: conf.devicePluginInfoDir ?? DEFAULT_DP_DEVICE_INFO_DIR,
		podResourcesSocket: conf.podResourcesSocket ?? DEFAULT_POD_RESOURCES_SOCKET,
		validAttachments: valid?.map((a) => ({containerID: a.containerID, ifname: a.ifname})),
		raw,
	};
}

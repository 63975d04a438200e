/**
 * The Plexus conf keys an operator sets at install time, from a JSON file (the ConfigMap
 * conf/deploy/configmap.yaml, mounted into the init container) and from flags, one per Multus key
 * Plexus honours. Flags win over the file; both win over what a Multus takeover carried over.
 * The result is checked by the conf parser the plugin itself uses, so a bad key fails the install
 * (naming it), not every pod afterwards.
 */
import {readFile} from 'node:fs/promises';
import {CniError, CniErrorCode} from '../cni/errors.ts';

type Kind = 'string' | 'boolean' | 'list' | 'integer';

/** Each flag and the conf key it sets. */
export const CONF_FLAGS: Readonly<Record<string, {key: string; kind: Kind}>> = {
	kubeconfig: {key: 'kubeconfig', kind: 'string'},
	'cluster-network': {key: 'clusterNetwork', kind: 'string'},
	'default-networks': {key: 'defaultNetworks', kind: 'list'},
	'system-namespaces': {key: 'systemNamespaces', kind: 'list'},
	'multus-namespace': {key: 'multusNamespace', kind: 'string'},
	'namespace-isolation': {key: 'namespaceIsolation', kind: 'boolean'},
	'global-namespaces': {key: 'globalNamespaces', kind: 'string'},
	'readiness-indicator-file': {key: 'readinessindicatorfile', kind: 'string'},
	'cni-dir': {key: 'cniDir', kind: 'string'},
	'plugin-bin-dir': {key: 'binDir', kind: 'string'},
	'log-file': {key: 'logFile', kind: 'string'},
	'log-level': {key: 'logLevel', kind: 'string'},
	'log-to-stderr': {key: 'logToStderr', kind: 'boolean'},
	'auxiliary-cni-chain-name': {key: 'auxiliaryCNIChainName', kind: 'string'},
	'api-timeout-ms': {key: 'apiTimeoutMs', kind: 'integer'},
};

/** The parseArgs option table of CONF_FLAGS (every flag takes a string). */
export const CONF_FLAG_OPTIONS = Object.fromEntries(
	Object.keys(CONF_FLAGS).map((flag) => [flag, {type: 'string' as const}]),
);

function invalid(message: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, message);
}

/** One flag's value as its key's type. */
function convert(flag: string, kind: Kind, text: string): unknown {
	switch (kind) {
		case 'string':
			return text;
		case 'list':
			return text
				.split(',')
				.map((item) => item.trim())
				.filter((item) => item !== '');
		case 'boolean':
			if (text !== 'true' && text !== 'false')
				throw invalid(`expected --${flag} to be true or false, got "${text}"`);
			return text === 'true';
		case 'integer':
			if (!/^\d+$/.test(text)) throw invalid(`expected --${flag} to be a whole number, got "${text}"`);
			return Number(text);
	}
}

/** Reads the conf file (a JSON object of Plexus conf keys), naming it when it is not one. */
export async function readConfFile(path: string): Promise<Record<string, unknown>> {
	let value: unknown;
	try {
		value = JSON.parse(await readFile(path, 'utf8'));
	} catch (err) {
		throw invalid(`failed to read plexus conf file "${path}": ${(err as Error).message}`);
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw invalid(`failed to read plexus conf file "${path}": expected a JSON object of conf keys`);
	}
	for (const key of ['type', 'name', 'cniVersion', 'plugins']) {
		if (key in value) {
			throw invalid(
				`plexus conf file "${path}": key "${key}" is the conflist's own (set it with install's flags), not a setting`,
			);
		}
	}
	return value as Record<string, unknown>;
}

/** The conf keys of the parsed flags `values`, over those of `file` (when given). */
export async function confKeys(
	values: Readonly<Record<string, unknown>>,
	file: string | undefined,
): Promise<Record<string, unknown>> {
	const keys = file === undefined ? {} : await readConfFile(file);
	for (const [flag, {key, kind}] of Object.entries(CONF_FLAGS)) {
		const text = values[flag];
		if (typeof text === 'string') keys[key] = convert(flag, kind, text);
	}
	return keys;
}

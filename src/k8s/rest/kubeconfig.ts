/**
 * Where the API server is and how to authenticate to it: a kubeconfig file (its current context)
 * or the in-cluster service-account files, reduced to what an HTTPS request needs.
 *
 * Read here instead of through @kubernetes/client-node's KubeConfig: importing client-node costs
 * ~0.63-0.78 s per process on the 2-core bench machine (`node -e "import('@kubernetes/client-node')"`
 * 0.78 s vs `node -e 0` 0.07 s), which a one-shot ADD or DEL paid on every call. A JSON kubeconfig
 * is parsed by JSON.parse, the YAML kubeconfigs are usually written in by ./kubeconfig-yaml.ts;
 * only other YAML loads the `yaml` package (~0.13 s of CPU).
 * Keys honoured as client-go does: `server`, `certificate-authority(-data)`,
 * `insecure-skip-tls-verify`, `tls-server-name`, `client-certificate(-data)`, `client-key(-data)`,
 * `token`, `tokenFile`, `username`/`password`; relative file paths resolve against the
 * kubeconfig's directory. Exec and auth-provider plugins are refused by name.
 * @see https://kubernetes.io/docs/reference/config-api/kubeconfig.v1/
 */
import {readFileSync} from 'node:fs';
import {dirname, isAbsolute, join} from 'node:path';
import {readFile} from '../../fs/promises.ts';
import {parseKubeconfigYaml} from './kubeconfig-yaml.ts';

/** The service-account directory kubelet mounts into every pod. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** What a request to the API server needs, resolved from a kubeconfig or the in-cluster files. */
export interface ClusterAccess {
	/** `https://host:port` or `http://…` (plain HTTP, allowed as client-go allows it). */
	server: URL;
	/** PEM of the CA to trust; undefined: the system's trust store. */
	ca: Buffer | undefined;
	/** `insecure-skip-tls-verify`: no certificate check at all. */
	insecure: boolean;
	/** `tls-server-name`: the name the server certificate is checked against. */
	serverName: string | undefined;
	cert: Buffer | undefined;
	key: Buffer | undefined;
	/** A static bearer token. */
	token: string | undefined;
	/** A file holding the bearer token, re-read as it rotates (bound service-account tokens). */
	tokenFile: string | undefined;
	/** `username:password` for basic auth. */
	basic: string | undefined;
	/** Where it came from, for messages: the kubeconfig path or "in-cluster". */
	source: string;
}

type Dict = Record<string, unknown>;

/** A kubeconfig or in-cluster configuration that cannot be used. */
export class KubeconfigError extends Error {
	override name = 'KubeconfigError' as const;
}

function dict(value: unknown): Dict {
	return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Dict) : {};
}

function str(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The entry called `name` of a kubeconfig list (`clusters`, `users`, `contexts`). */
function named(list: unknown, name: string | undefined, key: string, what: string): Dict {
	if (name === undefined) return {};
	const found = (Array.isArray(list) ? list : []).map(dict).find((entry) => entry['name'] === name);
	if (found === undefined) throw new KubeconfigError(`${what} "${name}" is not in the kubeconfig`);
	return dict(found[key]);
}

/**
 * Parses kubeconfig text: JSON directly, the usual YAML subset by ./kubeconfig-yaml.ts, other
 * YAML through the `yaml` package (loaded only then).
 */
async function parseText(text: string): Promise<unknown> {
	if (text.trimStart().startsWith('{')) {
		try {
			return JSON.parse(text);
		} catch {
			// YAML flow syntax is not always JSON; let the YAML parser decide
		}
	}
	const subset = parseKubeconfigYaml(text);
	if (subset !== undefined) return subset;
	const {parse} = await import('yaml');
	return parse(text);
}

/** Reads `inline` base64 data or the file `path` (relative to `base`), else undefined. */
function material(inline: unknown, path: unknown, base: string): Buffer | undefined {
	const data = str(inline);
	if (data !== undefined) return Buffer.from(data, 'base64');
	const file = str(path);
	if (file === undefined) return undefined;
	return readFileSync(isAbsolute(file) ? file : join(base, file));
}

/** The current context of the kubeconfig at `path`, resolved to a `ClusterAccess`. */
export async function loadKubeconfig(path: string): Promise<ClusterAccess> {
	const doc = dict(await parseText(await readFile(path, 'utf8')));
	const contextName = str(doc['current-context']);
	if (contextName === undefined) throw new KubeconfigError('no current-context');
	const context = named(doc['contexts'], contextName, 'context', 'context');
	const cluster = named(doc['clusters'], str(context['cluster']) ?? '', 'cluster', 'cluster');
	const user = named(doc['users'], str(context['user']), 'user', 'user');
	const server = str(cluster['server']);
	if (server === undefined)
		throw new KubeconfigError(`cluster "${String(context['cluster'])}" has no server`);
	if (user['exec'] !== undefined || user['auth-provider'] !== undefined) {
		throw new KubeconfigError(
			'exec and auth-provider credentials are not supported; use a token or a client certificate',
		);
	}
	const base = dirname(path);
	const username = str(user['username']);
	return {
		server: new URL(server),
		ca: material(cluster['certificate-authority-data'], cluster['certificate-authority'], base),
		insecure: cluster['insecure-skip-tls-verify'] === true,
		serverName: str(cluster['tls-server-name']),
		cert: material(user['client-certificate-data'], user['client-certificate'], base),
		key: material(user['client-key-data'], user['client-key'], base),
		token: str(user['token']),
		tokenFile: ((file) => (file === undefined || isAbsolute(file) ? file : join(base, file)))(
			str(user['tokenFile']),
		),
		basic: username === undefined ? undefined : `${username}:${str(user['password']) ?? ''}`,
		source: path,
	};
}

/** The in-cluster configuration (KUBERNETES_SERVICE_HOST/PORT and the service-account files). */
export function inClusterAccess(
	env: Readonly<Record<string, string | undefined>>,
	dir = SERVICE_ACCOUNT_DIR,
): ClusterAccess {
	const host = env['KUBERNETES_SERVICE_HOST'] ?? '';
	const port = env['KUBERNETES_SERVICE_PORT'] ?? '';
	if (host === '' || port === '') {
		throw new KubeconfigError('KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set');
	}
	return {
		server: new URL(`https://${host.includes(':') ? `[${host}]` : host}:${port}`),
		ca: readFileSync(join(dir, 'ca.crt')),
		insecure: false,
		serverName: undefined,
		cert: undefined,
		key: undefined,
		token: undefined,
		tokenFile: join(dir, 'token'),
		basic: undefined,
		source: 'in-cluster',
	};
}

/**
 * How Plexus talks to the API server for one request: the kubeconfig (or in-cluster config) and
 * the bounds of a call. The one-shot meta-plugin (src/meta/deps.ts), the daemon's shared clients
 * (src/daemon/meta.ts) and `plexus doctor` build their clients from this function, so ADD and DEL
 * are bounded the same way everywhere.
 */
import {hasKubeConfig, type KubeClientOptions} from './client.ts';

/** The bound of one API call during DEL, retries included: DEL must not stall a pod's removal. */
export const DEL_API_TIMEOUT_MS = 2000;
/** No single HTTP request waits longer than this, so a call of a longer bound can retry. */
export const MAX_REQUEST_TIMEOUT_MS = 2000;

/** The API access a Plexus conf (or `plexus doctor`) configures. */
export interface KubeAccess {
	/** A kubeconfig path; '' for the in-cluster config. */
	readonly kubeconfig: string;
	/** The conf's `apiTimeoutMs`: the bound of one call (undefined: the client's default). */
	readonly apiTimeoutMs?: number | undefined;
}

/**
 * The client options for `access` and `verb`, or undefined when no API server is configured
 * (no kubeconfig and no in-cluster variables in `env`). DEL is bounded to DEL_API_TIMEOUT_MS even
 * when the conf allows more; each request to MAX_REQUEST_TIMEOUT_MS.
 *
 * @example
 * const options = kubeClientOptions(conf, env, 'DEL');
 * const kube = options === undefined ? undefined : new NodeKubeClient(options);
 */
export function kubeClientOptions(
	access: KubeAccess,
	env: Readonly<Record<string, string | undefined>>,
	verb: 'ADD' | 'DEL',
): KubeClientOptions | undefined {
	if (!hasKubeConfig(access.kubeconfig, env)) return undefined;
	const callTimeoutMs =
		verb === 'DEL'
			? Math.min(access.apiTimeoutMs ?? DEL_API_TIMEOUT_MS, DEL_API_TIMEOUT_MS)
			: access.apiTimeoutMs;
	return {
		kubeconfig: access.kubeconfig,
		...(callTimeoutMs === undefined
			? {}
			: {callTimeoutMs, requestTimeoutMs: Math.min(callTimeoutMs, MAX_REQUEST_TIMEOUT_MS)}),
	};
}

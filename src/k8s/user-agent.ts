/**
 * `User-Agent: plexus/<version> (<mode>)` on every Kubernetes API call, so API server audit logs
 * and priority-and-fairness rules can tell Plexus apart. client-node sends its own agent
 * (`kubernetes-client-javascript/…`, or undici's `undici` on watches) unless told otherwise: API
 * clients get it from a middleware run after authentication, watches from the KubeConfig's
 * authentication step, so both are covered here.
 */
import type * as ClientNode from '@kubernetes/client-node';
import {userAgent} from '../version/version.ts';

type K8s = typeof ClientNode;

/** A client-node middleware that sets Plexus's User-Agent on the request. */
export function userAgentMiddleware(k8s: K8s): ClientNode.ObservableMiddleware {
	return {
		pre: (context) => {
			context.setHeaderParam('User-Agent', userAgent());
			return new k8s.Observable(Promise.resolve(context));
		},
		post: (context) => new k8s.Observable(Promise.resolve(context)),
	};
}

/**
 * Makes every request `kc` authenticates (watches included: client-node's Watch asks the
 * KubeConfig to authenticate, then sends exactly those headers) carry Plexus's User-Agent.
 */
export function withUserAgent(kc: ClientNode.KubeConfig): ClientNode.KubeConfig {
	const authenticate = kc.applySecurityAuthentication.bind(kc);
	kc.applySecurityAuthentication = async (context) => {
		await authenticate(context);
		context.setHeaderParam('User-Agent', userAgent());
	};
	return kc;
}

/**
 * `kubeconfig` loaded into a client-node KubeConfig: the file at that path, or the in-cluster
 * config (service account token and KUBERNETES_SERVICE_HOST/PORT) when it is ''.
 */
export function loadKubeConfig(k8s: K8s, kubeconfig: string): ClientNode.KubeConfig {
	const kc = new k8s.KubeConfig();
	if (kubeconfig === '') kc.loadFromCluster();
	else kc.loadFromFile(kubeconfig);
	return kc;
}

/** `new Api(config)` for `kc`'s current cluster with Plexus's User-Agent (client-node's makeApiClient sets its own). */
export function makeApiClient<T>(
	k8s: K8s,
	kc: ClientNode.KubeConfig,
	Api: new (config: ClientNode.Configuration) => T,
	middleware: ClientNode.ObservableMiddleware[] = [],
): T {
	const cluster = kc.getCurrentCluster();
	if (cluster === null) throw new Error('no current cluster in the kubeconfig');
	return new Api(
		k8s.createConfiguration({
			baseServer: new k8s.ServerConfiguration(cluster.server, {}),
			authMethods: {default: withUserAgent(kc)},
			middleware: [...middleware, userAgentMiddleware(k8s)],
		}),
	);
}

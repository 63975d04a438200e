/**
 * Taking over a thick Multus: its daemon config names host files as its own pod sees them, under
 * `/host` (`clusterNetwork: /host/etc/cni/net.d/10-flannel.conflist`) or under its `chrootDir`
 * (`/hostroot/...`). Plexus's pod mounts the host directories it needs at their host paths, and
 * reads the readiness file and delegate binaries in the host's root (--chroot-dir), so such a path
 * is rewritten to the host path when Plexus's daemon sees it there, and refused otherwise, naming
 * the key: a conf pointing at a file the daemon cannot see would fail every pod.
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';

/** Conf keys whose value is a file or directory the daemon opens. */
export const PATH_KEYS = [
	'kubeconfig',
	'confDir',
	'cniDir',
	'binDir',
	'clusterNetwork',
	'readinessindicatorfile',
	'logFile',
	'deviceInfoDir',
	'deviceCheckpointFile',
	'devicePluginInfoDir',
	'podResourcesSocket',
] as const;

/**
 * Keys the daemon resolves in the host's root (`plexus daemon --chroot-dir`, which the DaemonSet
 * sets): the readiness file and the delegate binaries. Any host path works for them.
 */
export const HOST_ROOT_KEYS: readonly string[] = ['readinessindicatorfile', 'binDir'];

/** Host directories conf/deploy/daemonset.yaml mounts into Plexus's pod at the same path. */
export const MOUNTED_HOST_DIRS = [
	'/etc/cni/net.d',
	'/opt/cni/bin',
	'/var/lib/cni',
	'/run/plexus',
	'/run/netns',
	'/var/run/netns',
	'/var/lib/kubelet/device-plugins',
	'/var/lib/kubelet/pod-resources',
	'/run/k8s.cni.cncf.io',
	'/var/run/k8s.cni.cncf.io',
] as const;

/** Multus's thick DaemonSet mounts host directories under this prefix. */
export const MULTUS_HOST_PREFIX = '/host';

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/** One rewritten key, for install's report. */
export interface MappedPath {
	key: string;
	from: string;
	to: string;
}

/**
 * `settings` with every `/host/…` or `<chrootDir>/…` path rewritten to the host path Plexus's pod
 * sees; throws a code-7 CniError naming the key (and `source`) when Plexus's pod does not mount it.
 */
export function mapHostPaths(
	settings: Readonly<Record<string, unknown>>,
	source: string,
	chrootDir: string | undefined,
): {settings: Record<string, unknown>; mapped: MappedPath[]} {
	const prefixes = [chrootDir, MULTUS_HOST_PREFIX]
		.filter((p): p is string => typeof p === 'string' && p !== '' && p !== '/')
		.map((p) => p.replace(/\/+$/, ''));
	const out: Record<string, unknown> = {...settings};
	const mapped: MappedPath[] = [];
	for (const key of PATH_KEYS) {
		const value = settings[key];
		if (typeof value !== 'string' || !value.startsWith('/')) continue;
		const prefix = prefixes.find((p) => under(value, p));
		if (prefix === undefined) continue;
		const host = value.slice(prefix.length) || '/';
		if (!HOST_ROOT_KEYS.includes(key) && !MOUNTED_HOST_DIRS.some((dir) => under(host, dir))) {
			throw new CniError(
				CniErrorCode.invalidConfig,
				`failed to take over multus conf "${source}": key "${key}" is "${value}", the host's "${host}" as Multus's pod sees it, and Plexus's pod does not mount it (it mounts ${MOUNTED_HOST_DIRS.join(', ')}): set "${key}" to a path under those (plexus install flag or the plexus-conf ConfigMap)`,
			);
		}
		out[key] = host;
		mapped.push({key, from: value, to: host});
	}
	return {settings: out, mapped};
}

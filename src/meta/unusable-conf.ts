/**
 * DEL when the Plexus conf on stdin cannot be used (a bad key, a relative path, a contradiction).
 * ADD refuses such a conf before anything runs, so a container DELed with it has nothing Plexus
 * ran, unless the conf was broken after the pod was added: then its cache still says what ran.
 * The cache is looked for in the conf's `cniDir` when that key alone is usable, else in the
 * default; with no Plexus or Multus-era cache there, DEL succeeds (a warning says why), so a bad
 * conf never leaves a pod Terminating forever. With one, the conf error stands: undoing needs it.
 */
import type {CniError} from '../cni/errors.ts';
import type {PluginRequest} from '../cni/plugin.ts';
import {log} from '../log.ts';
import {MultusCache} from '../multus/multus-cache.ts';
import {PlexusCache} from './cache.ts';
import {DEFAULT_CNI_DIR} from './conf/conf.ts';

/** The conf's `cniDir` when it is an absolute path without NUL, else the default. */
function cniDirOf(config: Record<string, unknown>): string {
	const dir = config['cniDir'];
	return typeof dir === 'string' && dir.startsWith('/') && !dir.includes('\0') ? dir : DEFAULT_CNI_DIR;
}

/**
 * DEL of `request` whose conf failed to parse with `confError`: resolves when no cache records
 * anything for the container (nothing to undo), throws `confError` otherwise.
 */
export async function delWithUnusableConf(request: PluginRequest, confError: CniError): Promise<void> {
	const cniDir = cniDirOf(request.config);
	const plexus = new PlexusCache(cniDir);
	const read = await plexus.read(request.containerId, request.ifname);
	const multus = await new MultusCache(cniDir).read(request.containerId).catch(() => ({}));
	if (read.state !== 'missing' || multus !== undefined) throw confError;
	log(
		'warning',
		'DEL with an unusable plexus conf, but nothing was added for this container: nothing to undo',
		{
			containerId: request.containerId,
			ifname: request.ifname,
			cniDir,
			error: confError.message,
		},
	);
}

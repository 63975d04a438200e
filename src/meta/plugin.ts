/**
 * The `plexus` meta-plugin: the primary CNI plugin kubelet's runtime calls for every pod. This
 * file is only the wiring: the production ports (./ports.ts), one Invocation per request
 * (./invocation.ts), and the per-container serialisation (spec v1.3 §7.3). The verbs themselves
 * are named steps in ./steps/: ADD resolves, persists, runs each attachment, moves the default
 * route, and publishes network-status; DEL replays the persisted configs, offline; CHECK, STATUS
 * and GC cover every attachment, not only the cluster network (reference §1.11). Each verb imports
 * its own step on first use, so a one-shot STATUS or DEL does not load ADD's (Kubernetes writes,
 * devices, network-status).
 */
import {toCniError} from '../cni/errors.ts';
import type {CniPlugin} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';
import type {PlexusDeps} from './deps.ts';
import {Invocation} from './invocation.ts';
import {delRequest} from './netns-guard.ts';
import {portsFrom} from './ports.ts';
import {PerKeySerializer} from './serial.ts';

export type {PlexusDeps} from './deps.ts';

/** Creates the meta-plugin. */
export function createPlexusPlugin(deps: PlexusDeps = {}): CniPlugin {
	// ADD, DEL, CHECK and GC's DEL of one container never overlap (spec v1.3 §7.3), e.g. in the daemon.
	const serial = new PerKeySerializer();
	const ports = portsFrom(deps);
	return {
		type: 'plexus',
		supportedVersions: SUPPORTED_VERSIONS,
		add: async (request) =>
			serial.run(request.containerId, async () => {
				const [inv, {addPod, clusterResult}] = await Promise.all([
					Invocation.open(request, ports),
					import('./steps/add.ts'),
				]);
				return clusterResult(inv, await addPod(inv, ports));
			}),
		del: async (request) =>
			serial.run(request.containerId, async () => {
				const req = delRequest(request, ports.probeNetns);
				let inv: Invocation;
				try {
					inv = await Invocation.open(req, ports);
				} catch (error) {
					return (await import('./unusable-conf.ts')).delWithUnusableConf(req, toCniError(error));
				}
				return (await import('./steps/del.ts')).delPod(inv, ports);
			}),
		check: async (request) =>
			serial.run(request.containerId, async () => {
				const {checkPod} = await import('./steps/check.ts');
				return checkPod(await Invocation.open(request, ports), ports);
			}),
		status: async (request) => {
			const {statusOf} = await import('./steps/status.ts');
			return statusOf(await Invocation.open(request, ports), ports);
		},
		gc: async (request) => {
			const {gcPods} = await import('./steps/gc.ts');
			return gcPods(await Invocation.open(request, ports), ports, (id, fn) => serial.run(id, fn));
		},
	} satisfies CniPlugin;
}

/**
 * The Plexus conf checked exactly as the meta-plugin's ADD checks it, before dry-run changes any
 * of its keys (dry-run logs to stderr, so it overrides logFile/logLevel/logToStderr afterwards):
 * the plugin entry point (Go skel's checks: JSON, network name, cniVersion supported), then the
 * conf parser ADD opens its invocation with, then (when dry-run runs on the node, --check-host)
 * the readiness indicator file ADD waits for. The error is ADD's own, message and code.
 */
import {dispatch} from '../../cni/dispatch.ts';
import type {CniError} from '../../cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../../cni/versions.ts';
import {DEFAULT_BIN_DIR, parsePlexusConf} from '../../meta/conf/conf.ts';
import {waitReadiness} from '../../meta/deps.ts';

/** What the runtime's ADD invocation carries besides the conf (CNI_* values). */
export interface ConfCheckRequest {
	containerId: string;
	netns: string;
	ifname: string;
	args: string;
	path: readonly string[];
	/** The node's link names when dry-run runs on the node (--check-host): node files are checked too. */
	hostLinks?: ReadonlySet<string> | undefined;
}

/**
 * ADD's error for the conf the runtime would pass on stdin, or undefined when ADD accepts it.
 * Nothing runs: the stand-in plugin only parses the conf, as the meta-plugin's ADD does first.
 */
export async function checkPlexusConf(
	stdin: Uint8Array,
	request: ConfCheckRequest,
): Promise<CniError | undefined> {
	const parseOnly: CniPlugin = {
		type: 'plexus',
		supportedVersions: SUPPORTED_VERSIONS,
		add: async (r: PluginRequest) => {
			const conf = parsePlexusConf(r.config);
			// ADD waits for the file (45 s) and then fails with this message; dry-run does not wait.
			if (request.hostLinks !== undefined) await waitReadiness(conf.readinessIndicatorFile, 0, 0);
			return {};
		},
		del: async () => {},
		check: async () => {},
	};
	const env: Record<string, string> = {
		CNI_COMMAND: 'ADD',
		CNI_CONTAINERID: request.containerId,
		CNI_NETNS: request.netns,
		CNI_IFNAME: request.ifname,
		CNI_ARGS: request.args,
		// A runtime always sets CNI_PATH (skel requires it); dry-run may be given none.
		CNI_PATH: request.path.length > 0 ? request.path.join(':') : DEFAULT_BIN_DIR,
	};
	const outcome = await dispatch(parseOnly, {stdin, getenv: (name) => env[name], env});
	return outcome.ok ? undefined : outcome.error;
}

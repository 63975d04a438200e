/**
 * Builds a PluginRequest the way a runtime would invoke a plugin binary: the config serialised to
 * stdin bytes, the CNI_* variables in `env`. Used to call the built-ins in-process (tests, the
 * benchmark) without going through a process.
 */
import type {CniCommand, PluginRequest} from '../../src/cni/plugin.ts';

export interface RequestOptions {
	readonly netns?: string;
	readonly ifname?: string;
	readonly containerId?: string;
	readonly args?: string;
	readonly path?: readonly string[];
	readonly env?: Readonly<Record<string, string>>;
}

/** A request for `command` with `config` on stdin. */
export function pluginRequest(
	command: CniCommand,
	config: Record<string, unknown>,
	options: RequestOptions = {},
): PluginRequest {
	const stdin = Buffer.from(JSON.stringify(config), 'utf8');
	const netns = options.netns ?? '';
	const ifname = options.ifname ?? 'eth0';
	const containerId = options.containerId ?? 'plexus-test';
	const args = options.args ?? '';
	const path = options.path ?? [];
	return {
		command,
		containerId,
		netns,
		ifname,
		args,
		path,
		stdin,
		config: JSON.parse(stdin.toString('utf8')) as Record<string, unknown>,
		env: {
			...options.env,
			CNI_COMMAND: command,
			CNI_CONTAINERID: containerId,
			CNI_NETNS: netns,
			CNI_IFNAME: ifname,
			CNI_ARGS: args,
			CNI_PATH: path.join(':'),
		},
	};
}

/**
 * Builds a PluginRequest the way a runtime would invoke a plugin binary: the config serialised to
 * stdin bytes, the CNI_* variables in `env`, and calls a plugin's method for it. Used to call the
 * built-ins in-process (tests, the benchmark) without going through a process.
 */
import type {CniCommand, CniPlugin, PluginRequest} from '../../src/cni/plugin.ts';

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

/**
 * Calls the method of `plugin` for the request's command, directly (none of skel's version checks):
 * ADD's result, undefined for the other verbs (STATUS and GC only run when the plugin has them).
 */
export async function callPlugin(
	plugin: CniPlugin,
	request: PluginRequest,
): Promise<Record<string, unknown> | undefined> {
	switch (request.command) {
		case 'ADD':
			return plugin.add(request);
		case 'DEL':
			await plugin.del(request);
			return undefined;
		case 'CHECK':
			await plugin.check(request);
			return undefined;
		case 'STATUS':
			await plugin.status?.(request);
			return undefined;
		case 'GC':
			await plugin.gc?.(request);
			return undefined;
		case 'VERSION':
			throw new TypeError('VERSION is answered by the dispatcher, not by a plugin method');
	}
}

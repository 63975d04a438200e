/**
 * The plugin entry point without a process: given a CniPlugin and the invocation's environment and
 * stdin, run the verb and return what a plugin binary prints (Go pkg/skel's dispatcher). Pure:
 * no process.env, no stdout. src/cli/main.ts renders the outcome; the chain executor calls
 * in-process delegates through the same function, so both see identical semantics.
 */

import {type Getenv, parseCniEnv, validateNetworkName} from './env.ts';
import {CniError, CniErrorCode, toCniError} from './errors.ts';
import {decodeJsonObject, MAX_JSON_DEPTH} from './json.ts';
import type {CniPlugin, PluginRequest} from './plugin.ts';
import {compareVersions, DEFAULT_VERSION, sniffVersion, VERSION_SYNTAX, versionAtLeast} from './versions.ts';

export interface DispatchIo {
	getenv: Getenv;
	stdin: Uint8Array;
	/** The environment handed to the plugin as `request.env` (default: read through getenv for CNI_*). */
	env?: Readonly<Record<string, string>>;
	/**
	 * The deepest nesting the stdin config may have (code 7 beyond). Default MAX_JSON_DEPTH, for
	 * configs from a runtime; the chain executor passes the composed ceiling for in-process delegates.
	 */
	maxJsonDepth?: number;
}

/** What the invocation printed: stdout text (empty for verbs without output) or an error. */
export type DispatchOutcome = {ok: true; stdout: string} | {ok: false; error: CniError; cniVersion: string};

export {VERSION_SYNTAX} from './versions.ts';

/** Decodes the stdin config (code 6 on malformed JSON or a non-object, 7 when nested too deep). */
export function decodeConfig(stdin: Uint8Array, maxDepth: number = MAX_JSON_DEPTH): Record<string, unknown> {
	return decodeJsonObject(stdin, 'network config', maxDepth);
}

/** Go skel's validateConfig: every verb but VERSION needs a valid network `name` (code 7). */
function validateConfigName(config: Record<string, unknown>): void {
	const name = config['name'];
	if (name !== undefined && typeof name !== 'string') {
		throw new CniError(
			CniErrorCode.decodeFailure,
			'failed to decode network config: "name" must be a string',
		);
	}
	validateNetworkName(name ?? '');
}

/** The newest version a plugin supports (what VERSION reports as its own cniVersion). */
function newest(versions: readonly string[]): string {
	return [...versions].sort(compareVersions).at(-1) ?? DEFAULT_VERSION;
}

/** Refuses a config version the plugin does not support, or a verb the version lacks (code 1). */
function checkVersion(plugin: CniPlugin, command: string, version: string): void {
	if (!plugin.supportedVersions.includes(version)) {
		throw new CniError(CniErrorCode.incompatibleVersion, 'incompatible CNI versions', {
			details: `config is "${version}", plugin supports [${plugin.supportedVersions.join(' ')}]`,
		});
	}
	const since: Record<string, string> = {CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0'};
	const minimum = since[command];
	if (minimum !== undefined && !versionAtLeast(version, minimum)) {
		throw new CniError(
			CniErrorCode.incompatibleVersion,
			`config version "${version}" does not allow ${command} (needs ${minimum} or later)`,
		);
	}
}

/** Runs one verb of `plugin`. Never throws: every failure becomes the error outcome. */
export async function dispatch(plugin: CniPlugin, io: DispatchIo): Promise<DispatchOutcome> {
	const maxDepth = io.maxJsonDepth ?? MAX_JSON_DEPTH;
	let cniVersion = sniffVersion(io.stdin, maxDepth) ?? newest(plugin.supportedVersions);
	try {
		const env = parseCniEnv(io.getenv);
		if (env.command === 'VERSION') {
			const reply = {
				cniVersion: newest(plugin.supportedVersions),
				supportedVersions: [...plugin.supportedVersions],
			};
			return {ok: true, stdout: JSON.stringify(reply)};
		}
		const config = decodeConfig(io.stdin, maxDepth);
		validateConfigName(config);
		const declared = config['cniVersion'];
		if (declared !== undefined && typeof declared !== 'string') {
			throw new CniError(
				CniErrorCode.decodeFailure,
				'failed to decode network config: "cniVersion" must be a string',
			);
		}
		const version = declared === undefined || declared === '' ? DEFAULT_VERSION : declared;
		if (VERSION_SYNTAX.test(version)) cniVersion = version;
		checkVersion(plugin, env.command, version);
		const request: PluginRequest = {
			command: env.command,
			containerId: env.containerId,
			netns: env.netns,
			ifname: env.ifname,
			args: env.args,
			path: env.path,
			stdin: io.stdin,
			config,
			env: io.env ?? envFromGetenv(io.getenv),
		};
		switch (env.command) {
			case 'ADD':
				return {ok: true, stdout: JSON.stringify(await plugin.add(request))};
			case 'DEL':
				await plugin.del(request);
				break;
			case 'CHECK':
				await plugin.check(request);
				break;
			case 'STATUS':
				await plugin.status?.(request);
				break;
			case 'GC':
				await plugin.gc?.(request);
				break;
		}
		return {ok: true, stdout: ''};
	} catch (err) {
		return {ok: false, error: toCniError(err), cniVersion};
	}
}

/** The CNI_* part of an environment read through getenv (used when no full env is given). */
function envFromGetenv(getenv: Getenv): Record<string, string> {
	const env: Record<string, string> = {};
	for (const name of ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH']) {
		const value = getenv(name);
		if (value !== undefined) env[name] = value;
	}
	return env;
}

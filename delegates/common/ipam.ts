/**
 * Delegated IPAM (libcni pkg/ipam ExecAdd/ExecDel/ExecCheck/ExecStatus): run the `ipam.type` binary
 * from CNI_PATH with the delegate's own stdin and environment, through the chain's PluginExec seam.
 */
import type {PluginExec} from '../../src/chain/plugin-exec.ts';
import {decodeJson} from '../../src/cni/json.ts';
import type {CniCommand, PluginRequest} from '../../src/cni/plugin.ts';
import {convertResult, parseResult} from '../../src/cni/result.ts';
import {CURRENT_VERSION} from '../../src/cni/versions.ts';
import type {Result} from './cni.ts';

/** The environment an IPAM plugin sees: the caller's, with the CNI_* variables of this request. */
export function ipamEnv(request: PluginRequest, command: CniCommand): Record<string, string> {
	return {
		...request.env,
		CNI_COMMAND: command,
		CNI_CONTAINERID: request.containerId,
		CNI_NETNS: request.netns,
		CNI_IFNAME: request.ifname,
		CNI_ARGS: request.args,
		CNI_PATH: request.path.join(':'),
	};
}

/** Runs `ipamType` for `command` with the request's exact stdin; resolves its stdout text. */
async function run(
	exec: PluginExec,
	ipamType: string,
	request: PluginRequest,
	command: CniCommand,
): Promise<string> {
	const pluginPath = await exec.find(ipamType, request.path);
	const stdout = await exec.exec({pluginPath, stdin: request.stdin, env: ipamEnv(request, command)});
	return Buffer.from(stdout).toString('utf8');
}

/** IPAM ADD: the plugin's result, converted to the newest layout. */
export async function ipamAdd(
	exec: PluginExec,
	ipamType: string,
	request: PluginRequest,
	cniVersion: string,
): Promise<Result> {
	const text = await run(exec, ipamType, request, 'ADD');
	const raw = decodeJson(text, `result of IPAM plugin "${ipamType}"`);
	return convertResult(parseResult(raw, cniVersion), CURRENT_VERSION) as Result;
}

/** IPAM DEL / CHECK / STATUS / GC: resolves on success. */
export async function ipamExec(
	exec: PluginExec,
	ipamType: string,
	request: PluginRequest,
	command: 'DEL' | 'CHECK' | 'STATUS' | 'GC',
): Promise<void> {
	await run(exec, ipamType, request, command);
}

/**
 * The daemon's request body, in Multus's thick wire format (pkg/server/api `Request`):
 * `{"env": {CNI_COMMAND, CNI_CONTAINERID, …}, "config": "<base64 of the stdin config>",
 * "interfaceAttributes": {"ips": […], "mac": "…", "cni-args": {…}}}`. `config` is base64 because the
 * Go struct field is a []byte; `interfaceAttributes` only comes with POST /delegate.
 */

import {CNI_ENV_VARIABLES, splitPath} from '../cni/env.ts';
import {CniError, CniErrorCode} from '../cni/errors.ts';
import {checkJsonDepth, decodeJsonObject, isJsonObject} from '../cni/json.ts';

/** What the hot-plug controller asks for on POST /delegate (Multus `DelegateInterfaceAttributes`). */
export interface InterfaceAttributes {
	ips?: string[];
	mac?: string;
	cniArgs?: Record<string, unknown>;
}

/** A decoded request body. */
export interface ThickRequest {
	/** The shim's environment (all of it, as multus-shim and plexus-shim send it). */
	env: Record<string, string>;
	/** The exact stdin bytes the runtime gave the shim. */
	config: Uint8Array;
	interfaceAttributes?: InterfaceAttributes;
}

const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A decode failure (code 6) naming what was wrong. */
function bad(why: string): CniError {
	return new CniError(CniErrorCode.decodeFailure, `failed to decode daemon request: ${why}`);
}

/** Reads `interfaceAttributes`, checking each field's type. */
function parseAttributes(value: unknown): InterfaceAttributes {
	if (!isJsonObject(value)) throw bad('"interfaceAttributes" must be an object');
	const attributes: InterfaceAttributes = {};
	const ips = value['ips'];
	if (ips !== undefined && ips !== null) {
		if (!Array.isArray(ips) || !ips.every((ip) => typeof ip === 'string')) {
			throw bad('"interfaceAttributes.ips" must be an array of strings');
		}
		attributes.ips = ips;
	}
	const mac = value['mac'];
	if (mac !== undefined && mac !== null && mac !== '') {
		if (typeof mac !== 'string') throw bad('"interfaceAttributes.mac" must be a string');
		attributes.mac = mac;
	}
	const cniArgs = value['cni-args'];
	if (cniArgs !== undefined && cniArgs !== null) {
		if (!isJsonObject(cniArgs)) throw bad('"interfaceAttributes.cni-args" must be an object');
		attributes.cniArgs = cniArgs;
	}
	return attributes;
}

/** Decodes a request body; every malformation is a code-6 CniError (code 7 when nested too deep). */
export function parseThickRequest(body: Uint8Array): ThickRequest {
	checkJsonDepth(body, 'daemon request');
	let value: unknown;
	try {
		value = JSON.parse(Buffer.from(body).toString('utf8'));
	} catch (err) {
		throw bad((err as Error).message);
	}
	if (!isJsonObject(value)) throw bad('expected a JSON object');
	const rawEnv = value['env'] ?? {};
	if (!isJsonObject(rawEnv)) throw bad('"env" must be an object of strings');
	const env: Record<string, string> = {};
	for (const [name, v] of Object.entries(rawEnv)) {
		if (typeof v !== 'string') throw bad(`"env.${name}" must be a string, got ${typeof v}`);
		env[name] = v;
	}
	const rawConfig = value['config'] ?? '';
	if (typeof rawConfig !== 'string' || !base64Pattern.test(rawConfig)) {
		throw bad('"config" must be the base64 of the CNI config');
	}
	const request: ThickRequest = {env, config: new Uint8Array(Buffer.from(rawConfig, 'base64'))};
	const attributes = value['interfaceAttributes'];
	if (attributes !== undefined && attributes !== null)
		request.interfaceAttributes = parseAttributes(attributes);
	return request;
}

/**
 * The environment a request runs with: the daemon's own environment plus the request's CNI_*
 * variables. The runtime's CNI_PATH and CNI_ARGS are kept as sent (Multus thick drops them); a
 * request without CNI_PATH (the hot-plug controller sends none) gets the daemon's `defaultPath`.
 */
export function requestEnv(
	request: ThickRequest,
	daemonEnv: Readonly<Record<string, string | undefined>>,
	defaultPath: readonly string[],
): Record<string, string> {
	const env: Record<string, string> = {};
	for (const [name, value] of Object.entries(daemonEnv)) {
		if (value !== undefined && !name.startsWith('CNI_')) env[name] = value;
	}
	for (const name of CNI_ENV_VARIABLES) {
		const value = request.env[name];
		if (value !== undefined) env[name] = value;
	}
	if (splitPath(env['CNI_PATH']).length === 0 && defaultPath.length > 0)
		env['CNI_PATH'] = defaultPath.join(':');
	return env;
}

/**
 * The config a single delegate runs with on POST /delegate: the interface attributes become
 * `runtimeConfig.ips`/`runtimeConfig.mac` and `args.cni`, as Multus's LoadDelegateNetConf does.
 */
export function applyInterfaceAttributes(config: Uint8Array, attributes: InterfaceAttributes): Uint8Array {
	if (attributes.ips === undefined && attributes.mac === undefined && attributes.cniArgs === undefined) {
		return config;
	}
	const conf = decodeJsonObject(config, 'delegate config');
	const runtimeConfig = isJsonObject(conf['runtimeConfig']) ? {...conf['runtimeConfig']} : {};
	if (attributes.ips !== undefined) runtimeConfig['ips'] = attributes.ips;
	if (attributes.mac !== undefined) runtimeConfig['mac'] = attributes.mac;
	const out: Record<string, unknown> = {...conf};
	if (Object.keys(runtimeConfig).length > 0) out['runtimeConfig'] = runtimeConfig;
	if (attributes.cniArgs !== undefined) {
		const args = isJsonObject(conf['args']) ? {...conf['args']} : {};
		args['cni'] = {...(isJsonObject(args['cni']) ? args['cni'] : {}), ...attributes.cniArgs};
		out['args'] = args;
	}
	return new Uint8Array(Buffer.from(JSON.stringify(out)));
}

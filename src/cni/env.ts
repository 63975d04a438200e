/**
 * The CNI_* environment: parsing, the spec's validation rules (container ID, interface name,
 * network name, CNI_ARGS) and which variables each verb requires (SPEC.md §"Parameters",
 * Go pkg/skel and pkg/utils).
 */
import {CniError, CniErrorCode} from './errors.ts';
import {CNI_COMMANDS, type CniCommand} from './plugin.ts';

/** Reads one environment variable (undefined when unset); injected so parsing stays pure. */
export type Getenv = (name: string) => string | undefined;

/** The parsed CNI_* variables of one invocation. */
export interface CniEnv {
	command: CniCommand;
	containerId: string;
	netns: string;
	ifname: string;
	/** CNI_ARGS as written. */
	args: string;
	/** CNI_ARGS split into pairs. */
	argPairs: [string, string][];
	path: string[];
}

/** The spec's container ID and network name syntax. */
export const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Linux IFNAMSIZ - 1. */
export const MAX_IFNAME_LENGTH = 15;

/** The CNI_* variables of the protocol. */
export const CNI_ENV_VARIABLES = [
	'CNI_COMMAND',
	'CNI_CONTAINERID',
	'CNI_NETNS',
	'CNI_IFNAME',
	'CNI_ARGS',
	'CNI_PATH',
] as const;

/** Variables each verb must have, besides CNI_COMMAND (Go skel's table; CNI_PATH as skel requires it). */
export const REQUIRED_ENV: Readonly<Record<CniCommand, readonly string[]>> = {
	ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
	CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
	DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
	GC: ['CNI_PATH'],
	STATUS: [],
	VERSION: [],
};

/** Validates CNI_CONTAINERID (code 3 when empty, 4 when malformed, as Go's utils). */
export function validateContainerId(containerId: string): void {
	if (containerId === '') throw new CniError(CniErrorCode.unknownContainer, 'missing containerID');
	if (!ID_PATTERN.test(containerId)) {
		throw new CniError(
			CniErrorCode.invalidEnv,
			`invalid characters in containerID "${containerId}": must match ${ID_PATTERN.source}`,
		);
	}
}

/** Validates a network name (code 7). */
export function validateNetworkName(name: string): void {
	if (name === '') throw new CniError(CniErrorCode.invalidConfig, 'missing network name');
	if (!ID_PATTERN.test(name)) {
		throw new CniError(
			CniErrorCode.invalidConfig,
			`invalid characters found in network name "${name}": must match ${ID_PATTERN.source}`,
		);
	}
}

/**
 * "/", ":" and what Go's unicode.IsSpace calls whitespace (libcni's rule). That differs from the
 * regex `\s`: U+0085 counts, U+FEFF does not. NUL is checked apart: the kernel's name is a C string.
 */
const IFNAME_FORBIDDEN = /[/:\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Validates CNI_IFNAME: 1–15 bytes, not "." or "..", no NUL, "/", ":" or whitespace (code 4). */
export function validateIfname(ifname: string): void {
	const fail = (why: string) =>
		new CniError(CniErrorCode.invalidEnv, `invalid interface name "${ifname}": ${why}`);
	if (ifname === '') throw new CniError(CniErrorCode.invalidEnv, 'interface name is empty');
	if (Buffer.byteLength(ifname) > MAX_IFNAME_LENGTH) {
		throw fail(`longer than ${MAX_IFNAME_LENGTH} characters`);
	}
	if (ifname === '.' || ifname === '..') throw fail('is . or ..');
	if (ifname.includes('\0')) throw fail('contains a NUL byte');
	if (IFNAME_FORBIDDEN.test(ifname)) throw fail('contains / or : or whitespace characters');
}

/** Splits CNI_ARGS `K=V;K=V` into pairs; each item needs exactly one "=" (code 4 otherwise). */
export function parseCniArgs(args: string): [string, string][] {
	if (args === '') return [];
	return args.split(';').map((item) => {
		const parts = item.split('=');
		if (parts.length !== 2) {
			throw new CniError(CniErrorCode.invalidEnv, `invalid CNI_ARGS pair "${item}": expected KEY=VALUE`);
		}
		return [parts[0] ?? '', parts[1] ?? ''];
	});
}

/** Joins pairs back into the CNI_ARGS text (libcni's stringify). */
export function formatCniArgs(pairs: readonly (readonly [string, string])[]): string {
	return pairs.map(([k, v]) => `${k}=${v}`).join(';');
}

/** Splits CNI_PATH on ":" dropping empty entries. */
export function splitPath(path: string | undefined): string[] {
	return (path ?? '').split(':').filter((dir) => dir !== '');
}

/**
 * Reads and validates the CNI_* variables for the verb in CNI_COMMAND. Missing variables are one
 * code-4 error listing all of them; a bad container ID or interface name fails as its validator says.
 */
export function parseCniEnv(getenv: Getenv): CniEnv {
	const command = getenv('CNI_COMMAND') ?? '';
	if (command === '')
		throw new CniError(CniErrorCode.invalidEnv, 'required env variables [CNI_COMMAND] missing');
	if (!(CNI_COMMANDS as readonly string[]).includes(command)) {
		throw new CniError(
			CniErrorCode.invalidEnv,
			`unknown CNI_COMMAND "${command}": expected one of ${CNI_COMMANDS.join(', ')}`,
		);
	}
	const verb = command as CniCommand;
	// An environment variable cannot hold NUL; one arriving that way (a daemon request body) would
	// be cut short or refused by exec further on, so it is refused here, naming the variable.
	for (const name of CNI_ENV_VARIABLES) {
		if ((getenv(name) ?? '').includes('\0')) {
			throw new CniError(CniErrorCode.invalidEnv, `invalid env variable ${name}: contains a NUL byte`);
		}
	}
	const missing = REQUIRED_ENV[verb].filter((name) => (getenv(name) ?? '') === '');
	if (missing.length > 0) {
		throw new CniError(CniErrorCode.invalidEnv, `required env variables [${missing.join(',')}] missing`);
	}
	const env: CniEnv = {
		command: verb,
		containerId: getenv('CNI_CONTAINERID') ?? '',
		netns: getenv('CNI_NETNS') ?? '',
		ifname: getenv('CNI_IFNAME') ?? '',
		args: getenv('CNI_ARGS') ?? '',
		argPairs: [],
		path: splitPath(getenv('CNI_PATH')),
	};
	if (verb === 'ADD' || verb === 'CHECK' || verb === 'DEL') {
		validateContainerId(env.containerId);
		validateIfname(env.ifname);
	}
	env.argPairs = parseCniArgs(env.args);
	return env;
}

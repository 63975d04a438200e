/**
 * A PluginExec for tests (libcni's pkg/invoke/fakes): no processes; every call is recorded as data
 * (the path, the exact stdin, the env) and answered by a programmable handler per plugin type.
 */
import {basename, join} from 'node:path';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {type ExecRequest, type PluginExec, pluginNotFound, validatePluginType} from '../plugin-exec.ts';

/** One recorded delegate run. */
export interface FakeCall {
	readonly pluginPath: string;
	readonly type: string;
	readonly command: string;
	/** stdin as text. */
	readonly stdin: string;
	/** stdin decoded. */
	readonly config: Record<string, unknown>;
	readonly env: Readonly<Record<string, string>>;
	readonly timeoutMs: number | undefined;
	/** The root the plugin was to run chrooted in (ExecRequest.root). */
	readonly root: string | undefined;
}

/**
 * Answers one call: return the ADD result object (or undefined for verbs without output), or throw
 * a CniError to make the delegate fail with that error JSON.
 */
export type FakeHandler = (call: FakeCall) => unknown;

export class FakePluginExec implements PluginExec {
	readonly calls: FakeCall[] = [];
	readonly #handlers: Map<string, FakeHandler>;
	readonly #dir: string;

	/** `handlers` maps each installed plugin type to its behaviour; they live in `dir` (on CNI_PATH). */
	constructor(handlers: Record<string, FakeHandler>, dir = '/fake/cni/bin') {
		this.#handlers = new Map(Object.entries(handlers));
		this.#dir = dir;
	}

	/** Finds `type` when it has a handler and `dir` is on the path; otherwise fails as findInPath does. */
	async find(type: string, path: readonly string[]): Promise<string> {
		validatePluginType(type);
		if (this.#handlers.has(type) && path.includes(this.#dir)) return join(this.#dir, type);
		throw pluginNotFound(type, path);
	}

	async exec(request: ExecRequest): Promise<Uint8Array> {
		const type = basename(request.pluginPath);
		const stdin = Buffer.from(request.stdin).toString('utf8');
		const call: FakeCall = {
			pluginPath: request.pluginPath,
			type,
			command: request.env['CNI_COMMAND'] ?? '',
			stdin,
			config: JSON.parse(stdin) as Record<string, unknown>,
			env: request.env,
			timeoutMs: request.timeoutMs,
			root: request.root,
		};
		this.calls.push(call);
		const handler = this.#handlers.get(type);
		if (handler === undefined)
			throw new CniError(CniErrorCode.internal, `fake plugin "${type}" has no handler`);
		const out = await handler(call);
		return Buffer.from(out === undefined ? '' : JSON.stringify(out), 'utf8');
	}

	/** The calls of one verb, in order. */
	callsOf(command: string): FakeCall[] {
		return this.calls.filter((c) => c.command === command);
	}
}

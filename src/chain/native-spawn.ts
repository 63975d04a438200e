/**
 * Starting a delegate without forking Node: the plexus_spawn addon (native/spawn.c) runs it with
 * posix_spawn, so the cost of a start does not grow with the size of this process (7-13 ms per
 * start through node:child_process on the benchmark's machine, 2 ms this way; see spawn.c). The
 * child's pipes become net.Sockets, its exit comes from the addon's waiter thread.
 */
import type {Socket} from 'node:net';
import {constants} from 'node:os';
import {addonLoader} from '../native/addon.ts';

interface Addon {
	spawn(
		file: string,
		argv: readonly string[],
		env: readonly string[],
		onExit: (code: number, signal: number) => void,
	): [number, number, number, number];
	exitNow(code: number): never;
}

const load = addonLoader<Addon>('plexus_spawn', 'spawn');

/** How a spawned child ended: its exit code, or the signal that killed it. */
export interface Exit {
	readonly code: number | null;
	readonly signal: NodeJS.Signals | null;
}

/** A running child with its three pipes. */
export interface SpawnedChild {
	readonly pid: number;
	readonly stdin: Socket;
	readonly stdout: Socket;
	readonly stderr: Socket;
	/** Resolves once the child has exited and been reaped. */
	readonly exited: Promise<Exit>;
	/** As node:child_process's 'close': resolves once the child exited and both outputs ended. */
	readonly closed: Promise<Exit>;
	/** Sends `signal` unless the child has already been reaped (its pid may belong to another process by then). */
	kill(signal: NodeJS.Signals): void;
}

const signalNames = new Map<number, NodeJS.Signals>(
	Object.entries(constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);

/**
 * Runs `file` with `argv` (argv[0] included) and exactly `env`, fds 0-2 piped to us. Throws the
 * start failure as a Node errno error (`code` "ENOENT", "ETXTBSY", ...), a TypeError for a NUL
 * in a string, and a CniError when the addon is not built.
 */
export function spawnChild(
	file: string,
	argv: readonly string[],
	env: Readonly<Record<string, string>>,
): SpawnedChild {
	const {Socket} = process.getBuiltinModule('node:net');
	const vars = Object.entries(env).map(([k, v]) => `${k}=${v}`);
	let reaped = false;
	let settle: (exit: Exit) => void = () => {};
	const exited = new Promise<Exit>((resolve) => {
		settle = resolve;
	});
	const [pid, inFd, outFd, errFd] = load().spawn(file, argv, vars, (code, signal) => {
		reaped = true;
		settle({code: code < 0 ? null : code, signal: signal === 0 ? null : (signalNames.get(signal) ?? null)});
	});
	const stdout = new Socket({fd: outFd, readable: true, writable: false});
	const stderr = new Socket({fd: errFd, readable: true, writable: false});
	const ended = (socket: Socket) => new Promise<void>((resolve) => socket.once('close', () => resolve()));
	return {
		pid,
		stdin: new Socket({fd: inFd, readable: false, writable: true}),
		stdout,
		stderr,
		exited,
		closed: Promise.all([exited, ended(stdout), ended(stderr)]).then(([exit]) => exit),
		kill(signal) {
			if (!reaped) process.kill(pid, signal);
		},
	};
}

/**
 * Ends this process as process.exit() does ('exit' listeners run, then the exit code), but without
 * Node's teardown (see exitNow in native/spawn.c): for a one-shot CNI call whose answer is written.
 * Falls back to process.exit() when the addon cannot load.
 */
export function exitNow(): void {
	const code = typeof process.exitCode === 'number' ? process.exitCode : 0;
	let addon: Addon;
	try {
		addon = load();
	} catch {
		process.exit();
	}
	process.emit('exit', code);
	addon.exitNow(code);
}

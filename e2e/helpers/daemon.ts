/**
 * Helpers for the daemon e2e tests: the shim binary, the fixture daemon as a child process,
 * and small probes of its socket.
 */
import {existsSync} from 'node:fs';
import {request as httpRequest} from 'node:http';
import {type AddressInfo, createServer} from 'node:net';
import {join, resolve} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {execa} from 'execa';

const root = resolve(import.meta.dirname, '../..');

/** The shim binary `npm ci` builds. */
export const SHIM = join(root, 'shim/build/Release/plexus-shim');

/** The daemon with test plugins (see ./daemon-fixture.ts). */
export const FIXTURE = join(root, 'e2e/helpers/daemon-fixture.ts');

/** Fails loudly when the shim was not built. */
export function requireShim(): void {
	if (!existsSync(SHIM)) {
		throw new Error(`${SHIM} is missing: "npm ci" builds it (node-gyp rebuild --directory shim)`);
	}
}

/** GET on the daemon socket; status 0 when it cannot connect. */
export function probe(socketPath: string, path: string): Promise<number> {
	return new Promise((done) => {
		const req = httpRequest({socketPath, path, method: 'GET'}, (res) => {
			res.resume();
			res.on('end', () => done(res.statusCode ?? 0));
		});
		req.on('error', () => done(0));
		req.end();
	});
}

/** POST a JSON body on the daemon socket. */
export function post(
	socketPath: string,
	path: string,
	body: unknown,
): Promise<{status: number; body: string}> {
	return new Promise((done, fail) => {
		const req = httpRequest({socketPath, path, method: 'POST'}, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () => done({status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString()}));
		});
		req.on('error', fail);
		req.end(JSON.stringify(body));
	});
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
	const server = createServer();
	await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
	const {port} = server.address() as AddressInfo;
	await new Promise((done) => server.close(done));
	return port;
}

/** Runs the fixture daemon (stdout and stderr interleaved in `all`). */
export function spawnDaemon(args: readonly string[], env: Record<string, string> = {}) {
	return execa(process.execPath, ['--disable-warning=ExperimentalWarning', FIXTURE, ...args], {
		reject: false,
		all: true,
		env,
	});
}

export type DaemonProcess = ReturnType<typeof spawnDaemon>;

/** A started daemon (wrapped: the execa process is a thenable an async function would await). */
export interface RunningDaemon {
	process: DaemonProcess;
}

/** How long startDaemon waits for /readyz. */
const DAEMON_START_TIMEOUT_MS = 150_000;

/** Starts the fixture daemon on `socketPath` and waits until /readyz answers 200. */
export async function startDaemon(
	socketPath: string,
	args: readonly string[],
	env: Record<string, string> = {},
): Promise<RunningDaemon> {
	const child = spawnDaemon(
		['--socket', socketPath, '--metrics-address', 'off', '--log-level', 'debug', '--grace-ms', '0', ...args],
		env,
	);
	let exited = false;
	void child.then(() => {
		exited = true;
	});
	// A bound on start-up, not a timing assertion: inside the qemu test bed (TCG) a cold Node daemon can
	// take well over a minute to load while the host is busy, so wait up to 150 s.
	const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
	while (!exited && Date.now() < deadline) {
		if ((await probe(socketPath, '/readyz')) === 200) return {process: child};
		await sleep(25);
	}
	child.kill('SIGKILL');
	throw new Error(`daemon did not become ready: ${(await child).all}`);
}

/** Runs the shim binary as a container runtime would: only the given environment, config on stdin. */
export function runShim(command: string, config: unknown, env: Record<string, string>) {
	return execa(SHIM, [], {
		input: JSON.stringify(config),
		reject: false,
		extendEnv: false,
		env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_COMMAND: command, ...env},
	});
}

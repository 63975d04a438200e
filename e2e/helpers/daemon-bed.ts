/**
 * The bed the daemon e2e tests share: a fresh MetaHarness (API server, netns, cache dirs) per
 * test with the daemon socket's path in it, the shim required, and every daemon a test started
 * (pushed on the returned list) killed before the harness closes, even when the test failed.
 */
import {join} from 'node:path';
import {afterEach, beforeAll, beforeEach} from 'vitest';
import {MetaHarness} from '../kube/harness.ts';
import {type RunningDaemon, requireShim} from './daemon.ts';

/** What each test gets: its harness and where its daemon listens. */
export interface DaemonBed {
	h: MetaHarness;
	socketPath: string;
}

/** Registers the bed's hooks; `onReady` gets each test's bed; returns the list of daemons to kill. */
export function useDaemonBed(onReady: (bed: DaemonBed) => void): RunningDaemon[] {
	const daemons: RunningDaemon[] = [];
	let h: MetaHarness | undefined;
	beforeAll(requireShim);
	beforeEach(async () => {
		h = await MetaHarness.create();
		onReady({h, socketPath: join(h.dir, 'run', 'plexus.sock')});
	});
	afterEach(async () => {
		for (const started of daemons.splice(0)) {
			started.process.kill('SIGKILL');
			await started.process;
		}
		await h?.close();
	});
	return daemons;
}

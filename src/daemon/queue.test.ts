import {describe, expect, it} from 'vitest';
import {CniError} from '../cni/errors.ts';
import {WorkQueue} from './queue.ts';

/** A task that finishes when `release` is called, recording that it started. */
function gate<T>(value: T) {
	let release!: () => void;
	const state = {started: false};
	const done = new Promise<void>((resolve) => {
		release = resolve;
	});
	const task = async () => {
		state.started = true;
		await done;
		return value;
	};
	return {task, release, state};
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WorkQueue', () => {
	it('runs at most maxConcurrent tasks and starts queued ones in FIFO order', async () => {
		const queue = new WorkQueue({maxConcurrent: 2, maxQueued: 5, maxWaitMs: 0});
		const gates = [gate(0), gate(1), gate(2), gate(3)];
		const results = gates.map((g) => queue.run(g.task));
		await flush();
		expect(gates.map((g) => g.state.started)).toEqual([true, true, false, false]);
		expect(queue.inFlight).toBe(2);
		expect(queue.queued).toBe(2);
		gates[1]?.release();
		await flush();
		expect(gates.map((g) => g.state.started)).toEqual([true, true, true, false]);
		expect(queue.inFlight).toBe(2);
		expect(queue.queued).toBe(1);
		for (const g of gates) g.release();
		expect(await Promise.all(results)).toEqual([0, 1, 2, 3]);
		expect(queue.inFlight).toBe(0);
		expect(queue.queued).toBe(0);
	});

	it('refuses with code 11 once running and queued slots are all taken', async () => {
		const queue = new WorkQueue({maxConcurrent: 1, maxQueued: 1, maxWaitMs: 0});
		const first = gate('a');
		const second = gate('b');
		const running = queue.run(first.task);
		const waiting = queue.run(second.task);
		const refused = queue.run(async () => 'c');
		await expect(refused).rejects.toBeInstanceOf(CniError);
		await expect(refused).rejects.toMatchObject({code: 11, message: expect.stringContaining('queue full')});
		first.release();
		second.release();
		expect(await running).toBe('a');
		expect(await waiting).toBe('b');
	});

	it('refuses a queued task with code 11 after maxWaitMs', async () => {
		const queue = new WorkQueue({maxConcurrent: 1, maxQueued: 4, maxWaitMs: 20});
		const first = gate('a');
		const running = queue.run(first.task);
		const waiting = queue.run(async () => 'late');
		await expect(waiting).rejects.toMatchObject({code: 11, message: expect.stringContaining('waited 20 ms')});
		expect(queue.queued).toBe(0);
		first.release();
		expect(await running).toBe('a');
		expect(queue.inFlight).toBe(0);
	});

	it('passes a task failure through unchanged and frees the slot', async () => {
		const queue = new WorkQueue({maxConcurrent: 1, maxQueued: 0, maxWaitMs: 0});
		const failure = new CniError(7, 'bad config');
		await expect(queue.run(async () => Promise.reject(failure))).rejects.toBe(failure);
		expect(await queue.run(async () => 'next')).toBe('next');
	});

	it('after close refuses new work with code 11 but finishes what it holds; idle resolves then', async () => {
		const queue = new WorkQueue({maxConcurrent: 1, maxQueued: 2, maxWaitMs: 0});
		const first = gate(1);
		const second = gate(2);
		const a = queue.run(first.task);
		const b = queue.run(second.task);
		queue.close();
		await expect(queue.run(async () => 3)).rejects.toMatchObject({
			code: 11,
			message: 'plexus daemon is shutting down, try again later',
		});
		let idle = false;
		const idlePromise = queue.idle().then(() => {
			idle = true;
		});
		first.release();
		await flush();
		expect(idle).toBe(false);
		second.release();
		await idlePromise;
		expect(idle).toBe(true);
		expect(await Promise.all([a, b])).toEqual([1, 2]);
	});

	it.each([
		[{maxConcurrent: 0}, 'maxConcurrent'],
		[{maxQueued: -1}, 'maxQueued'],
		[{maxWaitMs: 1.5}, 'maxWaitMs'],
	])('rejects invalid limits %o', (limits, name) => {
		expect(() => new WorkQueue(limits)).toThrow(`expected queue limit "${name}"`);
	});
});

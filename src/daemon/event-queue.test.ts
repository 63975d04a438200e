import {setTimeout as sleep} from 'node:timers/promises';
import {describe, expect, test} from 'vitest';
import {configureLog} from '../log.ts';
import {EventQueue, eventQueueTotals} from './event-queue.ts';

configureLog({logToStderr: false});

/** Polls `check` until it holds. */
async function eventually(check: () => boolean): Promise<void> {
	for (let i = 0; i < 500 && !check(); i++) await sleep(10);
	expect(check()).toBe(true);
}

describe('EventQueue', () => {
	test('holds events while a request runs and sends them after it, in order', async () => {
		const queue = new EventQueue({maxDelayMs: 60_000});
		const sent: string[] = [];
		await queue.during(async () => {
			queue.push(async () => void sent.push('a'));
			queue.push(async () => void sent.push('b'));
			await sleep(20);
			expect(sent).toEqual([]);
		});
		await eventually(() => sent.length === 2);
		expect(sent).toEqual(['a', 'b']);
		expect(queue.stats).toMatchObject({queued: 2, sent: 2, dropped: 0});
	});

	test('a full queue drops the new event and counts it (also in the process totals)', async () => {
		const queue = new EventQueue({capacity: 2, maxDelayMs: 60_000});
		const droppedBefore = eventQueueTotals().dropped;
		await queue.during(async () => {
			expect([queue.push(async () => {}), queue.push(async () => {}), queue.push(async () => {})]).toEqual([
				true,
				true,
				false,
			]);
		});
		await queue.flush();
		expect(queue.stats).toMatchObject({sent: 2, dropped: 1});
		expect(eventQueueTotals().dropped).toBe(droppedBefore + 1);
	});

	test('a failing send is counted and does not stop the others', async () => {
		const queue = new EventQueue();
		const sent: string[] = [];
		queue.push(() => Promise.reject(new Error('403')));
		queue.push(async () => void sent.push('b'));
		await eventually(() => sent.length === 1);
		expect(queue.stats).toMatchObject({sent: 1, failed: 1});
	});

	test('under endless requests an event still goes out after maxDelayMs', async () => {
		const queue = new EventQueue({maxDelayMs: 20});
		const sent: string[] = [];
		let release!: () => void;
		const busy = queue.during(() => new Promise<void>((resolve) => (release = resolve)));
		queue.push(async () => void sent.push('a'));
		await eventually(() => sent.length === 1);
		release();
		await busy;
	});
});

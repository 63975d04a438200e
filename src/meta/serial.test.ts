import {describe, expect, test} from 'vitest';
import {PerKeySerializer} from './serial.ts';

/** A promise with its resolve exposed, to hold an operation open. */
function gate() {
	let open: () => void = () => undefined;
	const opened = new Promise<void>((resolve) => {
		open = resolve;
	});
	return {open, opened};
}

describe('PerKeySerializer', () => {
	test('calls for one key run one after the other, in arrival order', async () => {
		const serial = new PerKeySerializer();
		const log: string[] = [];
		const first = gate();
		const a = serial.run('c1', async () => {
			log.push('a start');
			await first.opened;
			log.push('a end');
			return 'a';
		});
		const b = serial.run('c1', async () => {
			log.push('b start');
			return 'b';
		});
		const c = serial.run('c1', async () => {
			log.push('c start');
			return 'c';
		});
		await new Promise((resolve) => setTimeout(resolve, 20));
		expect(log).toEqual(['a start']);
		first.open();
		expect(await Promise.all([a, b, c])).toEqual(['a', 'b', 'c']);
		expect(log).toEqual(['a start', 'a end', 'b start', 'c start']);
		expect(serial.busy).toBe(0);
	});

	test('other keys are not held up', async () => {
		const serial = new PerKeySerializer();
		const held = gate();
		const slow = serial.run('c1', async () => held.opened);
		expect(await serial.run('c2', async () => 'free')).toBe('free');
		expect(serial.busy).toBe(1);
		held.open();
		await slow;
		expect(serial.busy).toBe(0);
	});

	test('a failing call releases the key and keeps its error', async () => {
		const serial = new PerKeySerializer();
		await expect(
			serial.run('c1', async () => {
				throw new Error('boom');
			}),
		).rejects.toThrow('boom');
		expect(await serial.run('c1', async () => 'after')).toBe('after');
		expect(serial.busy).toBe(0);
	});
});

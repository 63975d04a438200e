import {describe, expect, it} from 'vitest';
import {isoNow, monotonicMs} from './clock.ts';

describe('isoNow', () => {
	it('formats as Date#toISOString does, on calendar edges and random instants', () => {
		const edges = [
			0,
			-1,
			951_782_400_000, // 2000-02-29
			951_868_799_999, // 2000-02-29T23:59:59.999
			4_107_542_400_000, // 2100-03-01
			4_107_455_999_999, // 2100-02-28T23:59:59.999
			253_402_300_799_999, // 9999-12-31T23:59:59.999
			-62_167_219_200_000, // 0000-01-01
			1_796_441_906_212.7,
		];
		const [first, last] = [-62_167_219_200_000, 253_402_300_799_999];
		const random = Array.from({length: 20_000}, () => first + Math.floor(Math.random() * (last - first)));
		for (const ms of [...edges, ...random])
			expect(isoNow(ms), String(ms)).toBe(new Date(Math.floor(ms)).toISOString());
	});

	it('defaults to now', () => {
		const before = Date.now();
		const now = Date.parse(isoNow());
		expect(now).toBeGreaterThanOrEqual(before);
		expect(now).toBeLessThanOrEqual(Date.now());
	});
});

describe('monotonicMs', () => {
	it('never goes back', () => {
		const a = monotonicMs();
		expect(monotonicMs()).toBeGreaterThanOrEqual(a);
	});
});

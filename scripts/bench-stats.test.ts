import {describe, expect, it} from 'vitest';
import {formatMs, quantile, ratio, summarize} from './bench-stats.ts';

describe('bench statistics', () => {
	it('takes quantiles of sorted samples', () => {
		expect(quantile([1, 2, 3, 4], 0.5)).toBe(3);
		expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(10);
		expect(quantile([], 0.5)).toBeNaN();
	});

	it('formats durations and ratios', () => {
		expect(formatMs(0.4213)).toBe('0.42 ms');
		expect(formatMs(12.34)).toBe('12.3 ms');
		expect(formatMs(1520)).toBe('1.52 s');
		expect(summarize([1, 2, 3])).toEqual(['3', '2.00 ms', '3.00 ms']);
		expect(ratio(30, 2)).toBe('15.0×');
		expect(ratio(189.9, 161.8)).toBe('1.17×');
		expect(ratio(500, 2)).toBe('250×');
	});
});

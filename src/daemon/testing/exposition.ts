/**
 * Test helpers: a parser of the Prometheus text exposition format (what a scraper sees), and the
 * value of a prom-client metric for a set of labels.
 * @see https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */
import {expect} from 'vitest';

/** One sample line: metric name, labels, value. */
export interface Sample {
	name: string;
	labels: Record<string, string>;
	value: number;
}

/** A parsed exposition: the samples and each metric family's TYPE. */
export interface Exposition {
	samples: Sample[];
	types: Map<string, string>;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/gy;

function parseValue(text: string): number {
	if (text === '+Inf') return Number.POSITIVE_INFINITY;
	if (text === '-Inf') return Number.NEGATIVE_INFINITY;
	const value = Number(text);
	// Prometheus parses values with Go's ParseFloat, which takes NaN in any case (prom-client writes "Nan").
	if (text.toLowerCase() !== 'nan' && Number.isNaN(value)) throw new Error(`bad sample value "${text}"`);
	return value;
}

/** Parses the text format strictly: a line it cannot read fails the test. */
export function parseExposition(text: string): Exposition {
	const samples: Sample[] = [];
	const types = new Map<string, string>();
	for (const line of text.split('\n')) {
		if (line === '' || line.startsWith('# HELP ')) continue;
		if (line.startsWith('# TYPE ')) {
			const [name, type] = line.slice(7).split(' ');
			types.set(name ?? '', type ?? '');
			continue;
		}
		const match = LINE.exec(line);
		if (match === null) throw new Error(`unparsable exposition line: ${line}`);
		const labels: Record<string, string> = {};
		const body = match[2] ?? '';
		LABEL.lastIndex = 0;
		while (LABEL.lastIndex < body.length) {
			const label = LABEL.exec(body);
			if (label === null) throw new Error(`unparsable labels in: ${line}`);
			labels[label[1] ?? ''] = (label[2] ?? '').replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
		}
		samples.push({name: match[1] ?? '', labels, value: parseValue(match[3] ?? '')});
	}
	return {samples, types};
}

/** The samples named `name` whose labels include `labels`. */
export function find(exposition: Exposition, name: string, labels: Record<string, string> = {}): Sample[] {
	return exposition.samples.filter(
		(s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
	);
}

/** The one sample named `name` with `labels`; fails the test unless exactly one matches. */
export function value(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
	const found = find(exposition, name, labels);
	expect(found, `${name}${JSON.stringify(labels)}`).toHaveLength(1);
	return found[0]?.value ?? Number.NaN;
}

/** The value of a prom-client counter or gauge for exactly these labels (0 when never set). */
export async function metricValue(
	metric: {get(): Promise<{values: {labels: Record<string, string | number>; value: number}[]}>},
	labels: Record<string, string>,
): Promise<number> {
	const {values} = await metric.get();
	const same = (l: Record<string, string | number>) =>
		Object.keys(l).length === Object.keys(labels).length &&
		Object.entries(labels).every(([k, v]) => String(l[k]) === v);
	return values.find((v) => same(v.labels))?.value ?? 0;
}

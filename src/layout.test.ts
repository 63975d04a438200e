/**
 * The layout rules the code is held to, checked over every production module of src/ and
 * delegates/ (tests and testing/ folders excluded): no import cycle (static or dynamic imports;
 * type-only imports vanish at run time and are not edges), and no file over 400 lines unless its
 * header says why ("house limit"). Biome checks the other two rules: functions of at most 80
 * lines, and no production import of testing/ scaffolding (biome.json).
 */
import {readdirSync, readFileSync} from 'node:fs';
import {dirname, join, relative, resolve} from 'node:path';
import {describe, expect, it} from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const MAX_LINES = 400;

function productionModules(): string[] {
	const out: string[] = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, {withFileTypes: true})) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) {
				if (entry.name !== 'testing' && entry.name !== 'node_modules') walk(path);
			} else if (path.endsWith('.ts') && !path.endsWith('.test.ts')) out.push(path);
		}
	};
	walk(join(ROOT, 'src'));
	walk(join(ROOT, 'delegates'));
	return out;
}

/** The relative modules `text` imports at run time (`import … from`, `export … from`, `import()`). */
function runtimeImports(text: string): string[] {
	const out: string[] = [];
	for (const m of text.matchAll(/^\s*(import|export)(\s+type\b)?[^;'"]*?\sfrom\s+'(\.[^']+)'/gm)) {
		if (m[2] === undefined && m[3] !== undefined) out.push(m[3]);
	}
	for (const m of text.matchAll(/import\(\s*'(\.[^']+)'\s*\)/g)) if (m[1] !== undefined) out.push(m[1]);
	return out;
}

/** The strongly connected components of more than one module (Tarjan). */
function cycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
	let counter = 0;
	const index = new Map<string, number>();
	const low = new Map<string, number>();
	const stack: string[] = [];
	const onStack = new Set<string>();
	const found: string[][] = [];
	const visit = (v: string) => {
		index.set(v, counter);
		low.set(v, counter);
		counter++;
		stack.push(v);
		onStack.add(v);
		for (const w of graph.get(v) ?? []) {
			if (!index.has(w)) {
				visit(w);
				low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
			} else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
		}
		if (low.get(v) !== index.get(v)) return;
		const component: string[] = [];
		for (;;) {
			const w = stack.pop() as string;
			onStack.delete(w);
			component.push(w);
			if (w === v) break;
		}
		if (component.length > 1) found.push(component);
	};
	for (const v of graph.keys()) if (!index.has(v)) visit(v);
	return found;
}

describe('layout', () => {
	const modules = productionModules();
	const known = new Set(modules);

	it('finds the production modules', () => {
		expect(modules.length).toBeGreaterThan(100);
	});

	it('has no import cycle among production modules', () => {
		const graph = new Map<string, string[]>();
		for (const file of modules) {
			const deps = runtimeImports(readFileSync(file, 'utf8')).map((spec) => resolve(dirname(file), spec));
			graph.set(
				file,
				deps.filter((d) => known.has(d)),
			);
		}
		expect(cycles(graph).map((c) => c.map((f) => relative(ROOT, f)).sort())).toEqual([]);
	});

	it('keeps files to 400 lines, or says why in the header', () => {
		const long = modules.filter((file) => {
			const text = readFileSync(file, 'utf8');
			const header = text.slice(0, text.indexOf('*/') + 2);
			return text.split('\n').length > MAX_LINES + 15 && !/house limit/.test(header);
		});
		expect(long.map((f) => relative(ROOT, f))).toEqual([]);
	});

	it('sees run-time imports, not type-only ones', () => {
		const text = [
			"import {a} from './a.ts';",
			"import type {B} from './b.ts';",
			"export {c} from './c.ts';",
			"export type {D} from './d.ts';",
			"import {\n\te,\n\tf,\n} from './ef.ts';",
			"const g = await import('./g.ts');",
			"import {h} from 'node:fs';",
		].join('\n');
		expect(runtimeImports(text).sort()).toEqual(['./a.ts', './c.ts', './ef.ts', './g.ts']);
	});
});

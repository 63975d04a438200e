// useWarmCodeCache in a child Node process (it replaces Module.prototype._compile for good): a
// verb's first call writes a cache per chunk, the next compiles with it and writes nothing, a
// corrupt cache is refused and replaced, files outside the bundle and unwritable directories are
// left alone, and the chunks behave as they do without it.
import {spawnSync} from 'node:child_process';
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';

const root = mkdtempSync(join(tmpdir(), 'plexus-code-cache-'));
afterAll(() => rmSync(root, {recursive: true, force: true}));

const bundle = join(root, 'bundle');
const outside = join(root, 'outside');
mkdirSync(bundle);
mkdirSync(outside);
writeFileSync(join(bundle, 'package.json'), '{"type":"commonjs"}\n');
writeFileSync(join(outside, 'package.json'), '{"type":"commonjs"}\n');
writeFileSync(join(bundle, 'b.js'), 'exports.twice = (n) => n * 2;\n');
writeFileSync(
	join(bundle, 'a.js'),
	// biome-ignore lint/suspicious/noTemplateCurlyInString: the chunk's own source holds a template literal
	'const b = require("./b.js");\nconst other = require("../outside/c.js");\nexports.run = () => `${b.twice(21)} ${other.name} ${__filename.endsWith("a.js")} ${typeof module.exports}`;\n',
);
writeFileSync(join(outside, 'c.js'), 'exports.name = "outside";\n');

/** Runs a chunk of the bundle with the caches of ADD under `cacheDir`; its stdout and status. */
function call(cacheDir: string) {
	const module = join(import.meta.dirname, 'code-cache.ts');
	const script = `const {useWarmCodeCache} = await import(${JSON.stringify(module)});
const {createRequire} = await import('node:module');
useWarmCodeCache(${JSON.stringify(bundle)}, ${JSON.stringify(cacheDir)}, 'ADD');
process.stdout.write(createRequire(${JSON.stringify(join(bundle, 'x.js'))})('./a.js').run());`;
	const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'});
	return {stdout: run.stdout, status: run.status, stderr: run.stderr};
}

describe('useWarmCodeCache', () => {
	const caches = join(root, 'caches');
	const cacheOf = (chunk: string) => join(caches, 'ADD', `${chunk}.cache`);

	test('the first call of a verb writes a cache per chunk of the bundle, and nothing for others', () => {
		expect(call(caches)).toEqual({stdout: '42 outside true object', status: 0, stderr: ''});
		expect(readdirSync(join(caches, 'ADD')).sort()).toEqual(['a.js.cache', 'b.js.cache']);
	});

	test('the next call compiles with them and writes nothing', () => {
		const before = statSync(cacheOf('a.js')).mtimeMs;
		expect(call(caches).stdout).toBe('42 outside true object');
		expect(statSync(cacheOf('a.js')).mtimeMs).toBe(before);
	});

	test('a corrupt cache is refused by V8 and replaced', () => {
		writeFileSync(cacheOf('b.js'), 'not a code cache');
		expect(call(caches).stdout).toBe('42 outside true object');
		expect(readFileSync(cacheOf('b.js')).toString()).not.toBe('not a code cache');
		expect(readdirSync(join(caches, 'ADD')).sort()).toEqual(['a.js.cache', 'b.js.cache']);
	});

	test('without a writable cache directory the chunks load as before', () => {
		const file = join(root, 'a-file');
		writeFileSync(file, '');
		expect(call(file)).toEqual({stdout: '42 outside true object', status: 0, stderr: ''});
	});
});

/** The bundle's freshness digest: it follows the sources that go into the bundle, and nothing else. */
import {mkdirSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {inputsDigest} from './bundle.ts';

describe('inputsDigest', () => {
	let root: string;
	const write = (path: string, text: string) => {
		mkdirSync(join(root, path, '..'), {recursive: true});
		writeFileSync(join(root, path), text);
	};

	beforeEach(() => {
		root = mkdtempSync(join(tmpdir(), 'plexus-bundle-'));
		write('src/cli/main.ts', 'export {};\n');
		write('delegates/vrf/vrf.ts', 'export const a = 1;\n');
		write('package-lock.json', '{}\n');
	});
	afterEach(() => rmSync(root, {recursive: true, force: true}));

	it('changes when a source file, a delegate or the lock file changes', () => {
		const before = inputsDigest(root);
		expect(inputsDigest(root)).toBe(before);
		write('src/cli/main.ts', 'export const changed = true;\n');
		const afterSource = inputsDigest(root);
		expect(afterSource).not.toBe(before);
		write('delegates/vrf/vrf.ts', 'export const a = 2;\n');
		const afterDelegate = inputsDigest(root);
		expect(afterDelegate).not.toBe(afterSource);
		write('package-lock.json', '{"lockfileVersion": 3}\n');
		expect(inputsDigest(root)).not.toBe(afterDelegate);
	});

	it('changes when a source file is added or renamed, even with the same bytes', () => {
		const before = inputsDigest(root);
		write('src/cli/other.ts', 'export {};\n');
		const added = inputsDigest(root);
		expect(added).not.toBe(before);
		rmSync(join(root, 'src/cli/other.ts'));
		write('src/cli/renamed.ts', 'export {};\n');
		expect(inputsDigest(root)).not.toBe(added);
	});

	it('ignores tests and test scaffolding, which never go into the bundle', () => {
		const before = inputsDigest(root);
		write('src/cli/main.test.ts', 'it("x", () => {});\n');
		write('src/meta/testing/fake.ts', 'export {};\n');
		write('delegates/testing/contract.ts', 'export {};\n');
		expect(inputsDigest(root)).toBe(before);
	});
});

import {
	lstatSync,
	mkdirSync,
	mkdtempSync,
	readdirSync,
	readFileSync,
	rmSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';
import {writeFileAtomicSync} from './cache-file.ts';
import {replaceFileSync} from './replace-file.ts';

const root = mkdtempSync(join(tmpdir(), 'plexus-replace-'));
afterAll(() => rmSync(root, {recursive: true, force: true}));
let n = 0;
const fresh = () => {
	const dir = join(root, String(n++));
	mkdirSync(dir);
	return dir;
};

describe('replaceFileSync', () => {
	test('puts the new version in place and leaves no other file', () => {
		const dir = fresh();
		writeFileSync(join(dir, 'rec.json'), 'old');
		writeFileSync(join(dir, 'rec.json.tmp'), 'new');
		const before = lstatSync(join(dir, 'rec.json')).ino;
		replaceFileSync(join(dir, 'rec.json.tmp'), join(dir, 'rec.json'));
		expect(readFileSync(join(dir, 'rec.json'), 'utf8')).toBe('new');
		expect(lstatSync(join(dir, 'rec.json')).ino).not.toBe(before);
		expect(readdirSync(dir)).toEqual(['rec.json']);
	});

	test('renames when there is nothing to replace yet', () => {
		const dir = fresh();
		writeFileSync(join(dir, 'a.tmp'), 'first');
		replaceFileSync(join(dir, 'a.tmp'), join(dir, 'a'));
		expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('first');
		expect(readdirSync(dir)).toEqual(['a']);
	});

	test('replaces a symlink itself, as rename does, not the file it points to', () => {
		const dir = fresh();
		writeFileSync(join(dir, 'elsewhere'), 'kept');
		symlinkSync(join(dir, 'elsewhere'), join(dir, 'link'));
		writeFileSync(join(dir, 'link.tmp'), 'new');
		replaceFileSync(join(dir, 'link.tmp'), join(dir, 'link'));
		expect(lstatSync(join(dir, 'link')).isFile()).toBe(true);
		expect(readFileSync(join(dir, 'link'), 'utf8')).toBe('new');
		expect(readFileSync(join(dir, 'elsewhere'), 'utf8')).toBe('kept');
		expect(readdirSync(dir).sort()).toEqual(['elsewhere', 'link']);
	});

	test('refuses a directory in the way, as rename does, and leaves both as they were', () => {
		const dir = fresh();
		mkdirSync(join(dir, 'rec.json'));
		writeFileSync(join(dir, 'rec.json', 'inside'), 'x');
		writeFileSync(join(dir, 'rec.json.tmp'), 'new');
		expect(() => replaceFileSync(join(dir, 'rec.json.tmp'), join(dir, 'rec.json'))).toThrow(
			expect.objectContaining({code: 'EISDIR'}),
		);
		expect(lstatSync(join(dir, 'rec.json')).isDirectory()).toBe(true);
		expect(readFileSync(join(dir, 'rec.json.tmp'), 'utf8')).toBe('new');
	});

	test('a missing source throws ENOENT and changes nothing', () => {
		const dir = fresh();
		writeFileSync(join(dir, 'rec.json'), 'old');
		expect(() => replaceFileSync(join(dir, 'gone.tmp'), join(dir, 'rec.json'))).toThrow(
			expect.objectContaining({code: 'ENOENT'}),
		);
		expect(readFileSync(join(dir, 'rec.json'), 'utf8')).toBe('old');
	});

	test('a NUL in a path is refused before any system call', () => {
		const dir = fresh();
		expect(() => replaceFileSync(join(dir, 'a\0b'), join(dir, 'c'))).toThrow(TypeError);
	});
});

describe('writeFileAtomicSync', () => {
	test('rewrites a file many times, each time whole, leaving no temporary file', () => {
		const dir = fresh();
		for (let i = 0; i < 50; i++) {
			writeFileAtomicSync(dir, 'rec.json', `version ${i}`);
			expect(readFileSync(join(dir, 'rec.json'), 'utf8')).toBe(`version ${i}`);
		}
		expect(readdirSync(dir)).toEqual(['rec.json']);
		expect(lstatSync(join(dir, 'rec.json')).mode & 0o777).toBe(0o600);
	});
});

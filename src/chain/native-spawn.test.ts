import {spawnSync} from 'node:child_process';
import {existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterAll, describe, expect, test} from 'vitest';
import {type SpawnedChild, spawnChild} from './native-spawn.ts';

const dir = mkdtempSync(join(tmpdir(), 'plexus-spawn-'));
afterAll(() => rmSync(dir, {recursive: true, force: true}));

/** Collects a child's stdout and stderr until it closed (exit and both ends of output). */
async function finish(child: SpawnedChild, stdin = '') {
	const out: Buffer[] = [];
	const err: Buffer[] = [];
	child.stdout.on('data', (b: Buffer) => out.push(b));
	child.stderr.on('data', (b: Buffer) => err.push(b));
	child.stdin.on('error', () => {});
	child.stdin.end(stdin);
	const exit = await child.closed;
	return {...exit, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()};
}

const sh = (script: string, env: Record<string, string> = {}) =>
	spawnChild('/bin/sh', ['sh', '-c', script], {PATH: '/usr/bin:/bin', ...env});

describe('spawnChild', () => {
	test('pipes stdin to the child and both outputs back, with its exit code', async () => {
		const r = await finish(sh('cat; echo oops >&2; exit 3'), 'hello');
		expect(r).toEqual({code: 3, signal: null, stdout: 'hello', stderr: 'oops\n'});
	});

	test('passes exactly the given environment and argv', async () => {
		const r = await finish(spawnChild('/usr/bin/env', ['env'], {ONLY: 'this', EMPTY: ''}));
		expect(r.stdout.split('\n').filter((l) => l !== '')).toEqual(['ONLY=this', 'EMPTY=']);
		const args = await finish(
			spawnChild('/bin/sh', ['my-argv0', '-c', 'tr "\\0" "|" </proc/$$/cmdline', 'x y'], {}),
		);
		expect(args.stdout).toBe('my-argv0|-c|tr "\\0" "|" </proc/$$/cmdline|x y|');
	});

	test('the child has no blocked or ignored signals and no fd but 0-2', async () => {
		// Node itself ignores SIGPIPE and SIGXFSZ; a delegate must not inherit that.
		const r = await finish(sh('grep -E "^Sig(Blk|Ign)" /proc/self/status; ls /proc/self/fd'));
		expect(r.stdout).toMatch(/SigBlk:\s+0+\n/);
		const ignored = BigInt(`0x${/SigIgn:\s+([0-9a-f]+)/.exec(r.stdout)?.[1]}`);
		// Except glibc's two internal signals (32, 33), which its posix_spawn leaves ignored and
		// which glibc and Go programs set up again as they start.
		expect(ignored & ~0x1_8000_0000n).toBe(0n);
		// ls opens the directory it lists (fd 3).
		expect(r.stdout.split('\n').slice(2, -1).sort()).toEqual(['0', '1', '2', '3']);
	});

	test('reports the signal that killed the child, and kill() reaches a running child', async () => {
		const child = sh('echo started; exec sleep 30');
		const first = new Promise((r) => child.stdout.once('data', r));
		const done = finish(child);
		await first;
		child.kill('SIGTERM');
		expect(await done).toMatchObject({code: null, signal: 'SIGTERM'});
		// Reaped: a late kill is a no-op instead of signalling whatever holds the pid now.
		expect(() => child.kill('SIGKILL')).not.toThrow();
		expect(existsSync(`/proc/${child.pid}`)).toBe(false);
	});

	test('a start failure throws the errno error and leaves no fd behind', async () => {
		const before = readdirSync('/proc/self/fd').length;
		expect(() => spawnChild(join(dir, 'missing'), ['missing'], {})).toThrow(
			expect.objectContaining({code: 'ENOENT', syscall: 'posix_spawn'}),
		);
		const script = join(dir, 'not-executable');
		writeFileSync(script, '#!/bin/sh\n', {mode: 0o644});
		expect(() => spawnChild(script, ['x'], {})).toThrow(expect.objectContaining({code: 'EACCES'}));
		expect(readdirSync('/proc/self/fd').length).toBe(before);
	});

	test('refuses a NUL inside a string instead of cutting it short', () => {
		expect(() => spawnChild('/bin/true', ['true'], {A: 'x\u0000y'})).toThrow(TypeError);
		expect(() => spawnChild('/bin/true', ['tr\u0000ue'], {})).toThrow(TypeError);
		expect(() => spawnChild('/bin/tr\u0000ue', ['true'], {})).toThrow(TypeError);
	});

	test('many children at once are all reaped and their pipes closed', async () => {
		const before = readdirSync('/proc/self/fd').length;
		const runs = await Promise.all(
			Array.from({length: 40}, (_, i) => finish(sh(`read line; echo "$line-${i}"`), `n${i}\n`)),
		);
		expect(runs.map((r) => r.stdout)).toEqual(runs.map((_, i) => `n${i}-${i}\n`));
		expect(runs.every((r) => r.code === 0)).toBe(true);
		// Sockets release their fds on the next turns of the loop.
		await new Promise((r) => setTimeout(r, 50));
		expect(readdirSync('/proc/self/fd').length).toBe(before);
	});
});

describe('exitNow', () => {
	test("ends the process with process.exitCode after the 'exit' listeners, and nothing after it runs", () => {
		const module = join(import.meta.dirname, 'native-spawn.ts');
		const script = `const {exitNow} = await import(${JSON.stringify(module)});
process.on('exit', (code) => process.stdout.write('exit listener saw ' + code + '\\n'));
process.exitCode = 3;
exitNow();
process.stdout.write('not reached\\n');`;
		const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {encoding: 'utf8'});
		expect({status: run.status, stdout: run.stdout}).toEqual({status: 3, stdout: 'exit listener saw 3\n'});
	});
});

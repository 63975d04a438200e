import {chmod, mkdir, mkdtemp, open, rm, writeFile} from 'node:fs/promises';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {decodePluginError, findInPath, ProcessPluginExec, validatePluginType} from './plugin-exec.ts';

let dir: string;
beforeEach(async () => {
	dir = await mkdtemp(join(tmpdir(), 'plexus-pexec-'));
});
afterEach(async () => {
	await rm(dir, {recursive: true, force: true});
});

/** Writes an executable shell script. */
async function script(name: string, body: string): Promise<string> {
	const file = join(dir, name);
	await writeFile(file, `#!/bin/sh\n${body}\n`);
	await chmod(file, 0o755);
	return file;
}

describe('validatePluginType', () => {
	test.each(['', '/usr/bin/bridge', 'a/b', '..', '../x', 'x..y', 'a\nb', 'a\u0000b'])(
		'refuses %j with code 7',
		(type) => {
			expect(() => validatePluginType(type)).toThrow(
				expect.objectContaining({code: 7, message: expect.stringContaining('invalid plugin type')}),
			);
		},
	);
	test.each(['bridge', 'host-local', 'my_plugin.v2'])('accepts %s', (type) => {
		expect(() => validatePluginType(type)).not.toThrow();
	});
});

describe('findInPath', () => {
	test('returns the first directory holding a regular file of that name', async () => {
		await mkdir(join(dir, 'a'));
		await mkdir(join(dir, 'b'));
		await mkdir(join(dir, 'a', 'tuning')); // a directory of that name does not count
		await writeFile(join(dir, 'b', 'tuning'), '');
		expect(await findInPath('tuning', [join(dir, 'a'), join(dir, 'b')])).toBe(join(dir, 'b', 'tuning'));
	});

	test('not found names the type and every directory (code 7)', async () => {
		await expect(findInPath('nope', ['/x', '/y/z'])).rejects.toMatchObject({
			code: 7,
			message: 'failed to find plugin "nope" in path [/x /y/z]',
		});
		await expect(findInPath('nope', [])).rejects.toMatchObject({
			code: 7,
			message: expect.stringContaining('CNI_PATH is empty'),
		});
	});
});

describe('decodePluginError', () => {
	const b = (s: string) => Buffer.from(s);
	test('keeps the code, msg and details of the error JSON on stdout', () => {
		const err = decodePluginError(
			b('{"cniVersion":"1.0.0","code":117,"msg":"m","details":"d"}'),
			b('log'),
			'exit 1',
		);
		expect(err).toMatchObject({code: 117, message: 'm', details: 'd'});
	});
	test('empty stdout: stderr text is the message', () => {
		expect(decodePluginError(b(''), b('panic: boom\n'), 'exit 2')).toMatchObject({
			code: 999,
			message: 'netplugin failed: "panic: boom"',
		});
		expect(decodePluginError(b(''), b(''), 'exit status 2').message).toBe(
			'netplugin failed with no error message: exit status 2',
		);
	});
	test('non-JSON stdout is reported with the text', () => {
		expect(decodePluginError(b('oops'), b(''), 'x').message).toMatch(
			/^netplugin failed but error parsing its diagnostic message "oops"/,
		);
	});
});

describe('ProcessPluginExec', () => {
	const exec = new ProcessPluginExec({busyRetries: 20, busyDelayMs: 50});

	test('passes stdin and exactly the given env, returns stdout bytes', async () => {
		const path = await script(
			'echoer',
			'[ -n "$HOME" ] && h=set || h=unset; printf "%s|%s|%s|" "$CNI_COMMAND" "$FOO" "$h"; cat',
		);
		const out = await exec.exec({
			pluginPath: path,
			stdin: Buffer.from('{"a":1}'),
			env: {CNI_COMMAND: 'ADD', FOO: 'bar'},
		});
		expect(Buffer.from(out).toString()).toBe('ADD|bar|unset|{"a":1}');
	});

	test('a failing plugin throws its error JSON with its own code', async () => {
		const path = await script(
			'fails',
			'echo "some log" >&2; echo \'{"code":11,"msg":"try later","details":"lock"}\'; exit 1',
		);
		await expect(exec.exec({pluginPath: path, stdin: Buffer.from('{}'), env: {}})).rejects.toMatchObject({
			code: 11,
			message: 'try later',
			details: 'lock',
		});
	});

	test('a plugin that dies with only stderr reports that text', async () => {
		const path = await script('dies', 'echo "fatal: no netns" >&2; exit 3');
		await expect(exec.exec({pluginPath: path, stdin: Buffer.from('{}'), env: {}})).rejects.toMatchObject({
			code: 999,
			message: 'netplugin failed: "fatal: no netns"',
		});
	});

	test('a plugin that cannot be started is code 999 naming its path', async () => {
		const path = join(dir, 'not-executable');
		await writeFile(path, '#!/bin/sh\n');
		await expect(exec.exec({pluginPath: path, stdin: Buffer.from(''), env: {}})).rejects.toMatchObject({
			code: 999,
			message: expect.stringContaining(`failed to run plugin "${path}"`),
		});
	});

	test('a plugin over its timeout is killed (code 11)', async () => {
		const path = await script('slow', 'exec sleep 5');
		const started = Date.now();
		await expect(
			exec.exec({pluginPath: path, stdin: Buffer.from(''), env: {}, timeoutMs: 200}),
		).rejects.toMatchObject({
			code: 11,
			message: expect.stringContaining('timed out after 200ms'),
		});
		expect(Date.now() - started).toBeLessThan(4000);
	});

	test('a plugin killed by a signal is code 999 naming the signal', async () => {
		const path = await script('killed', 'kill -9 $$');
		await expect(exec.exec({pluginPath: path, stdin: Buffer.from('{}'), env: {}})).rejects.toMatchObject({
			code: 999,
			message: `failed to run plugin "${path}": killed by signal SIGKILL`,
		});
	});

	test('a plugin that exits without reading a large stdin still succeeds', async () => {
		const path = await script('deaf', 'echo \'{"cniVersion":"1.0.0"}\'');
		const out = await exec.exec({pluginPath: path, stdin: Buffer.alloc(4 << 20, 0x20), env: {}});
		expect(Buffer.from(out).toString()).toBe('{"cniVersion":"1.0.0"}\n');
	});

	test('returns stdout as a plain Uint8Array, as decoders expect', async () => {
		const path = await script('plain', 'printf abc');
		const out = await exec.exec({pluginPath: path, stdin: Buffer.from(''), env: {}});
		expect(out.constructor).toBe(Uint8Array);
		expect([...out]).toEqual([0x61, 0x62, 0x63]);
	});

	test('retries "text file busy" until the binary is closed for writing', async () => {
		const path = join(dir, 'busy');
		const handle = await open(path, 'w', 0o755);
		await handle.write('#!/bin/sh\necho \'{"cniVersion":"1.0.0"}\'\n');
		// The file is still open for writing: exec fails with ETXTBSY until it is closed.
		const closing = new Promise((resolve) => setTimeout(resolve, 200)).then(() => handle.close());
		const out = await exec.exec({pluginPath: path, stdin: Buffer.from(''), env: {}});
		await closing;
		expect(Buffer.from(out).toString()).toBe('{"cniVersion":"1.0.0"}\n');
	});
});

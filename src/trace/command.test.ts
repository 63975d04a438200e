import {mkdtempSync, rmSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join} from 'node:path';
import {describe, expect, it} from 'vitest';
import {runTrace, TRACE_USAGE} from './command.ts';

describe('plexus trace', () => {
	it('prints usage on --help and refuses anything but one <namespace>/<pod>', async () => {
		expect(await runTrace(['--help'], {env: {}})).toEqual({stdout: TRACE_USAGE, stderr: '', exitCode: 0});
		for (const argv of [[], ['pod'], ['a/b/c'], ['a/b', 'c/d'], ['a/b', '-o', 'yaml'], ['a/b', '--nope']]) {
			const out = await runTrace(argv, {env: {}});
			expect(out.exitCode, argv.join(' ')).toBe(2);
			expect(out.stderr).toContain(TRACE_USAGE);
		}
	});

	it('names the socket when the daemon cannot be reached, exit 1', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'plexus-trace-'));
		try {
			const socket = join(dir, 'none.sock');
			const out = await runTrace(['ns1/web'], {env: {PLEXUS_SOCKET: socket}});
			expect(out.exitCode).toBe(1);
			expect(out.stderr).toContain(`plexus: cannot reach the plexus daemon at "${socket}"`);
		} finally {
			rmSync(dir, {recursive: true, force: true});
		}
	});
});

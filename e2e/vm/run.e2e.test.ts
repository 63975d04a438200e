import {randomBytes} from 'node:crypto';
import {existsSync} from 'node:fs';
import {mkdir, mkdtemp, readFile, rm} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {afterEach, describe, expect, it} from 'vitest';

// The test bed harness itself (scripts/vm/run), seen from the host: what goes in (cwd, env) and
// what comes out (stdout, stderr, exit status, files in the repo tree), and what must not (writes
// elsewhere on the host). Each case boots one VM (about 2.5 s under TCG once the cache is warm).

const repo = fileURLToPath(new URL('../..', import.meta.url));
const run = join(repo, 'scripts/vm/run');
// A fresh machine first installs qemu and fetches the kernel: allow for that.
const firstRunTimeout = 300_000;

describe('scripts/vm/run', () => {
	const cleanups: string[] = [];

	afterEach(async () => {
		for (const path of cleanups.splice(0)) await rm(path, {recursive: true, force: true});
	});

	it(
		'runs the command in the same directory with the same environment and reports its output and status',
		async () => {
			const id = randomBytes(4).toString('hex');
			await mkdir(join(repo, '.vm-cache'), {recursive: true});
			const workdir = await mkdtemp(join(repo, '.vm-cache', 'e2e-'));
			const outsideRepo = `/var/tmp/plexus-vm-e2e-${id}`;
			cleanups.push(workdir, outsideRepo);
			const script = [
				'echo "out:$PLEXUS_VM_E2E"',
				'echo "err:$(pwd)" >&2',
				'echo "vitest:$(command -v vitest)"',
				'echo "kernel:$(uname -r)"',
				'echo from-guest > "$PWD/result"',
				`echo from-guest > ${outsideRepo}`,
				`test -e ${outsideRepo} && echo "outside-written"`,
				'exit 42',
			].join('\n');

			const result = await execa(run, ['--', 'bash', '-c', script], {
				cwd: workdir,
				env: {PLEXUS_VM_E2E: id},
				reject: false,
			});

			expect(result.exitCode).toBe(42);
			const lines = result.stdout.split('\n');
			expect(lines).toContain(`out:${id}`);
			expect(lines).toContain(`vitest:${join(repo, 'node_modules/.bin/vitest')}`);
			expect(lines).toContain('outside-written');
			const kernel = lines.find((line) => line.startsWith('kernel:'));
			expect(kernel).toMatch(/^kernel:\d+\.\d+\.\d+-\d+-cloud-amd64$/);
			expect(result.stderr.split('\n')).toContain(`err:${workdir}`);
			expect(result.stdout).not.toContain('err:');
			// The repo tree is shared read-write; the rest of the host only through a throwaway overlay.
			expect(await readFile(join(workdir, 'result'), 'utf8')).toBe('from-guest\n');
			expect(existsSync(outsideRepo)).toBe(false);
		},
		firstRunTimeout,
	);

	it(
		'stops the VM and exits 124 when the command outlives --timeout',
		async () => {
			const started = Date.now();
			const result = await execa(run, ['--timeout', '2', '--', 'sleep', '120'], {cwd: repo, reject: false});
			expect(result.exitCode).toBe(124);
			expect(result.stderr).toContain('timeout: the command ran longer than 2s');
			expect(Date.now() - started).toBeLessThan(100_000);
		},
		firstRunTimeout,
	);

	it('exits 125 with a reason when it cannot start', async () => {
		const result = await execa(run, ['--mem', 'lots', '--', 'true'], {cwd: repo, reject: false});
		expect(result.exitCode).toBe(125);
		expect(result.stderr).toContain("--mem takes a size such as 2G or 1536M, not 'lots'");
	});
});

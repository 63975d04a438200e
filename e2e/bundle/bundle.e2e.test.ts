/**
 * bin/plexus and the built-in launchers run the bundle in dist/plexus (scripts/bundle/bundle.ts),
 * the sources only when it is missing or PLEXUS_FROM_SOURCE is set, and both answer alike.
 */
import {spawnSync} from 'node:child_process';
import {join, resolve} from 'node:path';
import {describe, expect, it} from 'vitest';
import {BUNDLE_DIR, bundleIsFresh} from '../../scripts/bundle/bundle.ts';

const REPO = resolve(import.meta.dirname, '../..');
// Makes Node name its entry module on stderr before running it.
const SHOW_ENTRY =
	"--import=data:text/javascript,process.stderr.write('entry='+process.argv[1]+String.fromCharCode(10))";

/** Runs a launcher of bin/ with `env` and `stdin`; stdout, stderr, status and the entry module. */
function launch(name: string, env: Record<string, string>, stdin = '', args: string[] = []) {
	const run = spawnSync(join(REPO, 'bin', name), args, {
		input: stdin,
		encoding: 'utf8',
		env: {PATH: process.env['PATH'] ?? '/usr/bin:/bin', NODE_OPTIONS: SHOW_ENTRY, ...env},
	});
	const entry = /^entry=(.*)$/m.exec(run.stderr)?.[1];
	return {stdout: run.stdout, stderr: run.stderr.replace(/^entry=.*\n/m, ''), status: run.status, entry};
}

describe('the bundled plexus command', () => {
	it('is current with the sources after the test set-up', () => {
		expect(bundleIsFresh()).toBe(true);
	});

	it('is what bin/plexus and the built-in launchers run, the sources only with PLEXUS_FROM_SOURCE', () => {
		for (const name of ['plexus', 'plexus-vrf', 'plexus-vlan', 'plexus-route-override']) {
			const bundled = launch(name, {CNI_COMMAND: 'VERSION'}, '{"cniVersion":"1.0.0"}');
			expect(bundled.entry, name).toBe(join(BUNDLE_DIR, 'main.js'));
			const source = launch(
				name,
				{CNI_COMMAND: 'VERSION', PLEXUS_FROM_SOURCE: '1'},
				'{"cniVersion":"1.0.0"}',
			);
			expect(source.entry, name).toBe(join(REPO, 'src/cli/main.ts'));
			expect(bundled.stdout, name).toBe(source.stdout);
			expect(JSON.parse(bundled.stdout).supportedVersions, name).toContain('1.1.0');
		}
	});

	it('answers a bad conf, the help and the version exactly as the sources do', () => {
		const badConf = JSON.stringify({
			cniVersion: '1.0.0',
			name: 'x',
			type: 'plexus',
			clusterNetwork: 'c',
			bogus: 1,
		});
		const cases: [Record<string, string>, string, string[]][] = [
			[
				{
					CNI_COMMAND: 'ADD',
					CNI_CONTAINERID: 'c1',
					CNI_NETNS: '/proc/self/ns/net',
					CNI_IFNAME: 'eth0',
					CNI_PATH: '/usr/lib/cni',
				},
				badConf,
				[],
			],
			[{CNI_COMMAND: 'STATUS', CNI_PATH: '/usr/lib/cni'}, badConf, []],
			[{}, '', ['--help']],
			[{}, '', ['--version']],
			[{}, '', ['no-such-command']],
		];
		for (const [env, stdin, args] of cases) {
			const bundled = launch('plexus', env, stdin, args);
			const source = launch('plexus', {...env, PLEXUS_FROM_SOURCE: '1'}, stdin, args);
			expect(bundled.entry).toBe(join(BUNDLE_DIR, 'main.js'));
			expect({stdout: bundled.stdout, status: bundled.status}).toEqual({
				stdout: source.stdout,
				status: source.status,
			});
		}
		const refused = launch('plexus', cases[0]![0], badConf);
		expect(JSON.parse(refused.stdout)).toMatchObject({
			code: 7,
			msg: 'invalid plexus config: unknown key "bogus"',
		});
	});
});

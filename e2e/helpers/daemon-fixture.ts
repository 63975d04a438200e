/**
 * Test fixture: `plexus daemon` as a child process with two extra plugins, so e2e tests can drive
 * the real shim binary against the real daemon (signals, kill -9, restarts):
 * - "fake": a scripted CniPlugin. Config keys under "fake": `sleepMs` (delay inside ADD, after the
 *   state file is written), `failCode`/`failMsg` (fail ADD), `stateDir` (ADD writes
 *   <stateDir>/<containerId>-<ifname> holding what the plugin saw; DEL removes it).
 * - "chain": the daemon's DelegateRunner, running the config as a conf/conflist of real delegates.
 * - "plexus": the real meta-plugin, as `plexus daemon` serves it.
 * Usage: node e2e/helpers/daemon-fixture.ts [plexus daemon options]
 */
import {mkdirSync, rmSync, writeFileSync} from 'node:fs';
import {join} from 'node:path';
import {setTimeout as sleep} from 'node:timers/promises';
import {CniError} from '../../src/cni/errors.ts';
import type {CniPlugin, PluginRequest} from '../../src/cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../../src/cni/versions.ts';
import {DAEMON_PLUGINS, runDaemonCommand} from '../../src/daemon/cli.ts';
import {DelegateRunner} from '../../src/daemon/delegate.ts';

interface FakeConf {
	sleepMs?: number;
	failCode?: number;
	failMsg?: string;
	stateDir?: string;
}

function fakeConf(request: PluginRequest): FakeConf {
	const conf = request.config['fake'];
	return typeof conf === 'object' && conf !== null ? (conf as FakeConf) : {};
}

const stateFile = (dir: string, request: PluginRequest) =>
	join(dir, `${request.containerId}-${request.ifname}`);

const fake: CniPlugin = {
	type: 'fake',
	supportedVersions: SUPPORTED_VERSIONS,
	async add(request) {
		const conf = fakeConf(request);
		if (conf.stateDir !== undefined) {
			mkdirSync(conf.stateDir, {recursive: true});
			const seen = {path: request.path, args: request.args, netns: request.netns, pid: process.pid};
			writeFileSync(stateFile(conf.stateDir, request), JSON.stringify(seen));
		}
		if (conf.sleepMs !== undefined) await sleep(conf.sleepMs);
		if (conf.failCode !== undefined) {
			throw new CniError(conf.failCode, conf.failMsg ?? 'scripted failure', {
				details: 'from the fake plugin',
			});
		}
		return {
			cniVersion: request.config['cniVersion'],
			interfaces: [{name: request.ifname, sandbox: request.netns}],
			ips: [],
		};
	},
	async del(request) {
		const conf = fakeConf(request);
		if (conf.stateDir !== undefined) rmSync(stateFile(conf.stateDir, request), {force: true});
	},
	async check() {},
};

const outcome = await runDaemonCommand(process.argv.slice(2), {
	env: process.env,
	plugins: new Map([
		...DAEMON_PLUGINS,
		['fake', async () => fake],
		['chain', async () => new DelegateRunner({cacheDir: process.env['PLEXUS_TEST_CACHE_DIR']})],
	]),
});
if (outcome.stderr !== '') process.stderr.write(outcome.stderr);
if (outcome.stdout !== '') process.stdout.write(outcome.stdout);
process.exitCode = outcome.exitCode;

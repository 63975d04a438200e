/**
 * Runs one corpus case both ways and says whether they agree: `plexus dry-run --check-host` on
 * the case's files (the CLI's own code, in-process), and the real meta-plugin ADD through the
 * plugin entry point (dispatch, as bin/plexus runs it) with the Debian plugins of /usr/lib/cni,
 * the in-process built-ins on the kernel, and a fresh network namespace for the pod. The Kubernetes
 * API is a FakeKubeClient serving the same pod and NADs the files hold.
 */
import {mkdir, writeFile} from 'node:fs/promises';
import {join} from 'node:path';
import type {ExecRequest, PluginExec} from '../../../../src/chain/plugin-exec.ts';
import {runDryRun} from '../../../../src/cli/dry-run/command.ts';
import {podCniArgs} from '../../../../src/cli/dry-run/plan.ts';
import {dispatch} from '../../../../src/cni/dispatch.ts';
import {FakeKubeClient} from '../../../../src/k8s/testing/fake-client.ts';
import {createPlexusPlugin} from '../../../../src/meta/plugin.ts';
import type {CorpusCase} from './pieces.ts';

/** Where the delegates come from: Debian's containernetworking-plugins. */
export const CNI_BIN = '/usr/lib/cni';

/** What one side said: ADD would succeed (message undefined) or fail with `message`. */
export interface Verdict {
	ok: boolean;
	message: string | undefined;
}

export interface CaseOutcome {
	dryRun: Verdict;
	add: Verdict;
	/** dry-run's error findings after the first (all of them are reported in one run). */
	moreFindings: number;
	/** dry-run's warnings (a "did you mean", a shared static address). */
	warnings: string[];
}

/**
 * A PluginExec decorator answering each binary's VERSION once per run: a binary's answer does not
 * change, and asking it a thousand times would only measure process start-up.
 */
export class VersionMemoExec implements PluginExec {
	readonly #inner: PluginExec;
	readonly #answers = new Map<string, Promise<Uint8Array>>();

	constructor(inner: PluginExec) {
		this.#inner = inner;
	}

	find(type: string, path: readonly string[]): Promise<string> {
		return this.#inner.find(type, path);
	}

	exec(request: ExecRequest): Promise<Uint8Array> {
		if (request.env['CNI_COMMAND'] !== 'VERSION') return this.#inner.exec(request);
		const key = `${request.pluginPath}\u0000${Buffer.from(request.stdin).toString('utf8')}`;
		let answer = this.#answers.get(key);
		if (answer === undefined) {
			answer = this.#inner.exec(request);
			this.#answers.set(key, answer);
		}
		return answer;
	}
}

/** The case as files: the Plexus conf, and one manifest (JSON documents) with the pod and its NADs. */
async function writeCase(dir: string, c: CorpusCase): Promise<{conf: string; pod: string}> {
	await mkdir(dir, {recursive: true});
	const conf = join(dir, '00-plexus.conf');
	const pod = join(dir, 'pod.yaml');
	const docs = [
		{
			apiVersion: 'v1',
			kind: 'Pod',
			metadata: {name: c.pod.name, namespace: c.pod.namespace, annotations: c.pod.annotations},
		},
		...c.nads.map((n) => ({
			apiVersion: 'k8s.cni.cncf.io/v1',
			kind: 'NetworkAttachmentDefinition',
			metadata: {name: n.name, namespace: n.namespace},
			spec: n.config === undefined ? {} : {config: n.config},
		})),
	];
	await writeFile(conf, c.conf);
	await writeFile(pod, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
	return {conf, pod};
}

/** What runs a case: the scratch dir for its files, the netns path, the exec seams. */
export interface CaseRunner {
	dir: string;
	netns: string;
	containerId: string;
	/** Runs dry-run's VERSION queries (memoised). */
	dryExec: PluginExec;
	/** Runs the real ADD's delegates. */
	addExec: PluginExec;
}

/** Runs dry-run and the real ADD of one case. */
export async function runCase(c: CorpusCase, r: CaseRunner): Promise<CaseOutcome> {
	const files = await writeCase(r.dir, c);
	const env = {PATH: process.env['PATH'] ?? '/usr/bin:/bin', CNI_PATH: CNI_BIN};
	const dry = await runDryRun(
		[
			'--conf',
			files.conf,
			'--pod',
			files.pod,
			'--check-host',
			'-o',
			'json',
			'--container-id',
			r.containerId,
			'--netns',
			r.netns,
		],
		{env, exec: r.dryExec},
	);
	if (dry.exitCode === 2) throw new Error(`dry-run usage error: ${dry.stderr}`);
	const report = JSON.parse(dry.stdout) as {findings: {severity: string; message: string}[]};
	const errors = report.findings.filter((f) => f.severity === 'error');

	const kube = new FakeKubeClient();
	kube.addPod(c.pod);
	for (const n of c.nads) kube.addNad(n.namespace, n.name, n.config);
	const plugin = createPlexusPlugin({kube: () => kube, exec: r.addExec, readinessTimeoutMs: 0});
	const addEnv: Record<string, string> = {
		...env,
		CNI_COMMAND: 'ADD',
		CNI_CONTAINERID: r.containerId,
		CNI_NETNS: r.netns,
		CNI_IFNAME: 'eth0',
		CNI_ARGS: podCniArgs(c.pod, r.containerId),
	};
	const add = await dispatch(plugin, {
		stdin: Buffer.from(c.conf),
		getenv: (name) => addEnv[name],
		env: addEnv,
	});
	return {
		dryRun: {ok: errors.length === 0, message: errors[0]?.message},
		add: add.ok ? {ok: true, message: undefined} : {ok: false, message: add.error.message},
		moreFindings: Math.max(0, errors.length - 1),
		warnings: report.findings.filter((f) => f.severity === 'warning').map((f) => f.message),
	};
}

/**
 * Pods and NetworkAttachmentDefinitions from YAML files (multi-document, `List` kinds too, YAML
 * read as kubectl reads it: ./yaml-text.ts) for `plexus dry-run`; the pod templates of workloads
 * (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) are read as pods. Served through the meta-plugin's own KubeClient interface so resolution runs
 * unchanged. Writes (network-status, events) are never made: a dry run changes nothing.
 */
import {readdir, readFile, stat} from 'node:fs/promises';
import {extname, join} from 'node:path';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {isJsonObject} from '../../cni/json.ts';
import type {KubeClient, Nad, Pod, PodEvent, StatusWriteOutcome} from '../../k8s/client.ts';
import {qualifiedName} from '../../k8s/k8s-args.ts';
import {parseYamlDocuments} from './yaml-text.ts';

export interface Manifests {
	pods: Pod[];
	nads: Nad[];
}

function stringMap(value: unknown): Record<string, string> {
	const out: Record<string, string> = {};
	if (!isJsonObject(value)) return out;
	for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
	return out;
}

function badManifest(file: string, why: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, `failed to read manifest "${file}": ${why}`);
}

/** Kinds whose pod template is at spec.template (CronJob: spec.jobTemplate.spec.template). */
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob']);

function objectAt(value: unknown, ...path: string[]): Record<string, unknown> | undefined {
	let at = value;
	for (const key of path) at = isJsonObject(at) ? at[key] : undefined;
	return isJsonObject(at) ? at : undefined;
}

function nonEmpty(value: unknown): string | undefined {
	return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * The pod a workload's template makes: the template's annotations, its namespace or else the
 * workload's, and the workload's name (a StatefulSet's first pod: <name>-0).
 */
function templatePod(
	object: Record<string, unknown>,
	kind: string,
	file: string,
	defaultNamespace: string,
): Pod {
	const metadata = objectAt(object, 'metadata') ?? {};
	const name = nonEmpty(metadata['name']);
	if (name === undefined) throw badManifest(file, `a ${kind} has no metadata.name`);
	const template =
		kind === 'CronJob'
			? objectAt(object, 'spec', 'jobTemplate', 'spec', 'template')
			: objectAt(object, 'spec', 'template');
	if (template === undefined) throw badManifest(file, `${kind} "${name}" has no pod template`);
	const templateMeta = objectAt(template, 'metadata') ?? {};
	return {
		name: kind === 'StatefulSet' ? `${name}-0` : name,
		namespace: nonEmpty(templateMeta['namespace']) ?? nonEmpty(metadata['namespace']) ?? defaultNamespace,
		uid: '',
		annotations: stringMap(templateMeta['annotations']),
	};
}

/** Adds the Pods and NADs of one decoded object (recursing into `kind: List`). */
function collect(object: unknown, file: string, defaultNamespace: string, into: Manifests): void {
	if (!isJsonObject(object)) return;
	const kind = object['kind'];
	if (kind === 'List' && Array.isArray(object['items'])) {
		for (const item of object['items']) collect(item, file, defaultNamespace, into);
		return;
	}
	if (typeof kind === 'string' && WORKLOAD_KINDS.has(kind)) {
		into.pods.push(templatePod(object, kind, file, defaultNamespace));
		return;
	}
	if (kind !== 'Pod' && kind !== 'NetworkAttachmentDefinition') return;
	const metadata = isJsonObject(object['metadata']) ? object['metadata'] : {};
	const name = metadata['name'];
	if (typeof name !== 'string' || name === '') throw badManifest(file, `a ${kind} has no metadata.name`);
	const namespace = nonEmpty(metadata['namespace']) ?? defaultNamespace;
	const annotations = stringMap(metadata['annotations']);
	if (kind === 'Pod') {
		const raw = metadata['uid'];
		const uid = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
		into.pods.push({name, namespace, uid, annotations});
		return;
	}
	const spec = isJsonObject(object['spec']) ? object['spec'] : {};
	const config = spec['config'];
	if (config !== undefined && typeof config !== 'string')
		throw badManifest(
			file,
			`network-attachment-definition "${namespace}/${name}": spec.config is not a string`,
		);
	into.nads.push({name, namespace, config, annotations});
}

/** Parses YAML text (one or more documents) as kubectl decodes it. */
export function parseManifests(text: string, file: string, defaultNamespace = 'default'): Manifests {
	const out: Manifests = {pods: [], nads: []};
	const parsed = parseYamlDocuments(text);
	if ('error' in parsed) throw badManifest(file, parsed.error);
	for (const value of parsed.values) collect(value, file, defaultNamespace, out);
	return out;
}

/**
 * The pod `--pod-name` names among a file's pods ("name" or "namespace/name"); with no name, the
 * only pod. A string when none or several match: the usage error, listing the pods.
 */
export function selectPod(pods: readonly Pod[], file: string, name: string | undefined): Pod | string {
	const all = pods.map((p) => qualifiedName(p));
	const matches =
		name === undefined ? [...pods] : pods.filter((p) => p.name === name || qualifiedName(p) === name);
	const [only, ...more] = matches;
	if (only !== undefined && more.length === 0) return only;
	if (pods.length === 0) return `"${file}" has no Pod (nor a workload's pod template)`;
	const list = all.join(', ');
	if (name === undefined) return `"${file}" has ${pods.length} pods (${list}): choose one with --pod-name`;
	if (only === undefined) return `--pod-name "${name}" is not a pod of "${file}" (it has ${list})`;
	return `--pod-name "${name}" matches ${matches.length} pods of "${file}" (${list}): give namespace/name`;
}

/** Reads files, or every .yaml/.yml/.json file of a directory (sorted, not recursive). */
export async function loadManifests(
	paths: readonly string[],
	defaultNamespace = 'default',
): Promise<Manifests> {
	const out: Manifests = {pods: [], nads: []};
	for (const path of paths) {
		let files = [path];
		try {
			if ((await stat(path)).isDirectory()) {
				files = (await readdir(path))
					.filter((n) => ['.yaml', '.yml', '.json'].includes(extname(n)))
					.sort()
					.map((n) => join(path, n));
			}
		} catch (error) {
			throw badManifest(path, (error as Error).message);
		}
		for (const file of files) {
			let text: string;
			try {
				text = await readFile(file, 'utf8');
			} catch (error) {
				throw badManifest(file, (error as Error).message);
			}
			const found = parseManifests(text, file, defaultNamespace);
			out.pods.push(...found.pods);
			out.nads.push(...found.nads);
		}
	}
	return out;
}

/**
 * A read-only KubeClient: pods and NADs from manifests, optionally falling back to a real client
 * for what the manifests do not have (NADs from the cluster for a pod from a file, or the reverse).
 */
export class ManifestKubeClient implements KubeClient {
	readonly #pods = new Map<string, Pod>();
	readonly #nads = new Map<string, Nad>();
	readonly #fallback: KubeClient | undefined;

	constructor(manifests: Manifests, fallback?: KubeClient) {
		for (const pod of manifests.pods) this.#pods.set(qualifiedName(pod), pod);
		for (const nad of manifests.nads) this.#nads.set(qualifiedName(nad), nad);
		this.#fallback = fallback;
	}

	async getPod(namespace: string, name: string): Promise<Pod | undefined> {
		return this.#pods.get(`${namespace}/${name}`) ?? (await this.#fallback?.getPod(namespace, name));
	}

	async getNad(namespace: string, name: string): Promise<Nad | undefined> {
		return this.#nads.get(`${namespace}/${name}`) ?? (await this.#fallback?.getNad(namespace, name));
	}

	async setPodAnnotation(
		_namespace: string,
		_name: string,
		_uid: string | undefined,
		_key: string,
		_value: string,
	): Promise<StatusWriteOutcome> {
		return 'written';
	}

	async createEvent(_event: PodEvent): Promise<void> {}
}

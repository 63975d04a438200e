/**
 * Pods and NetworkAttachmentDefinitions from YAML files (multi-document, `List` kinds too) for
 * `plexus dry-run`, served through the meta-plugin's own KubeClient interface so resolution runs
 * unchanged. Writes (network-status, events) are never made: a dry run changes nothing.
 */
import {readdir, readFile, stat} from 'node:fs/promises';
import {extname, join} from 'node:path';
import {parseAllDocuments} from 'yaml';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import type {KubeClient, Nad, Pod, PodEvent, StatusWriteOutcome} from '../../k8s/client.ts';

export interface Manifests {
	pods: Pod[];
	nads: Nad[];
}

function isObject(value: unknown): value is Record<string, unknown> {
	return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> {
	const out: Record<string, string> = {};
	if (!isObject(value)) return out;
	for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
	return out;
}

function badManifest(file: string, why: string): CniError {
	return new CniError(CniErrorCode.invalidConfig, `failed to read manifest "${file}": ${why}`);
}

/** Adds the Pods and NADs of one decoded object (recursing into `kind: List`). */
function collect(object: unknown, file: string, defaultNamespace: string, into: Manifests): void {
	if (!isObject(object)) return;
	const kind = object['kind'];
	if (kind === 'List' && Array.isArray(object['items'])) {
		for (const item of object['items']) collect(item, file, defaultNamespace, into);
		return;
	}
	if (kind !== 'Pod' && kind !== 'NetworkAttachmentDefinition') return;
	const metadata = isObject(object['metadata']) ? object['metadata'] : {};
	const name = metadata['name'];
	if (typeof name !== 'string' || name === '') throw badManifest(file, `a ${kind} has no metadata.name`);
	const namespace =
		typeof metadata['namespace'] === 'string' && metadata['namespace'] !== ''
			? metadata['namespace']
			: defaultNamespace;
	const annotations = stringMap(metadata['annotations']);
	if (kind === 'Pod') {
		const raw = metadata['uid'];
		const uid = typeof raw === 'string' || typeof raw === 'number' ? String(raw) : '';
		into.pods.push({name, namespace, uid, annotations});
		return;
	}
	const spec = isObject(object['spec']) ? object['spec'] : {};
	const config = spec['config'];
	if (config !== undefined && typeof config !== 'string')
		throw badManifest(
			file,
			`network-attachment-definition "${namespace}/${name}": spec.config is not a string`,
		);
	into.nads.push({name, namespace, config, annotations});
}

/** Parses YAML text (one or more documents). */
export function parseManifests(text: string, file: string, defaultNamespace = 'default'): Manifests {
	const out: Manifests = {pods: [], nads: []};
	for (const doc of parseAllDocuments(text)) {
		if (doc.errors.length > 0) throw badManifest(file, doc.errors[0]?.message ?? 'invalid YAML');
		collect(doc.toJS(), file, defaultNamespace, out);
	}
	return out;
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
		for (const pod of manifests.pods) this.#pods.set(`${pod.namespace}/${pod.name}`, pod);
		for (const nad of manifests.nads) this.#nads.set(`${nad.namespace}/${nad.name}`, nad);
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

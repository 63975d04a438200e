/**
 * conf/deploy/daemonset.yaml as kubelet would run it on one node, through CRI: the pod template is
 * read from the manifest (nothing restated here) and turned into the PodSandboxConfig and
 * ContainerConfigs kubelet would send: host network and PID namespaces, privileges, command and
 * args, env (`fieldRef: spec.nodeName` as the node's name), every hostPath volume mount with its
 * propagation, and configMap volumes (conf/deploy/configmap.yaml's data as files). Tests relocate each hostPath to a directory they own (`HostPaths`), so the
 * host's /etc/cni/net.d, /opt/cni/bin, /run/plexus and /var/lib/cni are never touched.
 */
import {readFileSync} from 'node:fs';
import {mkdir, readFile, writeFile} from 'node:fs/promises';
import {join, resolve} from 'node:path';
import {credentials, loadPackageDefinition, Metadata, type ServiceClientConstructor} from '@grpc/grpc-js';
import {loadSync} from '@grpc/proto-loader';
import {execa} from 'execa';
import {parse, parseAllDocuments} from 'yaml';
import type {
	ContainerConfig,
	Mount,
	NamespaceOption,
	PodSandboxConfig,
	PodSandboxMetadata,
} from './cri-client.ts';

export const DAEMONSET_MANIFEST = resolve(import.meta.dirname, '../../../conf/deploy/daemonset.yaml');

/** A container of the pod template (the fields kubelet's CRI calls carry). */
export interface ManifestContainer {
	name: string;
	image: string;
	command?: string[];
	args?: string[];
	env?: {name: string; value?: string; valueFrom?: {fieldRef?: {fieldPath: string}}}[];
	securityContext?: {privileged?: boolean};
	volumeMounts?: {name: string; mountPath: string; readOnly?: boolean; mountPropagation?: string}[];
}

/** The DaemonSet's pod template spec. */
export interface ManifestPod {
	hostNetwork?: boolean;
	hostPID?: boolean;
	terminationGracePeriodSeconds?: number;
	initContainers: ManifestContainer[];
	containers: ManifestContainer[];
	volumes: {name: string; hostPath?: {path: string; type?: string}; configMap?: {name: string}}[];
}

/** conf/deploy's ConfigMaps (configmap.yaml), which the DaemonSet's configMap volumes name. */
export const CONFIGMAP_MANIFEST = resolve(import.meta.dirname, '../../../conf/deploy/configmap.yaml');

/** The data of ConfigMap `name` in `file`. */
function configMapData(name: string, file = CONFIGMAP_MANIFEST): Record<string, string> {
	const docs = parseAllDocuments(readFileSync(file, 'utf8')).map(
		(doc) => doc.toJS() as {kind: string; metadata: {name: string}; data?: Record<string, string>},
	);
	const found = docs.find((doc) => doc.kind === 'ConfigMap' && doc.metadata.name === name);
	if (found === undefined) throw new Error(`${file}: no ConfigMap "${name}"`);
	return found.data ?? {};
}

/** The pod template of the DaemonSet manifest. */
export function loadDaemonSetPod(file = DAEMONSET_MANIFEST): ManifestPod {
	const doc = parse(readFileSync(file, 'utf8')) as {kind: string; spec: {template: {spec: ManifestPod}}};
	if (doc.kind !== 'DaemonSet') throw new Error(`${file}: expected a DaemonSet, got ${doc.kind}`);
	return doc.spec.template.spec;
}

/** One container of the template by name. */
export function manifestContainer(pod: ManifestPod, name: string): ManifestContainer {
	const found = [...pod.initContainers, ...pod.containers].find((c) => c.name === name);
	if (found === undefined) throw new Error(`the DaemonSet has no container "${name}"`);
	return found;
}

/** Where each hostPath of the manifest lives in the test: host path → test-owned path. */
export type HostPaths = (hostPath: string) => string;

/** The namespaces kubelet asks for: the node's network and PID namespaces when the pod says so. */
function namespaces(pod: ManifestPod): NamespaceOption {
	return {network: pod.hostNetwork ? 'NODE' : 'POD', pid: pod.hostPID ? 'NODE' : 'CONTAINER', ipc: 'POD'};
}

/** RunPodSandbox's config for the DaemonSet's pod on this node (privileged when a container is). */
export function daemonSetSandbox(
	pod: ManifestPod,
	metadata: PodSandboxMetadata,
	logDirectory: string,
): PodSandboxConfig {
	const privileged = [...pod.initContainers, ...pod.containers].some((c) => c.securityContext?.privileged);
	return {
		metadata,
		logDirectory,
		linux: {securityContext: {namespaceOptions: namespaces(pod), privileged}},
	};
}

const PROPAGATION: Record<string, Mount['propagation']> = {
	None: 'PROPAGATION_PRIVATE',
	HostToContainer: 'PROPAGATION_HOST_TO_CONTAINER',
	Bidirectional: 'PROPAGATION_BIDIRECTIONAL',
};

/**
 * CreateContainer's config for `container` as kubelet builds it; `hostPaths` relocates each
 * hostPath (created as DirectoryOrCreate would), `args` replaces the manifest's args when given.
 */
export async function daemonSetContainer(
	pod: ManifestPod,
	container: ManifestContainer,
	options: {hostPaths: HostPaths; nodeName: string; logPath: string; args?: string[] | undefined},
): Promise<ContainerConfig> {
	const mounts: Mount[] = [];
	for (const m of container.volumeMounts ?? []) {
		const volume = pod.volumes.find((v) => v.name === m.name);
		let hostPath: string;
		if (volume?.configMap !== undefined) {
			// kubelet projects each key as a file into a directory of its own.
			hostPath = options.hostPaths(`/var/lib/kubelet/pods/plexus/volumes/kubernetes.io~configmap/${m.name}`);
			await mkdir(hostPath, {recursive: true});
			for (const [key, text] of Object.entries(configMapData(volume.configMap.name))) {
				await writeFile(join(hostPath, key), text);
			}
		} else {
			if (volume?.hostPath === undefined)
				throw new Error(`volume "${m.name}" is neither a hostPath nor a configMap`);
			hostPath = options.hostPaths(volume.hostPath.path);
			await mkdir(hostPath, {recursive: true});
		}
		const propagation = PROPAGATION[m.mountPropagation ?? 'None'];
		if (propagation === undefined) throw new Error(`unknown mountPropagation "${m.mountPropagation}"`);
		mounts.push({containerPath: m.mountPath, hostPath, readonly: m.readOnly === true, propagation});
	}
	const envs = (container.env ?? []).map((e) => {
		if (e.value !== undefined) return {key: e.name, value: e.value};
		if (e.valueFrom?.fieldRef?.fieldPath === 'spec.nodeName') return {key: e.name, value: options.nodeName};
		throw new Error(`env "${e.name}": only values and fieldRef spec.nodeName are supported`);
	});
	return {
		metadata: {name: container.name},
		image: {image: container.image},
		command: container.command ?? [],
		args: options.args ?? container.args ?? [],
		envs,
		mounts,
		logPath: options.logPath,
		linux: {
			securityContext: {
				privileged: container.securityContext?.privileged === true,
				namespaceOptions: namespaces(pod),
			},
		},
	};
}

/**
 * The CNI network names containerd's CRI plugin has loaded (Status verbose, as `crictl info`
 * shows it): the tests wait for the conf the init container wrote before creating a pod.
 */
export async function loadedCniNetworks(address: string, protoFile: string): Promise<string[]> {
	const definition = loadSync(protoFile, {longs: String, enums: String, defaults: true, oneofs: true});
	const loaded = loadPackageDefinition(definition) as unknown as {
		runtime: {v1: {RuntimeService: ServiceClientConstructor}};
	};
	const client = new loaded.runtime.v1.RuntimeService(`unix://${address}`, credentials.createInsecure());
	try {
		const info = await new Promise<Record<string, string>>((done, fail) => {
			(client as unknown as Record<string, (...args: unknown[]) => void>)['Status']?.call(
				client,
				{verbose: true},
				new Metadata(),
				{deadline: Date.now() + 10_000},
				(error: Error | null, response: {info: Record<string, string>}) =>
					error === null ? done(response.info) : fail(error),
			);
		});
		const cni = JSON.parse(info['cniconfig'] ?? '{}') as {Networks?: {Config?: {Name?: string}}[]};
		return (cni.Networks ?? []).map((n) => n.Config?.Name ?? '');
	} finally {
		client.close();
	}
}

/**
 * Makes the mount holding `/` shared when it is private, and returns how to undo that. The
 * DaemonSet mounts the host's / with HostToContainer (rslave) propagation, which the CRI plugin
 * only accepts for a shared or slave source ("path "/" is mounted on "/" but it is not a shared or
 * slave mount"): systemd makes / shared on every node at boot, but a machine that is itself a
 * container (this test host) has a private /. Only that one mount is changed; other mounts keep
 * their propagation.
 */
export async function ensureRootShared(): Promise<() => Promise<void>> {
	const mountinfo = await readFile('/proc/self/mountinfo', 'utf8');
	const root = mountinfo
		.split('\n')
		.map((line) => line.split(' '))
		.filter((f) => f[4] === '/')
		.at(-1);
	const tags = root === undefined ? [] : root.slice(6, root.indexOf('-'));
	if (tags.some((t) => t.startsWith('shared:') || t.startsWith('master:'))) return async () => undefined;
	await execa('mount', ['--make-shared', '/']);
	return async () => {
		await execa('mount', ['--make-private', '/'], {reject: false});
	};
}

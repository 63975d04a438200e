/**
 * conf/deploy validated offline: every manifest parses, has the kinds and fields a cluster needs,
 * the DaemonSet's arguments are accepted by the real option parsers, its mounts match its
 * volumes, and the Dockerfile copies paths that exist.
 */
import {existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs';
import {tmpdir} from 'node:os';
import {join, resolve} from 'node:path';
import {execa} from 'execa';
import {describe, expect, it} from 'vitest';
import {parseAllDocuments} from 'yaml';
import {parseDaemonOptions} from '../../src/daemon/cli.ts';
import {parseListenAddress} from '../../src/daemon/metrics.ts';
import {parseInstallArgs, runInstallCommand} from '../../src/install/cli.ts';
import {DEFAULT_DEVICE_CHECKPOINT, DEFAULT_DP_DEVICE_INFO_DIR} from '../../src/k8s/device-plugin.ts';
import {DEFAULT_DEVICE_INFO_DIR} from '../../src/meta/conf/conf.ts';
import {TAKEN_OVER_KEYS} from '../../src/multus/multus-conf.ts';

const root = resolve(import.meta.dirname, '../..');
const deploy = join(root, 'conf/deploy');

/** Every file under `dir` (relative path → content). */
function tree(dir: string, prefix = ''): Record<string, string> {
	const out: Record<string, string> = {};
	for (const entry of readdirSync(join(dir, prefix), {withFileTypes: true})) {
		const path = join(prefix, entry.name);
		if (entry.isDirectory()) Object.assign(out, tree(dir, path));
		else out[path] = readFileSync(join(dir, path), 'utf8');
	}
	return out;
}

type Doc = Record<string, unknown> & {kind: string; metadata: {name: string; namespace?: string}};

/** All YAML documents of a manifest file; any parse error fails. */
function load(file: string): Doc[] {
	const docs = parseAllDocuments(readFileSync(join(deploy, file), 'utf8'));
	if (!Array.isArray(docs)) throw new Error(`${file}: empty`);
	for (const doc of docs) {
		if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors.map((e) => e.message).join('; ')}`);
	}
	return docs.map((doc) => doc.toJS() as Doc);
}

// biome-ignore lint/suspicious/noExplicitAny: walking untyped manifests
const manifest = (docs: Doc[], kind: string): any => {
	const found = docs.find((doc) => doc.kind === kind);
	if (found === undefined) throw new Error(`no ${kind}`);
	return found;
};

describe('conf/deploy', () => {
	const all = ['crd.yaml', 'rbac.yaml', 'configmap.yaml', 'daemonset.yaml'].flatMap(load);

	it('has every object a cluster needs, each with apiVersion, kind and name', () => {
		expect(all.map((doc) => `${doc['apiVersion']} ${doc.kind}`).sort()).toEqual([
			'apiextensions.k8s.io/v1 CustomResourceDefinition',
			'apps/v1 DaemonSet',
			'rbac.authorization.k8s.io/v1 ClusterRole',
			'rbac.authorization.k8s.io/v1 ClusterRoleBinding',
			'v1 ConfigMap',
			'v1 ServiceAccount',
		]);
		for (const doc of all) expect(doc.metadata.name).toMatch(/^[a-z0-9.-]+$/);
	});

	it("defines the NPWG NetworkAttachmentDefinition CRD with Multus's names and short names", () => {
		const crd = manifest(all, 'CustomResourceDefinition');
		expect(crd.metadata.name).toBe('network-attachment-definitions.k8s.cni.cncf.io');
		expect(crd.spec.group).toBe('k8s.cni.cncf.io');
		expect(crd.spec.scope).toBe('Namespaced');
		// As multus-cni's deployments/multus-daemonset*.yml name it: `kubectl get nad` keeps working.
		expect(crd.spec.names).toEqual({
			plural: 'network-attachment-definitions',
			singular: 'network-attachment-definition',
			kind: 'NetworkAttachmentDefinition',
			shortNames: ['nad', 'net-attach-def'],
		});
		const [v1] = crd.spec.versions;
		expect(v1).toMatchObject({name: 'v1', served: true, storage: true});
		expect(v1.schema.openAPIV3Schema.properties.spec.properties.config.type).toBe('string');
	});

	it('grants exactly what the daemon uses, bound to its service account', () => {
		const role = manifest(all, 'ClusterRole');
		// src/k8s/client.ts: GET pods, PUT pods/status (no PATCH), POST events
		// (core/v1); src/daemon/kube-cache.ts: list+watch of pods and NADs; live GET of NADs.
		const granted = (role.rules as {apiGroups: string[]; resources: string[]; verbs: string[]}[]).flatMap(
			(rule) =>
				rule.apiGroups.flatMap((group) =>
					rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${group}/${resource} ${verb}`)),
				),
		);
		expect(granted.sort()).toEqual(
			[
				'/events create',
				'/pods get',
				'/pods list',
				'/pods watch',
				'/pods/status update',
				'k8s.cni.cncf.io/network-attachment-definitions get',
				'k8s.cni.cncf.io/network-attachment-definitions list',
				'k8s.cni.cncf.io/network-attachment-definitions watch',
				// src/devices/dra-rest.ts: GET of a pod's ResourceClaims, LIST of the node's ResourceSlices;
				// src/daemon/slice-cache.ts: list+watch of this node's ResourceSlices.
				'resource.k8s.io/resourceclaims get',
				'resource.k8s.io/resourceslices list',
				'resource.k8s.io/resourceslices watch',
			].sort(),
		);
		type Rule = {apiGroups: string[]; resources: string[]; verbs: string[]};
		const allows = (group: string, resource: string, verb: string) =>
			role.rules.some(
				(rule: Rule) =>
					rule.apiGroups.includes(group) && rule.resources.includes(resource) && rule.verbs.includes(verb),
			);
		for (const verb of ['get', 'list', 'watch']) {
			expect(allows('k8s.cni.cncf.io', 'network-attachment-definitions', verb)).toBe(true);
			expect(allows('', 'pods', verb)).toBe(true);
		}
		expect(allows('', 'pods/status', 'update')).toBe(true);
		expect(allows('', 'events', 'create')).toBe(true);
		expect(allows('', 'secrets', 'get')).toBe(false);
		const account = manifest(all, 'ServiceAccount');
		const binding = manifest(all, 'ClusterRoleBinding');
		expect(binding.roleRef).toEqual({
			apiGroup: 'rbac.authorization.k8s.io',
			kind: 'ClusterRole',
			name: role.metadata.name,
		});
		expect(binding.subjects).toEqual([
			{kind: 'ServiceAccount', name: account.metadata.name, namespace: account.metadata.namespace},
		]);
	});

	it('runs the daemon privileged on the host network with arguments the daemon accepts', () => {
		const ds = manifest(all, 'DaemonSet');
		const pod = ds.spec.template.spec;
		expect(ds.spec.selector.matchLabels).toEqual(ds.spec.template.metadata.labels);
		expect(pod.serviceAccountName).toBe(manifest(all, 'ServiceAccount').metadata.name);
		expect(pod.hostNetwork).toBe(true);
		const daemon = pod.containers.find((c: {name: string}) => c.name === 'daemon');
		expect(daemon.command).toEqual(['/app/bin/plexus']);
		expect(daemon.args[0]).toBe('daemon');
		expect(daemon.securityContext.privileged).toBe(true);
		const options = parseDaemonOptions(daemon.args.slice(1));
		expect(options.socketPath).toBe('/run/plexus/plexus.sock');
		const metrics = parseListenAddress(options.metricsAddress);
		// Not every interface of the node: the metrics listener is loopback unless an operator says so.
		expect(metrics.host).toBe('127.0.0.1');
		expect(daemon.ports).toContainEqual({name: 'metrics', containerPort: metrics.port, protocol: 'TCP'});
		// kubelet probes the metrics listener: readiness on /readyz, liveness on /healthz (not /metrics),
		// on loopback, which a hostNetwork pod shares with kubelet.
		const probe = {host: metrics.host, port: 'metrics'};
		expect(daemon.readinessProbe.httpGet).toEqual({...probe, path: '/readyz'});
		expect(daemon.livenessProbe.httpGet).toEqual({...probe, path: '/healthz'});
		expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(
			options.graceMs + options.drainTimeoutMs,
		);
		const mounts = Object.fromEntries(daemon.volumeMounts.map((m: {mountPath: string}) => [m.mountPath, m]));
		expect(mounts['/run/plexus']).toBeDefined();
		expect(mounts['/run/netns'].mountPropagation).toBe('HostToContainer');
		expect(mounts['/var/lib/cni']).toBeDefined();
		expect(options.defaultCniPath.every((dir) => mounts[dir] !== undefined)).toBe(true);
		// The default paths the meta-plugin reads and writes for device plugins and device-info
		// (/var/run is /run in the image as on the host).
		const mounted = (path: string) =>
			Object.keys(mounts).some((m) => path.replace(/^\/var\/run\//, '/run/').startsWith(`${m}/`));
		for (const path of [DEFAULT_DEVICE_CHECKPOINT, DEFAULT_DEVICE_INFO_DIR, DEFAULT_DP_DEVICE_INFO_DIR]) {
			expect(mounted(path), path).toBe(true);
		}
	});

	it("runs delegates in the host root: --chroot-dir is a mount of the host's / with HostToContainer", () => {
		const pod = manifest(all, 'DaemonSet').spec.template.spec;
		const daemon = pod.containers.find((c: {name: string}) => c.name === 'daemon');
		const {chrootDir} = parseDaemonOptions(daemon.args.slice(1));
		expect(chrootDir).toBe('/hostroot');
		const mount = daemon.volumeMounts.find((m: {mountPath: string}) => m.mountPath === chrootDir);
		expect(mount).toMatchObject({mountPropagation: 'HostToContainer'});
		expect(mount.readOnly).toBeUndefined();
		const volume = pod.volumes.find((v: {name: string}) => v.name === mount.name);
		expect(volume.hostPath.path).toBe('/');
		// The daemon's own files are not under the host root mount.
		const options = parseDaemonOptions(daemon.args.slice(1));
		expect(options.socketPath.startsWith(`${chrootDir}/`)).toBe(false);
	});

	it('runs the daemon with NODE_OPTIONS that Node accepts', async () => {
		const daemon = manifest(all, 'DaemonSet').spec.template.spec.containers[0];
		const options = daemon.env.find((e: {name: string}) => e.name === 'NODE_OPTIONS')?.value as string;
		expect(options).toContain('--max-semi-space-size=');
		const check = await execa(process.execPath, [...options.split(' '), '-e', '0'], {reject: false});
		expect(check.stderr).toBe('');
		expect(check.exitCode).toBe(0);
	});

	it('installs the shim from an init container whose arguments the installer accepts', () => {
		const pod = manifest(all, 'DaemonSet').spec.template.spec;
		const [init] = pod.initContainers;
		expect(init.command).toEqual(['/app/scripts/install']);
		const {values} = parseInstallArgs(init.args);
		expect(values['conf-dir']).toBe('/etc/cni/net.d');
		const mounts = init.volumeMounts.map((m: {mountPath: string}) => m.mountPath);
		expect(mounts).toContain(values['conf-dir']);
		expect(mounts).toContain(values['bin-dir']);
		expect(values['socket-dir']).toBe('/run/plexus');
		const hostPaths = Object.fromEntries(
			pod.volumes.map((v: {name: string; hostPath?: {path: string}}) => [v.name, v.hostPath?.path]),
		);
		const runMount = pod.containers[0].volumeMounts.find(
			(m: {mountPath: string}) => m.mountPath === '/run/plexus',
		);
		expect(hostPaths[runMount.name]).toBe(values['socket-dir']);
		expect(hostPaths[init.volumeMounts[0].name]).toBe('/etc/cni/net.d');
	});

	it('renders the plexus-conf ConfigMap in the init container; it holds every Multus key Plexus honours', () => {
		const pod = manifest(all, 'DaemonSet').spec.template.spec;
		const [init] = pod.initContainers;
		const {values} = parseInstallArgs(init.args);
		const configMap = manifest(all, 'ConfigMap');
		const volume = pod.volumes.find(
			(v: {configMap?: {name: string}}) => v.configMap?.name === configMap.metadata.name,
		);
		const mount = init.volumeMounts.find((m: {name: string}) => m.name === volume.name);
		expect(values.conf).toBe(`${mount.mountPath}/plexus.json`);
		const keys = JSON.parse(configMap.data['plexus.json']) as Record<string, unknown>;
		// install sets clusterNetwork (or delegates) and kubeconfig; the rest is the operator's.
		const setByInstall = ['clusterNetwork', 'delegates', 'kubeconfig'];
		// Accepted for Multus compatibility with no effect in Plexus (no rotation; DEL retry always on).
		const inert = ['logOptions', 'retryDeleteOnError'];
		for (const key of TAKEN_OVER_KEYS) {
			if (!setByInstall.includes(key) && !inert.includes(key)) expect(keys, key).toHaveProperty(key);
		}
		expect(keys).toHaveProperty('apiTimeoutMs');
	});

	it('has an uninstall DaemonSet that restores what the init container installed (over Multus too)', async () => {
		const pod = manifest(all, 'DaemonSet').spec.template.spec;
		const back = manifest(load('uninstall.yaml'), 'DaemonSet').spec.template.spec;
		const [install] = pod.initContainers;
		const [uninstall] = back.initContainers;
		type Mount = {name: string; mountPath: string};
		type Volume = {name: string; hostPath?: {path: string}};
		// mountPath → host path, per container.
		const view = (spec: {volumes: Volume[]}, container: {volumeMounts: Mount[]}) =>
			new Map(
				container.volumeMounts.map((m) => [
					m.mountPath,
					spec.volumes.find((v) => v.name === m.name)?.hostPath?.path ?? `configMap:${m.name}`,
				]),
			);
		const installView = view(pod, install);
		const uninstallView = view(back, uninstall);
		// The install state records paths as the install container saw them: the uninstall container
		// must see the same host dirs at the same paths.
		for (const [mountPath, hostPath] of uninstallView) expect(installView.get(mountPath)).toBe(hostPath);
		expect(uninstall.command.slice(0, 1)).toEqual(install.command);
		expect(uninstall.command).toContain('--uninstall');

		// Run both, as the containers would, against a fake host under a temp dir.
		const host = mkdtempSync(join(tmpdir(), 'plexus-deploy-'));
		try {
			const translate = (viewOf: Map<string, string>, arg: string) =>
				arg.replace(/^(--[a-z-]+=)(\/.*)$/, (_all, flag: string, path: string) => {
					const mount = [...viewOf.keys()].find((m) => path === m || path.startsWith(`${m}/`));
					return mount === undefined
						? `${flag}${path}`
						: `${flag}${host}${viewOf.get(mount)}${path.slice(mount.length)}`;
				});
			mkdirSync(join(host, 'etc/cni/net.d'), {recursive: true});
			mkdirSync(join(host, 'opt/cni/bin'), {recursive: true});
			writeFileSync(
				join(host, 'etc/cni/net.d/10-flannel.conflist'),
				'{"cniVersion":"1.0.0","name":"cbr0","plugins":[{"type":"flannel"}]}',
			);
			writeFileSync(
				join(host, 'etc/cni/net.d/00-multus.conf'),
				'{"cniVersion":"1.0.0","name":"multus-cni-network","type":"multus","clusterNetwork":"/etc/cni/net.d/10-flannel.conflist"}',
			);
			writeFileSync(join(host, 'opt/cni/bin/multus'), 'multus');
			const before = tree(host);
			writeFileSync(join(host, 'shim'), 'shim');
			writeFileSync(join(host, 'plexus.json'), manifest(all, 'ConfigMap').data['plexus.json']);
			const installArgs = install.args
				.map((arg: string) => translate(installView, arg))
				.map((arg: string) => (arg.startsWith('--conf=') ? `--conf=${join(host, 'plexus.json')}` : arg));
			const installed = await runInstallCommand('install', [...installArgs, `--shim=${join(host, 'shim')}`]);
			expect(installed.stderr).toContain('taking over');
			const after = Object.keys(tree(host));
			expect(after).toContain('etc/cni/net.d/00-plexus.conflist');
			expect(after).toContain('opt/cni/bin/plexus-shim');
			expect(after).not.toContain('etc/cni/net.d/00-multus.conf');
			const uninstallArgs = [...uninstall.command.slice(1), ...uninstall.args]
				.filter((arg: string) => arg !== '--uninstall')
				.map((arg: string) => translate(uninstallView, arg));
			const undone = await runInstallCommand('uninstall', uninstallArgs);
			expect(undone.exitCode).toBe(0);
			rmSync(join(host, 'shim'));
			rmSync(join(host, 'plexus.json'));
			expect(tree(host)).toEqual(before);
		} finally {
			rmSync(host, {recursive: true, force: true});
		}
	});

	it('mounts only volumes the pod defines', () => {
		const pod = manifest(all, 'DaemonSet').spec.template.spec;
		const names = new Set(pod.volumes.map((v: {name: string}) => v.name));
		for (const container of [...pod.initContainers, ...pod.containers]) {
			for (const mount of container.volumeMounts) expect(names.has(mount.name)).toBe(true);
		}
	});

	it('has a Dockerfile that builds with npm ci and copies only paths that exist', () => {
		const dockerfile = readFileSync(join(deploy, 'Dockerfile'), 'utf8');
		expect(dockerfile).toMatch(/^RUN npm ci$/m);
		expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/bin\/plexus"\]$/m);
		// The same image as `npm run image`: the root filesystem comes from scripts/image --rootfs, and
		// the entrypoint and command are the ones scripts/image gives buildah.
		expect(dockerfile).toMatch(/^RUN bash scripts\/image --rootfs \/rootfs$/m);
		expect(dockerfile).toMatch(/^FROM scratch\nCOPY --from=build \/rootfs\/ \/$/m);
		const script = readFileSync(join(root, 'scripts/image'), 'utf8');
		expect(script).toContain(`--entrypoint '["/app/bin/plexus"]' --cmd daemon --workingdir /app`);
		expect(dockerfile).toMatch(/^CMD \["daemon"\]$/m);
		expect(dockerfile).toMatch(/^WORKDIR \/app$/m);
		const copies = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) =>
			(m[1] ?? '').split(' '),
		);
		expect(copies.length).toBeGreaterThan(5);
		for (const path of copies) expect(existsSync(join(root, path)), path).toBe(true);
	});
});

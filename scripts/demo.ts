/**
 * `npm run demo`: the main job of Plexus on one machine. It starts the embedded test Kubernetes
 * API server (HTTPS, a generated CA, a bearer token), creates two NetworkAttachmentDefinitions and
 * a pod object whose `k8s.v1.cni.cncf.io/networks` annotation selects them, then runs `bin/plexus`
 * exactly as a container runtime would (CNI_* variables, the Plexus conf on stdin) against a fresh
 * network namespace standing in for the pod sandbox: the pod ends up on three networks (the
 * cluster network plus the two NADs). It prints the network-status annotation Plexus wrote and
 * the pod's `ip` view, then runs DEL and removes everything it created. Needs root (network
 * namespaces).
 */
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {MetaHarness, macvlanNad} from '../e2e/kube/harness.ts';
import {ensureBundle} from './bundle/bundle.ts';

const out = (text: string) => process.stdout.write(`${text}\n`);
const step = (text: string) => out(`\n\x1b[1m== ${text}\x1b[0m`);

async function ipView(netns: string, ...args: string[]): Promise<string> {
	const {stdout} = await execa('ip', ['-n', netns, ...args]);
	return stdout;
}

async function main(): Promise<number> {
	if (process.getuid?.() !== 0) {
		process.stderr.write(
			'npm run demo creates network namespaces and links: run it as root (sudo npm run demo)\n',
		);
		return 1;
	}
	// iproute2 and Debian's CNI plugins (the demo's NADs use macvlan, bridge, static).
	const prereqs = await execa('bash', [fileURLToPath(new URL('./prereqs.sh', import.meta.url))], {
		stdio: 'inherit',
		reject: false,
	});
	if (prereqs.exitCode !== 0) return 1;
	await ensureBundle(); // bin/plexus runs dist/plexus: current with the sources
	const h = await MetaHarness.create();
	try {
		step(`test API server on ${h.api.url}; kubeconfig ${h.kubeconfig} (its CA and a bearer token)`);
		h.api.createNad(
			'demo',
			'blue',
			macvlanNad('blue', h.master, '192.168.10.10/24', [
				{type: 'route-override', addroutes: [{dst: '10.10.0.0/16', gw: '192.168.10.1'}]},
			]),
		);
		h.api.createNad('demo', 'green', macvlanNad('green', h.master, '192.168.20.10/24'));
		out(
			'NetworkAttachmentDefinitions demo/blue (macvlan + static + route-override) and demo/green (macvlan + static)',
		);
		const pod = await h.createPod(
			'web-0',
			{'k8s.v1.cni.cncf.io/networks': '[{"name":"blue","interface":"blue0"},{"name":"green"}]'},
			'demo',
		);
		out(
			`pod demo/web-0 (sandbox netns ${pod.netns.name}) annotated k8s.v1.cni.cncf.io/networks: blue as blue0, green`,
		);

		step('CNI ADD (bin/plexus, as the runtime calls it)');
		const add = await h.cni('ADD', pod);
		if (add.exitCode !== 0) {
			process.stderr.write(`ADD failed:\n${add.stdout}\n${add.stderr}\n`);
			return 1;
		}
		out(`result returned to the runtime (the cluster network's):\n${JSON.stringify(add.json)}`);

		step('k8s.v1.cni.cncf.io/network-status written to the pod');
		out(
			h.api.getPod('demo', 'web-0')?.metadata.annotations?.['k8s.v1.cni.cncf.io/network-status'] ??
				'(missing)',
		);

		step('events');
		for (const event of h.api.events('demo')) out(`${event['type']} ${event['reason']}: ${event['message']}`);

		step("the pod's view: ip -br addr; ip route");
		out(await ipView(pod.netns.name, '-br', 'addr'));
		out(await ipView(pod.netns.name, 'route'));

		step('CNI DEL');
		const del = await h.cni('DEL', pod);
		if (del.exitCode !== 0) {
			process.stderr.write(`DEL failed:\n${del.stdout}\n${del.stderr}\n`);
			return 1;
		}
		out(`links left in the pod: ${(await h.links(pod)).join(', ')}`);
		return 0;
	} finally {
		await h.close();
		step('cleaned up');
	}
}

process.exitCode = await main();

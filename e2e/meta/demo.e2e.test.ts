// `npm run demo` works as a newcomer runs it: attaches, prints network-status and the ip view,
// and cleans up after itself.
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {expect, test} from 'vitest';

const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url));

test('the demo attaches a pod to three networks, shows its status and cleans up', async () => {
	const run = await execa(process.execPath, ['--disable-warning=ExperimentalWarning', DEMO], {reject: false});
	expect(run.exitCode).toBe(0);
	const plain = run.stdout.replaceAll('\u001b[1m', '').replaceAll('\u001b[0m', '');
	const status = /network-status written to the pod\n(\[[\s\S]*?\n\])\n/.exec(plain)?.[1];
	expect(JSON.parse(status ?? '[]')).toEqual([
		expect.objectContaining({name: 'cluster-net', interface: 'eth0', default: true}),
		expect.objectContaining({name: 'demo/blue', interface: 'blue0', ips: ['192.168.10.10'], default: false}),
		expect.objectContaining({name: 'demo/green', interface: 'net2', ips: ['192.168.20.10'], default: false}),
	]);
	expect(run.stdout).toContain('10.10.0.0/16 via 192.168.10.1 dev blue0');
	expect(run.stdout).toContain('links left in the pod: lo');
	// The demo's own sandbox is gone (other suites may be creating namespaces meanwhile).
	const sandbox = /sandbox netns (\S+)\)/.exec(plain)?.[1];
	expect(sandbox).toMatch(/^pxmeta/);
	expect((await execa('ip', ['netns', 'list'])).stdout.split('\n').map((l) => l.split(' ')[0])).not.toContain(
		sandbox,
	);
});

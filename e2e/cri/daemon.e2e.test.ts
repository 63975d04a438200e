/**
 * CRI end to end, daemon mode: containerd execs `plexus-shim`, which forwards to `bin/plexus daemon`
 * running as a host process. The shared scenarios (./cri-scenarios.ts), plus the daemon being down
 * when kubelet stops the pod: CNI code 11, then the retried StopPodSandbox cleans up.
 */
import {expect, it} from 'vitest';
import {describeCriNode} from './cri-scenarios.ts';
import {CriError, sandboxNetnsPath} from './testing/cri-client.ts';
import {leftovers, NOTHING_LEFT} from './testing/leftovers.ts';

describeCriNode('daemon', (getNode) => {
	it('daemon down at StopPodSandbox: the shim answers code 11, Stop fails; after a restart the retried Stop cleans up', async () => {
		const node = getNode();
		const pod = node.createPod('restart-pod', 'ns1');
		const id = await node.runPod(pod);
		const netns = await sandboxNetnsPath(node.containerd.cri, id);
		await node.stopDaemon();
		try {
			const stop = node.containerd.cri.stopPodSandbox(id);
			await expect(stop).rejects.toBeInstanceOf(CriError);
			await expect(stop).rejects.toThrow(/failed to DEL via plexus daemon at ".*": unreachable for 1500 ms/);
		} finally {
			await node.startDaemon();
		}
		const failed = (await node.calls(id)).at(-1);
		expect(failed).toMatchObject({command: 'DEL', exitCode: 1});
		expect(JSON.parse(failed?.stdout ?? '{}')).toMatchObject({code: 11});
		expect((await node.containerd.cri.podSandboxStatus(id)).status.id).toBe(id);

		await node.containerd.cri.stopPodSandbox(id);
		await node.containerd.cri.removePodSandbox(id);
		expect((await node.calls(id)).map((c) => `${c.command} ${c.exitCode}`)).toEqual([
			'ADD 0',
			'DEL 1',
			'DEL 0',
			'DEL 0',
		]);
		expect(await leftovers(node, id, netns)).toEqual(NOTHING_LEFT);
	});
});

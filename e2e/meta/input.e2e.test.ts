// Issue 12 on a real kernel: a CNI_NETNS that is not a network namespace is refused with code 8
// before any delegate runs (no veth, no host-local reservation, no cache), and a DEL whose netns is
// gone or no namespace any more still runs every delegate's DEL (IP released, host veth gone,
// cache gone) and exits 0. Delegates are Debian's bridge + host-local; the API is the test server.
import {existsSync} from 'node:fs';
import {readdir, rm, writeFile} from 'node:fs/promises';
import {dirname, join} from 'node:path';
import {execa} from 'execa';
import {afterEach, beforeEach, describe, expect, test} from 'vitest';
import {MAX_JSON_DEPTH} from '../../src/cni/json.ts';
import {randomName} from '../helpers/netns.ts';
import {MetaHarness, type TestPod} from '../kube/harness.ts';

let h: MetaHarness;

beforeEach(async () => {
	h = await MetaHarness.create();
});

afterEach(async () => {
	await h.close();
});

const ipamDir = () => join(h.dir, 'ipam');

/** The Plexus conf with bridge + host-local as the cluster network. */
function conf(): Record<string, unknown> {
	return h.conf({
		capabilities: {},
		delegates: [
			{
				cniVersion: '1.0.0',
				name: 'cluster-net',
				plugins: [
					{
						type: 'bridge',
						bridge: h.clusterBridge,
						ipam: {type: 'host-local', subnet: `${h.subnet}.0/24`, dataDir: ipamDir()},
					},
				],
			},
		],
	});
}

/** host-local's reservations (one file per reserved address). */
async function reservations(): Promise<string[]> {
	const names = await readdir(join(ipamDir(), 'cluster-net')).catch(() => []);
	return names.filter((n) => /^\d+\.\d+\.\d+\.\d+$/.test(n));
}

async function expectNothingLeft(pod: TestPod): Promise<void> {
	expect(await h.links(pod)).toEqual(['lo']);
	expect(await h.clusterBridgePorts()).toEqual([]);
	expect(await reservations()).toEqual([]);
	expect(await h.cachedFiles()).toEqual([]);
}

describe('ADD with a CNI_NETNS that is not a network namespace', () => {
	test('a regular file, a directory, /dev/null and a missing path: code 8, nothing runs, DEL converges', async () => {
		const file = join(h.dir, 'not-a-netns');
		await writeFile(file, '');
		const pod = await h.createPod('web', {});
		for (const netns of [file, h.dir, '/dev/null', join(h.dir, 'missing')]) {
			for (const verb of ['ADD', 'CHECK']) {
				const run = await h.cni(verb, pod, conf(), 'eth0', {CNI_NETNS: netns});
				expect({exitCode: run.exitCode, code: run.json?.['code']}).toEqual({exitCode: 1, code: 8});
				expect(String(run.json?.['msg'])).toContain(`invalid netns ${JSON.stringify(netns)} for ${verb}`);
			}
			await expectNothingLeft(pod);
			expect((await h.cni('DEL', pod, conf(), 'eth0', {CNI_NETNS: netns})).exitCode).toBe(0);
		}
		expect((await h.cni('DEL', pod, conf())).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});
});

describe('DEL after the namespace went away', () => {
	async function addedPod(): Promise<TestPod> {
		const pod = await h.createPod('web', {});
		const add = await h.cni('ADD', pod, conf());
		expect(add.exitCode, add.stdout).toBe(0);
		expect(await reservations()).toHaveLength(1);
		expect(await h.clusterBridgePorts()).toHaveLength(1);
		return pod;
	}

	test('netns deleted: every delegate DEL runs, IP released, host veth gone, cache gone, exit 0', async () => {
		const pod = await addedPod();
		await execa('ip', ['netns', 'del', pod.netns.name]);
		const del = await h.cni('DEL', pod, conf());
		expect(del.exitCode, del.stdout).toBe(0);
		expect(await reservations()).toEqual([]);
		expect(await h.clusterBridgePorts()).toEqual([]);
		expect(await h.cachedFiles()).toEqual([]);
		expect((await h.cni('DEL', pod, conf())).exitCode).toBe(0);
	});

	test('netns path now a regular file (unmounted, re-created): DEL still releases everything, exit 0', async () => {
		const pod = await addedPod();
		await execa('ip', ['netns', 'del', pod.netns.name]);
		await writeFile(pod.netns.path, 'no namespace here');
		try {
			const del = await h.cni('DEL', pod, conf());
			expect(del.exitCode, del.stdout).toBe(0);
			expect(await reservations()).toEqual([]);
			expect(await h.clusterBridgePorts()).toEqual([]);
			expect(await h.cachedFiles()).toEqual([]);
		} finally {
			await rm(pod.netns.path, {force: true});
		}
	});
});

describe('input nested too deep', () => {
	test(`a NAD nested deeper than ${MAX_JSON_DEPTH} levels: code 7 naming the limit, nothing left, DEL exit 0`, async () => {
		const deep = `${'['.repeat(2000)}${']'.repeat(2000)}`;
		h.api.createNad('ns1', 'deep', `{"cniVersion":"1.0.0","name":"deep","type":"macvlan","x":${deep}}`);
		const pod = await h.createPod('web', {'k8s.v1.cni.cncf.io/networks': 'deep'});
		const add = await h.cni('ADD', pod, conf());
		expect(add.json).toMatchObject({code: 7});
		expect(String(add.json?.['msg'])).toContain(
			`JSON nests deeper than the limit of ${MAX_JSON_DEPTH} levels`,
		);
		await expectNothingLeft(pod);
		expect((await h.cni('DEL', pod, conf())).exitCode).toBe(0);
		await expectNothingLeft(pod);
	});

	test('a relative cniDir: code 7 naming it, and nothing is created in the working directory', async () => {
		const pod = await h.createPod('web', {});
		const relative = `${randomName('pxrel')}/cni`;
		const add = await h.cni('ADD', pod, {...conf(), cniDir: relative});
		expect(add.json).toMatchObject({
			code: 7,
			msg: `invalid plexus config: key "cniDir": ${JSON.stringify(relative)} is a relative path; it must be absolute`,
		});
		// bin/plexus runs in this process' working directory (execa's default).
		expect(existsSync(join(process.cwd(), dirname(relative)))).toBe(false);
		await expectNothingLeft(pod);
	});
});

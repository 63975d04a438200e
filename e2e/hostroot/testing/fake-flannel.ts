/**
 * Builds the fake-flannel test plugin (./fake-flannel.c): a static binary that reads a subnet
 * file under the host's /run, as flannel does, and delegates to bridge + host-local.
 */
import {mkdir} from 'node:fs/promises';
import {join} from 'node:path';
import {execa} from 'execa';

const SOURCE = join(import.meta.dirname, 'fake-flannel.c');

/** The plugin's type, and its file name on CNI_PATH. */
export const FAKE_FLANNEL = 'fake-flannel';

/** Compiles fake-flannel into `dir` (created) with the toolchain `npm ci` uses; returns its path. */
export async function buildFakeFlannel(dir: string): Promise<string> {
	await mkdir(dir, {recursive: true});
	const out = join(dir, FAKE_FLANNEL);
	await execa('gcc', [
		'-static',
		'-O2',
		'-Wall',
		'-Wextra',
		'-Wno-format-truncation',
		'-Werror',
		'-o',
		out,
		SOURCE,
	]);
	return out;
}

/** The contents of a subnet.env as flannel's node agent writes it, for one /24. */
export function subnetEnv(subnet: string): string {
	return `FLANNEL_NETWORK=${subnet.replace(/\.\d+\.\d+\/24$/, '.0.0/16')}\nFLANNEL_SUBNET=${subnet}\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n`;
}

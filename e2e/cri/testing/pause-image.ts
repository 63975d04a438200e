/**
 * The sandbox ("pause") image of the CRI tests, built locally: ./pause.c compiled with
 * `gcc -static` and packed as a one-file OCI image (no registry, no Docker on the test machines).
 */
import {readFile} from 'node:fs/promises';
import {join} from 'node:path';
import {fileURLToPath} from 'node:url';
import {execa} from 'execa';
import {writeOciArchive} from './oci-image.ts';

/** The reference containerd's `sandbox_image` points at. */
export const PAUSE_IMAGE = 'localhost/plexus-pause:test';

const PAUSE_SOURCE = fileURLToPath(new URL('./pause.c', import.meta.url));

/**
 * Compiles the pause program into `dir` and writes its image tar there; returns the tar's path.
 * Fails with gcc's message when the compiler or the static libc (libc6-dev) is missing.
 */
export async function buildPauseImage(dir: string, name = PAUSE_IMAGE): Promise<string> {
	const binary = join(dir, 'pause');
	await execa('gcc', ['-static', '-Os', '-s', '-o', binary, PAUSE_SOURCE]);
	const archive = join(dir, 'pause-image.tar');
	await writeOciArchive(archive, {
		name,
		entries: [{path: 'pause', type: 'file', mode: 0o755, content: await readFile(binary)}],
		config: {Entrypoint: ['/pause']},
	});
	return archive;
}

/**
 * A minimal OCI image writer for tests: a single uncompressed layer built from in-memory files,
 * the image config, the manifest and an index, packed as an OCI image-layout tar that
 * `ctr images import` reads. There is no registry on the test machines, so images are made here.
 *
 * The tar writer covers what a layer of a few regular files and directories needs (POSIX ustar,
 * names up to 100 bytes); it is not a general tar implementation.
 */
import {createHash} from 'node:crypto';
import {writeFile} from 'node:fs/promises';

/** One entry of the layer: a directory, or a regular file with its bytes. */
export type LayerEntry =
	| {readonly path: string; readonly type: 'dir'; readonly mode?: number}
	| {readonly path: string; readonly type: 'file'; readonly mode?: number; readonly content: Uint8Array};

/** What the image runs (the OCI image config's `config` object, the keys the tests use). */
export interface ImageRunConfig {
	readonly Entrypoint?: readonly string[];
	readonly Cmd?: readonly string[];
	readonly Env?: readonly string[];
	readonly WorkingDir?: string;
}

/** Everything one single-layer image needs. */
export interface OciImageSpec {
	/** The full reference `ctr` registers, e.g. `localhost/plexus-pause:test`. */
	readonly name: string;
	readonly entries: readonly LayerEntry[];
	readonly config: ImageRunConfig;
}

const BLOCK = 512;
const MEDIA_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const MEDIA_CONFIG = 'application/vnd.oci.image.config.v1+json';
const MEDIA_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** Writes `value` as a NUL-terminated octal field of `width` bytes at `offset`. */
function octal(header: Buffer, offset: number, width: number, value: number): void {
	header.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

/** One ustar header block (checksum computed as the format defines: header summed with spaces). */
function tarHeader(name: string, size: number, mode: number, typeflag: '0' | '5'): Buffer {
	if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name "${name}" is longer than 100 bytes`);
	const header = Buffer.alloc(BLOCK);
	header.write(name, 0, 100, 'utf8');
	octal(header, 100, 8, mode);
	octal(header, 108, 8, 0);
	octal(header, 116, 8, 0);
	octal(header, 124, 12, size);
	octal(header, 136, 12, 0);
	header.fill(' ', 148, 156);
	header.write(typeflag, 156, 1, 'ascii');
	header.write('ustar\0', 257, 6, 'ascii');
	header.write('00', 263, 2, 'ascii');
	let sum = 0;
	for (const byte of header) sum += byte;
	header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
	return header;
}

/** Packs entries into a tar archive (in memory). */
export function tar(entries: readonly LayerEntry[]): Buffer {
	const parts: Buffer[] = [];
	for (const entry of entries) {
		if (entry.type === 'dir') {
			const name = entry.path.endsWith('/') ? entry.path : `${entry.path}/`;
			parts.push(tarHeader(name, 0, entry.mode ?? 0o755, '5'));
			continue;
		}
		parts.push(tarHeader(entry.path, entry.content.length, entry.mode ?? 0o644, '0'));
		parts.push(Buffer.from(entry.content));
		const pad = (BLOCK - (entry.content.length % BLOCK)) % BLOCK;
		if (pad > 0) parts.push(Buffer.alloc(pad));
	}
	parts.push(Buffer.alloc(BLOCK * 2));
	return Buffer.concat(parts);
}

const sha256 = (data: Uint8Array) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** A content-addressed blob of the image layout. */
interface Blob {
	readonly digest: string;
	readonly data: Buffer;
}

const blob = (data: Buffer): Blob => ({digest: sha256(data), data});
const json = (value: unknown): Buffer => Buffer.from(JSON.stringify(value));

/**
 * Builds the OCI image-layout tar of a single-layer linux/amd64 image. The index names the image
 * with the `io.containerd.image.name` annotation, which `ctr images import` registers as is.
 */
export function ociArchive(spec: OciImageSpec): Buffer {
	const layer = blob(tar(spec.entries));
	const config = blob(
		json({
			architecture: 'amd64',
			os: 'linux',
			config: spec.config,
			rootfs: {type: 'layers', diff_ids: [layer.digest]},
		}),
	);
	const descriptor = (mediaType: string, b: Blob) => ({mediaType, digest: b.digest, size: b.data.length});
	const manifest = blob(
		json({
			schemaVersion: 2,
			mediaType: MEDIA_MANIFEST,
			config: descriptor(MEDIA_CONFIG, config),
			layers: [descriptor(MEDIA_LAYER, layer)],
		}),
	);
	const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
	const index = {
		schemaVersion: 2,
		manifests: [
			{
				...descriptor(MEDIA_MANIFEST, manifest),
				platform: {architecture: 'amd64', os: 'linux'},
				annotations: {'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag},
			},
		],
	};
	const file = (path: string, content: Buffer): LayerEntry => ({path, type: 'file', content});
	return tar([
		file('oci-layout', json({imageLayoutVersion: '1.0.0'})),
		file('index.json', json(index)),
		{path: 'blobs', type: 'dir'},
		{path: 'blobs/sha256', type: 'dir'},
		...[layer, config, manifest].map((b) => file(`blobs/sha256/${b.digest.slice('sha256:'.length)}`, b.data)),
	]);
}

/** Writes the OCI image-layout tar of `spec` to `path`. */
export async function writeOciArchive(path: string, spec: OciImageSpec): Promise<void> {
	await writeFile(path, ociArchive(spec));
}

/**
 * The shipped form of the `plexus` command: src/cli/main.ts and everything it can load, bundled by
 * rolldown into CommonJS chunks under dist/plexus/ (bin/plexus runs dist/plexus/main.js when it
 * is there, src/cli/main.ts otherwise or with PLEXUS_FROM_SOURCE=1).
 *
 * Why: a one-shot CNI call is a fresh Node process, and resolving and linking ~170 source modules
 * (94 of them zod's) cost more than running them: measured on the 2-core development VM, one-shot
 * STATUS 232 → 179 ms, ADD 615 → 532 ms, DEL 535 → 452 ms. Chunks keep the verbs lazy (STATUS loads
 * 50 modules, not the ADD path). CommonJS rather than ES modules: require() loads a chunk in one
 * synchronous step, where the ES module loader resolves URLs, reads each file through the thread
 * pool and links asynchronously; the same ~50 chunks of an ADD cost ~20 ms less that way (one-shot
 * ADD 366 → 346 ms, DEL 353 → 330 ms, STATUS 151 → 129 ms, interleaved medians of 14 on the bench
 * machine). So no module has a top-level await. The chunks stay two folders deep, so the paths
 * the code takes relative to its own file (../../package.json, ../../shim, ../../native, the
 * compile cache) hold; the one file beside a module (pod-resources.proto) is copied next to the
 * chunks.
 *
 * The build is skipped while dist/plexus/inputs.sha256 matches the sources (src/, delegates/, the
 * lock file, this file), so `npm ci`, `npm test`, the test runner's set-up, the bench and the image
 * can all call it. A new build is added beside the old one, main.js replaced last by a rename:
 * chunk names carry a content hash, so a process still running the old bundle finds its chunks
 * (they are pruned a day later), and a new process never sees a half-written bundle.
 */
import {createHash} from 'node:crypto';
import {
	copyFileSync,
	existsSync,
	mkdirSync,
	readdirSync,
	readFileSync,
	renameSync,
	rmSync,
	statSync,
	writeFileSync,
} from 'node:fs';
import {join, relative, resolve} from 'node:path';

/** The repository root. */
export const REPO = resolve(import.meta.dirname, '../..');
/** Where the bundle goes (two levels below the root, like src/cli/). */
export const BUNDLE_DIR = join(REPO, 'dist', 'plexus');
const DIGEST_FILE = 'inputs.sha256';
/** Loaded from node_modules at run time: only doctor and device allocation use them, lazily. */
const EXTERNAL = ['@kubernetes/client-node', '@grpc/grpc-js', '@grpc/proto-loader'];
/** Files that live beside a source module and are read through `new URL(name, import.meta.url)`. */
const ASSETS = ['src/devices/pod-resources.proto'];
/** Chunks of an older build are removed once they are this old (a day). */
const PRUNE_AFTER_MS = 24 * 3600_000;

/** The source files the bundle is made of, sorted: src/ and delegates/ without tests and fakes. */
function sourceFiles(root: string): string[] {
	const files: string[] = [];
	const walk = (dir: string) => {
		for (const entry of readdirSync(dir, {withFileTypes: true})) {
			const path = join(dir, entry.name);
			if (entry.isDirectory()) {
				if (entry.name !== 'testing') walk(path);
			} else if (!entry.name.endsWith('.test.ts')) {
				files.push(relative(root, path));
			}
		}
	};
	for (const top of ['src', 'delegates']) walk(join(root, top));
	return files.sort();
}

/** A digest of everything the bundle is built from: source files (names and bytes), lock file, this builder. */
export function inputsDigest(root = REPO): string {
	const hash = createHash('sha256');
	for (const file of [...sourceFiles(root), 'package-lock.json']) {
		hash.update(`${file}\0`);
		hash.update(readFileSync(join(root, file)));
		hash.update('\0');
	}
	return hash.update(readFileSync(import.meta.filename)).digest('hex');
}

/** The digest dist/plexus was built from, if it was built. */
function builtDigest(root: string): string | undefined {
	const recorded = join(root, 'dist', 'plexus', DIGEST_FILE);
	return existsSync(recorded) ? readFileSync(recorded, 'utf8').trim() : undefined;
}

/** Whether dist/plexus was built from the current sources. */
export function bundleIsFresh(root = REPO): boolean {
	return builtDigest(root) === inputsDigest(root);
}

/** Bundles src/cli/main.ts into `outDir`. */
async function build(root: string, outDir: string): Promise<void> {
	const {build: rolldown} = await import('rolldown');
	await rolldown({
		input: join(root, 'src/cli/main.ts'),
		platform: 'node',
		external: (id) => EXTERNAL.some((name) => id === name || id.startsWith(`${name}/`)),
		logLevel: 'warn',
		// main.js exports nothing anyone imports (needed with includeDependenciesRecursively off).
		preserveEntrySignatures: 'allow-extension',
		output: {
			dir: outDir,
			format: 'cjs',
			entryFileNames: '[name].js',
			chunkFileNames: '[name]-[hash].js',
			// The REST client is one chunk by name, so a test can tell which verbs load it.
			codeSplitting: {
				includeDependenciesRecursively: false,
				groups: [{name: 'k8s-rest', test: /[\\/]src[\\/]k8s[\\/]rest[\\/]/}],
			},
		},
	});
	for (const asset of ASSETS) copyFileSync(join(root, asset), join(outDir, asset.split('/').pop() ?? asset));
	// Node looks up the package scope of every module it loads and does not remember a miss: without
	// this file each chunk cost two failed opens (dist/plexus, dist) per lookup, ~330 per one-shot
	// ADD and ~7 ms. It also says the chunks are CommonJS (the repository's package.json says module).
	writeFileSync(join(outDir, 'package.json'), `${JSON.stringify({type: 'commonjs', private: true})}\n`);
}

/**
 * Makes dist/plexus current: nothing when it already is, else a build in a scratch folder that
 * then replaces the old bundle. Resolves whether it built.
 */
export async function ensureBundle(root = REPO, force = false): Promise<boolean> {
	const digest = inputsDigest(root);
	if (!force && builtDigest(root) === digest) return false;
	const target = join(root, 'dist', 'plexus');
	const scratch = join(root, 'dist', `.plexus-${process.pid}`);
	rmSync(scratch, {recursive: true, force: true});
	try {
		await build(root, scratch);
		mkdirSync(target, {recursive: true});
		const built = readdirSync(scratch);
		// Chunks first (content-hashed names: an existing one has the same bytes), main.js last.
		for (const file of built) if (file !== 'main.js') renameSync(join(scratch, file), join(target, file));
		renameSync(join(scratch, 'main.js'), join(target, 'main.js'));
		writeFileSync(join(target, DIGEST_FILE), `${digest}\n`);
		pruneOldChunks(target, new Set([...built, DIGEST_FILE]));
	} finally {
		rmSync(scratch, {recursive: true, force: true});
	}
	return true;
}

/** Removes files of earlier builds that no build has written for a day. */
function pruneOldChunks(dir: string, keep: ReadonlySet<string>): void {
	const now = Date.now();
	for (const file of readdirSync(dir)) {
		const path = join(dir, file);
		if (!keep.has(file) && now - statSync(path).mtimeMs > PRUNE_AFTER_MS) rmSync(path, {force: true});
	}
}

/**
 * Loading Plexus' N-API addons (native/, built by `npm ci`): each loads once, when first used, and
 * a missing or broken build is a CNI error that names the file and how to build it.
 */
import {fileURLToPath} from 'node:url';
import {CniError, CniErrorCode} from '../cni/errors.ts';

/** A loader of native/build/Release/`name`.node, called the `what` addon in its error. */
export function addonLoader<T>(name: string, what: string): () => T {
	let addon: T | undefined;
	return () => {
		if (addon === undefined) {
			const path = `native/build/Release/${name}.node`;
			try {
				// process.dlopen rather than require: node:module's createRequire costs a one-shot
				// call ~1 ms to load, and an addon needs nothing else of the module system.
				const module = {exports: {}};
				process.dlopen(module, fileURLToPath(new URL(`../../${path}`, import.meta.url)));
				addon = module.exports as T;
			} catch (err) {
				throw new CniError(
					CniErrorCode.internal,
					`failed to load the ${what} addon "${path}" (run "npm ci" to build it): ${String(err)}`,
					{cause: err},
				);
			}
		}
		return addon;
	};
}

/**
 * The file I/O of resolution: network conf files named by path (Multus' clusterNetwork as a file
 * or directory), the auxiliary chain's directory, and kubelet's device checkpoint. What resolution
 * decides from what these return is pure (./policy.ts).
 */
import {extname, join} from 'node:path';
import type {NetworkList} from '../../chain/network-list.ts';
import {CniError, CniErrorCode} from '../../cni/errors.ts';
import {decodeJson} from '../../cni/json.ts';
import {readdir, readFile, stat} from '../../fs/promises.ts';
import {networkListFromObject, networkListFromText} from '../../k8s/nad.ts';
import {log} from '../../log.ts';
import {invalid} from './policy.ts';

/** The first conf file of a directory, by name (Multus' clusterNetwork-as-directory). */
async function firstConfFile(dir: string): Promise<string | undefined> {
	const names = (await readdir(dir))
		.filter((n) => ['.conf', '.conflist', '.json'].includes(extname(n)))
		.sort();
	return names[0] === undefined ? undefined : join(dir, names[0]);
}

async function listFromFile(file: string): Promise<NetworkList> {
	let text: string;
	try {
		text = await readFile(file, 'utf8');
	} catch (error) {
		throw new CniError(
			CniErrorCode.ioFailure,
			`failed to read network config file "${file}": ${(error as Error).message}`,
		);
	}
	return networkListFromText(text, undefined, `file "${file}"`);
}

/**
 * The network list at an absolute path: the file, or a directory's first conf file.
 *
 * @throws CniError code 7 when there is no such file or the directory has none.
 */
export async function networkListAtPath(ref: string, key: string): Promise<NetworkList> {
	let info: Awaited<ReturnType<typeof stat>>;
	try {
		info = await stat(ref);
	} catch {
		throw invalid(`failed to find network "${ref}" (${key}): no such file or directory`);
	}
	const file = info.isDirectory() ? await firstConfFile(ref) : ref;
	if (file === undefined)
		throw invalid(
			`failed to find network "${ref}" (${key}): the directory has no .conf/.conflist/.json file`,
		);
	return listFromFile(file);
}

/** The auxiliary chain list, or undefined when its directory holds no .conf file. */
export async function auxiliaryChain(
	name: string,
	dir: string,
	cniVersion: string,
): Promise<NetworkList | undefined> {
	let files: string[];
	try {
		files = (await readdir(dir)).filter((f) => extname(f) === '.conf').sort();
	} catch {
		files = [];
	}
	if (files.length === 0) {
		log('debug', 'auxiliary CNI chain has no plugin; skipped', {dir});
		return undefined;
	}
	const plugins: Record<string, unknown>[] = [{type: 'passthru'}];
	for (const file of files) {
		const path = join(dir, file);
		let plugin: unknown;
		try {
			plugin = decodeJson(await readFile(path, 'utf8'), `conf file "${path}"`);
		} catch (error) {
			throw invalid(`failed to read auxiliary chain plugin "${path}": ${(error as Error).message}`);
		}
		if (typeof plugin !== 'object' || plugin === null || Array.isArray(plugin)) {
			throw invalid(`failed to read auxiliary chain plugin "${path}": not a JSON object`);
		}
		plugins.push(plugin as Record<string, unknown>);
	}
	return networkListFromObject({cniVersion, name, plugins}, name, `auxiliary chain "${dir}"`);
}

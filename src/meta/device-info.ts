/**
 * Device information files on the real file system (device-info spec v1.1.0): the production
 * `DeviceInfoFiles` port of the meta-plugin (./ports.ts).
 */
import {dirname} from 'node:path';
import {decodeJson} from '../cni/json.ts';
import {copyFile, mkdir, readFile} from '../fs/promises.ts';
import {log} from '../log.ts';
import {type Attachment, DEVICE_INFO_CAPABILITY} from './resolve/attachment.ts';

/**
 * The device a plugin reported in its CNIDeviceInfoFile (device-info spec §6.1.1), for the
 * network-status `device-info`; undefined when there is none or it is not a JSON object.
 */
export async function readDeviceInfo(
	capabilityArgs: Readonly<Record<string, unknown>>,
): Promise<Record<string, unknown> | undefined> {
	const file = capabilityArgs[DEVICE_INFO_CAPABILITY];
	if (typeof file !== 'string') return undefined;
	try {
		const info: unknown = decodeJson(await readFile(file, 'utf8'), `device information file "${file}"`);
		return typeof info === 'object' && info !== null && !Array.isArray(info)
			? (info as Record<string, unknown>)
			: undefined;
	} catch (error) {
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
			log('warning', 'unreadable device information file', {file, error: String(error)});
		return undefined;
	}
}

/**
 * Prepares an attachment's CNIDeviceInfoFile: creates its directory and, for a NAD with a
 * resourceName, copies the device plugin's device-info file there first (device-info spec §4.2.1).
 */
export async function prepareDeviceInfo(a: Attachment): Promise<void> {
	const target = a.capabilityArgs[DEVICE_INFO_CAPABILITY];
	if (typeof target !== 'string') return;
	await mkdir(dirname(target), {recursive: true, mode: 0o755});
	if (a.devicePluginInfo === undefined) return;
	try {
		await copyFile(a.devicePluginInfo, target);
	} catch (error) {
		// Not every device plugin writes device information; the spec makes it optional.
		if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
			log('warning', 'failed to copy device plugin information', {
				from: a.devicePluginInfo,
				to: target,
				error: String(error),
			});
		}
	}
}

/** Where device information lives (device-info spec): prepared before a chain runs, read after. */
export interface DeviceInfoFiles {
	/** Creates the attachment's CNIDeviceInfoFile directory, copying the device plugin's file in. */
	prepare(a: Attachment): Promise<void>;
	/** The device the chain reported in its CNIDeviceInfoFile, if any. */
	read(capabilityArgs: Readonly<Record<string, unknown>>): Promise<Record<string, unknown> | undefined>;
}

/** The device information files where the spec puts them. */
export const nodeDeviceInfoFiles: DeviceInfoFiles = {prepare: prepareDeviceInfo, read: readDeviceInfo};

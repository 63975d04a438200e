/**
 * Sysctl keys → /proc/sys paths. Only per-netns `net/` keys are allowed; a dotted key
 * (`net.ipv4.ip_forward`) becomes a path, a key with slashes is taken as the path under /proc/sys
 * (the form for interface names with dots: `net/ipv4/conf/eth0.100/rp_filter`).
 */
import {CniError, CniErrorCode} from '../cni/errors.ts';

/** The /proc/sys path of `key`; throws CniError(7) for anything outside /proc/sys/net. */
export function sysctlPath(key: string): string {
	const relative = key.includes('/')
		? key.replace(/^\/+/, '').replace(/^proc\/sys\//, '')
		: key.replaceAll('.', '/');
	const segments = relative.split('/');
	if (
		segments[0] !== 'net' ||
		segments.length < 2 ||
		segments.some((s) => s === '' || s === '.' || s === '..')
	) {
		throw new CniError(CniErrorCode.invalidConfig, `invalid net sysctl key ${JSON.stringify(key)}`);
	}
	return `/proc/sys/${relative}`;
}

/** The dotted display form of a key (for messages). */
export function sysctlName(key: string): string {
	return key.includes('/') ? sysctlPath(key).slice('/proc/sys/'.length).replaceAll('/', '.') : key;
}

/**
 * `passthru`: the no-op plugin Multus puts first in an auxiliary CNI chain so that the chain's
 * real plugins (which only amend, e.g. firewall rules) get a `prevResult`. ADD answers the
 * prevResult it got (or an empty result); DEL, CHECK, STATUS and GC do nothing. Runs in-process.
 */
import type {CniPlugin} from '../cni/plugin.ts';
import {SUPPORTED_VERSIONS} from '../cni/versions.ts';

export const PASSTHRU_TYPE = 'passthru';

export const passthruPlugin: CniPlugin = {
	type: PASSTHRU_TYPE,
	supportedVersions: SUPPORTED_VERSIONS,
	async add(request) {
		const prev = request.config['prevResult'];
		const cniVersion = request.config['cniVersion'];
		if (typeof prev === 'object' && prev !== null) return {...(prev as Record<string, unknown>), cniVersion};
		return {cniVersion};
	},
	async del() {},
	async check() {},
	async status() {},
	async gc() {},
};

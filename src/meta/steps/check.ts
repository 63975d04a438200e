/**
 * CHECK of the meta-plugin: every persisted attachment checked with its own bytes, not only the
 * cluster network (reference §1.11); a pod Multus ADDed is checked through its caches.
 */
import {parseNetworkList} from '../../chain/network-list.ts';
import {CniError, CniErrorCode, toCniError} from '../../cni/errors.ts';
import {versionAtLeast} from '../../cni/versions.ts';
import {log} from '../../log.ts';
import {checkMultusEra} from '../../multus/legacy.ts';
import type {Invocation} from '../invocation.ts';
import {requireNetns} from '../netns-guard.ts';
import type {MetaPorts} from '../ports.ts';
import {inAttachmentOf} from '../scope.ts';

/**
 * Runs the pod's CHECK.
 *
 * @throws CniError code 8 (netns), 3 without a usable cache (2 for an unsupported one), or the
 * first attachment's failure naming it.
 */
export async function checkPod(inv: Invocation, ports: MetaPorts): Promise<void> {
	requireNetns(inv.request.netns, 'CHECK', ports.probeNetns);
	await ports.ready(inv.conf, false);
	const read = await inv.cache.read(inv.request.containerId, inv.request.ifname);
	if (read.state === 'missing' && (await checkMultusEra(inv))) return;
	if (read.state !== 'ok') {
		throw new CniError(
			read.state === 'unsupported' ? CniErrorCode.incompatibleVersion : CniErrorCode.unknownContainer,
			`failed to check ${inv.pod}: no usable plexus cache (${read.state === 'missing' ? 'missing' : read.reason})`,
		);
	}
	for (const a of read.entry.attachments) {
		const list = parseNetworkList(a.config, a.network);
		// CHECK exists from 0.4.0 on: an attachment ADDed at 0.3.x cannot be checked, which is no
		// reason to fail the pod (Multus' mixed-version breakage, #737/#525/#561).
		if (!versionAtLeast(list.cniVersion, '0.4.0')) {
			log('debug', 'not checking a network whose cniVersion has no CHECK', {
				network: a.network,
				ifname: a.ifname,
				cniVersion: list.cniVersion,
			});
			continue;
		}
		try {
			await inAttachmentOf(inv, a, () => inv.executor.checkNetworkList(list, inv.runtimeConf(a)));
		} catch (error) {
			const cause = toCniError(error);
			throw new CniError(
				cause.code,
				`check of network "${a.network}" (interface "${a.ifname}") failed: ${cause.message}`,
				{cause},
			);
		}
	}
}

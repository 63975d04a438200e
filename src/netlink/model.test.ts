import {netlinkContract} from './contract.ts';
import {MODEL_KINDS, NetlinkModel} from './model.ts';

function modelHarness(name: string, kinds: readonly string[]) {
	const kernel = new NetlinkModel({kinds});
	let n = 0;
	return {
		name,
		open: kernel.open,
		async createNetns() {
			const path = `/var/run/netns/model-${++n}`;
			kernel.addNetns(path);
			return path;
		},
		async deleteNetns(path: string) {
			kernel.deleteNetns(path);
		},
	};
}

netlinkContract(modelHarness('model', MODEL_KINDS), ['core', 'l3']);
netlinkContract(modelHarness('model without vrf', ['veth', 'bridge', 'macvlan']), ['no-vrf']);

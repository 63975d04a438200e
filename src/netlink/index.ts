/**
 * The netlink core's public surface: the Netlink interface and records, the kernel implementation
 * (`openNetlink`), the in-memory model (`NetlinkModel`), typed errors and netns helpers.
 */
export * from './errors.ts';
export {openNetlink} from './kernel.ts';
export {MODEL_KINDS, NetlinkModel} from './model.ts';
export * from './netlink.ts';
export {
	assertNetns,
	checkNetnsName,
	createNetns,
	deleteNetns,
	NETNS_NAME_MAX,
	NETNS_RUN_DIR,
	netnsExists,
	netnsPathOf,
} from './netns.ts';

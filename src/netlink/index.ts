/**
 * The netlink core's public surface: the Netlink interface and records, the kernel implementation
 * (`openNetlink`), the in-memory model (`NetlinkModel`), typed errors and netns helpers.
 */
export * from './errors.ts';
export {openNetlink} from './kernel.ts';
export {MODEL_KINDS, NetlinkModel} from './model.ts';
export * from './netlink.ts';
export {assertNetns, netnsExists} from './netns.ts';

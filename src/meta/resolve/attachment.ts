/**
 * What resolution produces and what it reads: one attachment of the pod (a complete network list
 * on one interface) and the context a resolution runs in.
 */
import type {NetworkList} from '../../chain/network-list.ts';
import type {CniError} from '../../cni/errors.ts';
import type {DeviceSources} from '../../devices/allocate.ts';
import type {DeviceRef} from '../../devices/assign.ts';
import type {KubeClient, Pod} from '../../k8s/client.ts';
import type {PodRef} from '../../k8s/k8s-args.ts';
import type {PlexusConf} from '../conf/conf.ts';

/** One attachment of the pod: one network list run on one interface. */
export interface Attachment {
	/** The network-status name: `namespace/name` of a NAD, else the conf's name. */
	network: string;
	nad: {namespace: string; name: string} | undefined;
	ifname: string;
	isClusterNetwork: boolean;
	/** The complete list to run; its bytes are what the cache persists and DEL replays. */
	list: NetworkList;
	/** The capability arguments; each plugin gets the ones it declares as `runtimeConfig`. */
	capabilityArgs: Record<string, unknown>;
	/** The element's `default-route` gateways, when it set the key. */
	defaultRoute: string[] | undefined;
	/** The device plugin's device-info file to copy to CNIDeviceInfoFile before ADD (NADs with a resourceName). */
	devicePluginInfo?: string;
	/** The NAD's `k8s.v1.cni.cncf.io/resourceName`, when it names one (src/devices/ gives it a device). */
	resourceName?: string | undefined;
	/** The device it got and where it was read (PodResources, checkpoint, DRA claim). */
	device?: DeviceRef;
	/** Multus' auxiliary chain: runs like an attachment, but is not a network of the pod (no status). */
	auxiliary?: true;
	/** Where the attachment came from, for messages ("element 2 of k8s.v1.cni.cncf.io/networks"). */
	origin: string;
}

export interface ResolveContext {
	conf: PlexusConf;
	/** CNI_IFNAME: the cluster network's interface. */
	ifname: string;
	podRef: PodRef | undefined;
	/** The pod from the API; undefined without an API server or when the pod is gone. */
	pod: Pod | undefined;
	kube: KubeClient | undefined;
	/** CNI_CONTAINERID, for per-attachment file names (device information). */
	containerId?: string | undefined;
	/** Told about a missing NAD before the error is thrown (Warning event `NoNetworkFound`). */
	onNetworkNotFound?:
		| ((nad: {namespace: string; name: string}, message: string) => Promise<void>)
		| undefined;
	/**
	 * When set, an annotation element that cannot be resolved (NAD missing or broken, isolation,
	 * capabilities) is reported here and skipped instead of failing everything: DEL without a cache
	 * must still undo the rest. The skipped element keeps its `net<position>` slot, so the others
	 * get the interface names they had at ADD.
	 */
	onUnresolvable?: ((origin: string, error: CniError) => void) | undefined;
	/** Where devices are read (default: from the conf and `kube`, src/devices/allocate.ts). */
	devices?: DeviceSources | undefined;
	/** The conf's cluster network, when its read was started ahead (see Invocation.readClusterNetwork). */
	clusterNetwork?: Promise<NamedNetwork> | undefined;
}

/** A network found by name (a file, a NAD or a conf of confDir) before it becomes an attachment. */
export interface NamedNetwork {
	network: string;
	nad: {namespace: string; name: string} | undefined;
	list: NetworkList;
	/** The NAD's `k8s.v1.cni.cncf.io/resourceName`, when it names one. */
	resourceName?: string | undefined;
}

/** The device-info spec's capability: where a plugin writes the device it attached. */
export const DEVICE_INFO_CAPABILITY = 'CNIDeviceInfoFile';

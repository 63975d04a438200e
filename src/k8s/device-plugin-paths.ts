/**
 * Where kubelet and device plugins keep device information on a node: the defaults of the conf's
 * `podResourcesSocket`, `deviceCheckpointFile` and `devicePluginInfoDir`. Apart from
 * ./device-plugin.ts and ../devices/pod-resources.ts so that parsing a conf loads neither reader.
 */

/** kubelet's PodResources API socket. */
export const DEFAULT_POD_RESOURCES_SOCKET = '/var/lib/kubelet/pod-resources/kubelet.sock';

/** kubelet's device manager checkpoint (the fallback without the PodResources socket). */
export const DEFAULT_DEVICE_CHECKPOINT = '/var/lib/kubelet/device-plugins/kubelet_internal_checkpoint';
/** Where device plugins leave device-info files (device-info spec §4.1). */
export const DEFAULT_DP_DEVICE_INFO_DIR = '/var/run/k8s.cni.cncf.io/devinfo/dp';

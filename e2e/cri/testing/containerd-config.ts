/**
 * The config.toml of a test containerd (Debian's 1.6): everything it writes lives under the test's
 * own directory, and its CRI plugin reads the test's own CNI conf and bin dirs.
 *
 * Why each non-default setting is there:
 * - `restrict_oom_score_adj`: the test sandbox lacks CAP_SYS_RESOURCE; without it runc fails with
 *   "can't get final child's PID from pipe: EOF" when it lowers a container's oom_score_adj.
 * - `runtime_type = "io.containerd.runc.v2"`: runtime options (the runc `Root` below) are only
 *   honoured by the v2 shim.
 * - runc `Root`: runc's state goes under the test's state dir instead of the host-wide
 *   /run/containerd/runc, so cleanup sees only this containerd's containers.
 * - `netns_mounts_under_state_dir`: sandbox netns are bind-mounted under the state dir, not in the
 *   host's /var/run/netns (unless the layout asks for the host's dir, as a real node has it).
 * - `max_conf_num = 1`: the CRI plugin (go-cni) sorts the `.conf`, `.conflist` and `.json` files of
 *   `conf_dir` lexically and uses the first one only (the 1.6 default, stated for the reader).
 * - `stream_server_port = "0"`: exec/attach streaming on a random loopback port, never a fixed one.
 */

/** The directories and names one test containerd uses. */
export interface ContainerdLayout {
	readonly root: string;
	readonly state: string;
	readonly address: string;
	readonly optDir: string;
	readonly runcRoot: string;
	readonly confDir: string;
	readonly binDir: string;
	readonly sandboxImage: string;
	readonly snapshotter: string;
	/** Sandbox netns in the host's /var/run/netns (a real node's place) instead of the state dir. */
	readonly netnsInHostDir: boolean;
}

/** TOML basic string. */
const str = (value: string) => JSON.stringify(value);

/** Snapshotters and plugins a test containerd never needs (faster start, fewer warnings). */
const DISABLED_PLUGINS = [
	'io.containerd.snapshotter.v1.aufs',
	'io.containerd.snapshotter.v1.btrfs',
	'io.containerd.snapshotter.v1.devmapper',
	'io.containerd.snapshotter.v1.zfs',
	'io.containerd.tracing.processor.v1.otlp',
	'io.containerd.internal.v1.tracing',
];

/** Renders config.toml (version 2) for `layout`. */
export function containerdConfig(layout: ContainerdLayout): string {
	const cri = 'plugins."io.containerd.grpc.v1.cri"';
	return `version = 2
root = ${str(layout.root)}
state = ${str(layout.state)}
disabled_plugins = [${DISABLED_PLUGINS.map(str).join(', ')}]

[grpc]
  address = ${str(layout.address)}

[plugins."io.containerd.internal.v1.opt"]
  path = ${str(layout.optDir)}

[${cri}]
  sandbox_image = ${str(layout.sandboxImage)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = ${!layout.netnsInHostDir}
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"

[${cri}.containerd]
  snapshotter = ${str(layout.snapshotter)}
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  Root = ${str(layout.runcRoot)}

[${cri}.cni]
  bin_dir = ${str(layout.binDir)}
  conf_dir = ${str(layout.confDir)}
  max_conf_num = 1
`;
}

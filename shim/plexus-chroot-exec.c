/*
 * plexus-chroot-exec ROOT PLUGIN: runs one CNI delegate inside the host's root filesystem, as
 * Multus thick does with `chrootDir`. The daemon runs in a container; a delegate such as flannel
 * (/run/flannel/subnet.env), dhcp (/run/cni/dhcp.sock) or portmap (the host's iptables) only works
 * when it sees the host's files, so `plexus daemon --chroot-dir=/hostroot` execs every binary
 * delegate through this helper: chroot(ROOT), chdir("/"), then execv(PLUGIN) with the same
 * environment, stdin, stdout and stderr (PLUGIN is a path inside ROOT, argv[0] as libcni sets it).
 *
 * Why a helper: Node's child_process cannot chroot the child it spawns (Go's SysProcAttr.Chroot
 * can, which is what Multus uses), and the daemon itself must stay in the container (its socket,
 * cache and logs). The cost is one extra execve of this small static binary per delegate run
 * (well under a millisecond, next to the ~2 ms fork of the daemon), and it needs no shell, no
 * coreutils and no dynamic loader in the image.
 *
 * Failures (bad usage, chroot, chdir, exec) print one line on stderr naming the root and the
 * plugin and exit 127; the daemon reports that text as the delegate's error, and retries an exec
 * that failed with "Text file busy" as it retries ETXTBSY without a root (libcni does too).
 *
 * Dependencies: libc only. Built by node-gyp (shim/binding.gyp) next to plexus-shim.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
	if (argc != 3 || argv[1][0] != '/' || argv[2][0] != '/') {
		fprintf(stderr, "usage: plexus-chroot-exec ROOT PLUGIN (both absolute paths)\n");
		return 127;
	}
	const char *root = argv[1];
	const char *plugin = argv[2];
	if (chroot(root) != 0) {
		fprintf(stderr, "plexus-chroot-exec: failed to chroot into \"%s\": %s\n", root, strerror(errno));
		return 127;
	}
	if (chdir("/") != 0) {
		fprintf(stderr, "plexus-chroot-exec: failed to chdir to / in \"%s\": %s\n", root, strerror(errno));
		return 127;
	}
	char *args[] = {argv[2], NULL};
	execv(plugin, args);
	fprintf(stderr, "plexus-chroot-exec: failed to exec \"%s\" in host root \"%s\": %s\n", plugin, root,
	        strerror(errno));
	return 127;
}

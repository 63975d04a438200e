#!/usr/bin/env bash
# Installs the OS packages the test suite needs (as root), or prints the exact command (otherwise).
# Each entry is "<path that proves it is there>:<debian package>".
set -euo pipefail

REQUIRED=(
	/usr/sbin/ip:iproute2
	/usr/lib/cni/bridge:containernetworking-plugins
	/usr/bin/ping:iputils-ping
	/usr/sbin/nft:nftables
	/usr/bin/containerd:containerd
	/usr/sbin/runc:runc
	/usr/sbin/xtables-nft-multi:iptables
	/usr/bin/gcc:gcc
	/usr/lib/x86_64-linux-gnu/libc.a:libc6-dev
	/usr/bin/buildah:buildah
	/usr/bin/strip:binutils
	/usr/bin/openssl:openssl
)

missing=()
for entry in "${REQUIRED[@]}"; do
	path=${entry%%:*}
	pkg=${entry#*:}
	[ -e "$path" ] || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "plexus tests need these Debian packages; run as root:" >&2
	echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "installing test prerequisites: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2

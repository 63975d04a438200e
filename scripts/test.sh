#!/usr/bin/env bash
# The one command that proves a change (`npm test`): prerequisites, lint, type check, unit tests,
# e2e tests in real network namespaces, then the tests that need vrf/8021q/dummy (on this kernel
# when it has them, else inside the qemu test bed). Any failure fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/prereqs.sh
echo "== lint" >&2
biome check .
echo "== typecheck" >&2
tsc --noEmit -p tsconfig.json
echo "== unit" >&2
vitest run --project unit
if [ "$(id -u)" -ne 0 ]; then
	echo "e2e tests need root (real network namespaces): run 'sudo npm test'" >&2
	exit 1
fi
echo "== e2e (host kernel)" >&2
vitest run --project e2e

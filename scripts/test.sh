#!/usr/bin/env bash
# The one command that proves a change (`npm test`): prerequisites, lint, type check, unit tests,
# e2e tests in real network namespaces, and the tests that need vrf/8021q/dummy (on this kernel
# when it has them, else inside the qemu test bed, alongside unit and e2e). Any failure fails the
# run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

bash scripts/prereqs.sh
# Each vitest project also writes a JSON report here; the totals are printed as the last line.
results=.test-results
rm -rf "$results" && mkdir -p "$results"
json() { echo "--reporter=default" "--reporter=json" "--outputFile.json=$PWD/$results/$1.json"; }
echo "== lint" >&2
biome check .
echo "== typecheck" >&2
tsc --noEmit -p tsconfig.json
# bin/plexus runs the bundle in dist/plexus: rebuilt here when the sources changed since npm ci.
echo "== bundle" >&2
node scripts/bundle.ts
if [ "$(id -u)" -ne 0 ]; then
	echo "== unit" >&2
	vitest run --project unit $(json unit)
	echo "e2e tests need root (real network namespaces): run 'sudo npm test'" >&2
	exit 1
fi

# vrf, 8021q, dummy and ipvlan: probed in a throwaway network namespace of this kernel.
host_has_vm_kinds() {
	unshare --net sh -ec '
		ip link add px-probe type dummy
		ip link add link px-probe name px-probe.100 type vlan id 100
		ip link add link px-probe name px-probe-iv type ipvlan mode l2
		ip link add px-probe-vrf type vrf table 10' >/dev/null 2>&1
}
# Without those kinds the vm project runs in the qemu test bed, which keeps one core busy for
# minutes: it runs in the background while unit and e2e use the other one; its output follows.
status=0
vm_pid=''
if ! host_has_vm_kinds; then
	echo "== vm (qemu test bed, in the background: this kernel lacks vrf/8021q/dummy/ipvlan)" >&2
	bash scripts/vm/run -- "$PWD/node_modules/.bin/vitest" run --project vm $(json vm) >"$results/vm.log" 2>&1 &
	vm_pid=$!
fi
echo "== unit" >&2
vitest run --project unit $(json unit) || status=1
# The DaemonSet's image (e2e/cri imports it into containerd); reused when its inputs did not change.
echo "== image" >&2
bash scripts/image || status=1
echo "== e2e (host kernel)" >&2
vitest run --project e2e $(json e2e) || status=1
if [ -n "$vm_pid" ]; then
	vm_status=0
	wait "$vm_pid" || vm_status=$?
	echo "== vm (qemu test bed) output" >&2
	cat "$results/vm.log"
	[ "$vm_status" -eq 0 ] || status=1
else
	echo "== vm (host kernel)" >&2
	vitest run --project vm $(json vm) || status=1
fi

# One closing line with the totals of all three projects.
node -e '
	let passed = 0, failed = 0, skipped = 0;
	for (const file of process.argv.slice(1)) {
		const report = JSON.parse(require("node:fs").readFileSync(file, "utf8"));
		passed += report.numPassedTests;
		failed += report.numFailedTests;
		skipped += report.numPendingTests + report.numTodoTests;
	}
	console.log(`tests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
	process.exitCode = failed === 0 && passed > 0 ? 0 : 1;
' "$results"/unit.json "$results"/e2e.json "$results"/vm.json
exit "$status"

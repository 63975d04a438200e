import {defineConfig} from 'vitest/config';

// Three projects, one per kind of host a test needs:
// - unit: no privileges, no kernel (fakes and the in-memory netlink model);
// - e2e:  root, real network namespaces on the host kernel (veth, bridge, macvlan);
// - vm:   device kinds this host kernel may lack (vrf, 8021q, dummy); scripts/test.sh runs this
//         project on the host when its kernel has them and inside the qemu test bed otherwise.
// e2e and vm run bin/plexus, which runs the bundle in dist/plexus: their set-up makes it current.
export default defineConfig({
	test: {
		setupFiles: ['./vitest.setup.ts'],
		projects: [
			{
				extends: true,
				test: {
					name: 'unit',
					include: [
						'src/**/*.test.ts',
						'delegates/**/*.test.ts',
						'scripts/**/*.test.ts',
						'e2e/**/*.unit.test.ts',
					],
				},
			},
			{
				extends: true,
				test: {
					name: 'e2e',
					include: ['e2e/**/*.e2e.test.ts'],
					globalSetup: ['./vitest.global-setup.ts'],
					testTimeout: 60_000,
					hookTimeout: 60_000,
				},
			},
			{
				extends: true,
				test: {
					name: 'vm',
					include: ['e2e/**/*.vm.test.ts'],
					globalSetup: ['./vitest.global-setup.ts'],
					testTimeout: 300_000,
					hookTimeout: 300_000,
				},
			},
		],
	},
});

import {netlinkContract} from '../../src/netlink/testing/contract.ts';
import {kernelHarness} from './testing/harness.ts';

// vrf, 8021q and dummy: the kernel the vm project runs on (the qemu test bed, or a host that has them).
netlinkContract(kernelHarness('vm kernel'), ['l3']);

/**
 * CRI end to end, one-shot: containerd execs `plexus` (bin/plexus) from its CNI bin dir for every
 * sandbox, as kubelet's runtime does on a node without the daemon. Scenarios: ./cri-scenarios.ts.
 */
import {describeCriNode} from './cri-scenarios.ts';

describeCriNode('one-shot');

#!/usr/bin/env node
// netplumb-cni: the CNI plugin executable. Container runtimes run it with CNI_COMMAND and
// friends in the environment and the network configuration on stdin (see docs/cni.md).
// It loads one bundled file (dist/netplumb-cni.js, built from dist/cni/main.js by `npm run
// build:cni`): a new process per call, and one file loads in half the time of the ~80
// modules it stands for.
import { main } from '../dist/netplumb-cni.js';

process.exit(await main());

#!/usr/bin/env node
// netplumb-cni: the CNI plugin executable. Container runtimes run it with CNI_COMMAND and
// friends in the environment and the network configuration on stdin (see docs/cni.md).
import { main } from '../dist/cni/main.js';

process.exit(await main());

#!/usr/bin/env node
// netplumb-cni: the CNI plugin executable. Container runtimes run it with CNI_COMMAND and
// friends in the environment and the network configuration on stdin (see docs/cni.md).
// A new process per call, so start-up counts: it runs one bundled file
// (dist/netplumb-cni.cjs, built from dist/cni/main.js by `npm run build:cni`) from V8's
// code cache made at build time (bin/bundle.js).
import { fileURLToPath } from 'node:url';
import { loadBundle } from './bundle.js';

const { main } = loadBundle(fileURLToPath(new URL('../dist/netplumb-cni.cjs', import.meta.url)));
process.exit(await main());

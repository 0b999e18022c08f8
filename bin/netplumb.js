#!/usr/bin/env node
// The `netplumb` command (package.json "bin"): everything is in dist/cli, on the library's public API.
import { main } from '../dist/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

#!/usr/bin/env node
// The published entry point: the bundled executable (scripts/bundle-executable.ts); the Node version
// check runs first, in dist/executable/main.js.
import "../dist/executable/main.js";

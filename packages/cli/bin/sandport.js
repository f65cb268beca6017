#!/usr/bin/env node
// The published entry point: everything, including the Node version check, lives in dist/main.js.
import "../dist/main.js";

#!/usr/bin/env node
// Published entry point: the compiled CLI lives in dist/.
await import("../dist/bin.js");

#!/usr/bin/env node
// The offline demo (examples/) is not built yet: see issue "The offline demo". Until it lands this
// command says so plainly and exits non-zero, rather than pretending to run.
console.error("The offline demo is not built yet. Run `pnpm test` to exercise what exists so far.");
process.exit(1);

// Another process using a file ledger, for the one-writer tests: opens the ledger, says so on stdout, and keeps it
// until it is killed.
import { createFileLedger } from "../src/node/fileLedger.js";

const [ledgerPath] = process.argv.slice(2);
const ledger = createFileLedger({ path: ledgerPath as string });
await ledger.pending();
process.stdout.write("held\n");
setInterval(() => undefined, 60_000);

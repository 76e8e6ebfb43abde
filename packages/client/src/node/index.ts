/**
 * `@tollgate/client/node`: Node-only parts of the paying fetch: the durable file ledger.
 * @packageDocumentation
 */
export { type CreateFileLedgerParameters, createFileLedger, type FileLedger } from "./fileLedger.js";

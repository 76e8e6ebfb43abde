import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readFile, realpath, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { isTollgateError, TollgateError } from "@tollgate/shared";
import { type LedgerEntry, type PaymentLedger, parseLedgerEntry, rememberEntry } from "../ledger/ledger.js";
import { acquireLedgerFileLock, type LedgerFileLock } from "./ledgerFileLock.js";

/** The ledger holds bearer proofs (signed authorizations, prepaid tokens): owner read and write only. */
const fileMode = 0o600;
/** A directory the ledger creates is the owner's only. */
const directoryMode = 0o700;

/** Parameters of `createFileLedger`. */
export type CreateFileLedgerParameters = Readonly<{
  /**
   * The JSON-lines file; created with its directory when missing (file mode 0600, directory 0700; an existing
   * file's mode is tightened to 0600). One ledger object writes a file at a time: it holds `<path>.lock` from its
   * first use until `close()` (or the process's exit).
   */
  path: string;
  /**
   * Rewrite the file with only the entries it keeps (pending ones, answered ones of explicit keys) once this many lines were appended since the last rewrite.
   * @default 1000
   */
  compactAfter?: number;
}>;

/** A durable ledger that can be closed (its file handle released). */
export type FileLedger = PaymentLedger & Readonly<{ close(): Promise<void> }>;

/**
 * A durable ledger in a JSON-lines file: each entry is appended and `fsync`ed before `put` resolves, so a proof is
 * on disk before it is sent, and a restarted process re-sends it instead of paying again. No server needed.
 * The file holds proofs (signed authorizations, bearer values): it is created 0600 (owner only), an existing file is
 * tightened to 0600, and a file whose mode cannot be tightened is refused. One writer: a second ledger on the same
 * file, in this process or another, fails with `CLIENT__LEDGER_LOCKED` (share one ledger object between paying
 * fetches instead); a lock left by a dead process is taken over.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createFileLedger } from "@tollgate/client/node";
 * const ledger = createFileLedger({ path: "./.tollgate/ledger.jsonl" });
 * const payingFetch = createPayingFetch({ wallets: [wallet], ledger });
 * ```
 * @throws `CLIENT__LEDGER_LOCKED` (from its methods, when another ledger holds the file), `SERVER__STORE_FAILED`
 *   (when the file cannot be read, written or made private)
 */
export function createFileLedger(parameters: CreateFileLedgerParameters): FileLedger {
  const { path, compactAfter = 1000 } = parameters;
  const entries = new Map<string, LedgerEntry>();
  let handle: FileHandle | undefined;
  let lock: LedgerFileLock | undefined;
  let loaded: Promise<void> | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  let appended = 0;

  function storeFailed(operation: string, cause: unknown): TollgateError {
    return new TollgateError("SERVER__STORE_FAILED", {
      context: { operation: `ledger ${operation}` },
      cause,
    });
  }

  async function load(): Promise<void> {
    await mkdir(dirname(path), { recursive: true, mode: directoryMode });
    // One writer: taken before reading, so no other ledger appends or compacts while this one loads. The lock sits
    // beside the real file, so a second path to it (a symlink, `..`) finds the same lock.
    const real = await realpath(path).catch(async () => join(await realpath(dirname(path)), basename(path)));
    lock = await acquireLedgerFileLock({ ledgerPath: real });
    try {
      await loadLocked();
    } catch (cause) {
      await handle?.close().catch(() => undefined);
      handle = undefined;
      entries.clear();
      await lock.release();
      lock = undefined;
      throw cause;
    }
  }

  async function loadLocked(): Promise<void> {
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      // A torn last line from a crash mid-write was never acknowledged: it is skipped.
      const entry = parseLedgerEntry(line);
      if (entry === undefined) continue;
      rememberEntry(entries, entry);
    }
    handle = await open(path, "a", fileMode);
    // Created 0600; an older or copied file may be readable by others: tightened (a failure refuses the file).
    await handle.chmod(fileMode);
    // A crash mid-write leaves a torn last line; end it, so the next entry starts on a line of its own.
    if (text !== "" && !text.endsWith("\n")) {
      await handle.write("\n");
      await handle.sync();
    }
  }

  function ready(): Promise<void> {
    loaded ??= load().catch((cause) => {
      loaded = undefined;
      throw isTollgateError(cause, "CLIENT__LEDGER_LOCKED") ? cause : storeFailed("open", cause);
    });
    return loaded;
  }

  /** Runs writes one after another, so lines never interleave. */
  function serial<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task, task);
    queue = run.catch(() => undefined);
    return run;
  }

  async function compact(): Promise<void> {
    // Rewriting drops every line this ledger does not know: only while it still holds the file.
    if (lock === undefined || !(await lock.held())) {
      throw new TollgateError("CLIENT__LEDGER_LOCKED", { context: { path, pid: 0, host: "" } });
    }
    const tmp = `${path}.${process.pid}.tmp`;
    await unlink(tmp).catch(() => undefined);
    const out = await open(tmp, "wx", fileMode);
    try {
      const lines = [...entries.values()].map((e) => `${JSON.stringify(e)}\n`).join("");
      await out.writeFile(lines, "utf8");
      await out.sync();
    } finally {
      await out.close();
    }
    // Renamed over the live file while the old handle stays open: if the rename fails, appends go on as before.
    await rename(tmp, path);
    await handle?.close();
    handle = undefined;
    handle = await open(path, "a", fileMode);
    const dir = await open(dirname(path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    appended = 0;
  }

  return Object.freeze({
    async get(key: string) {
      await ready();
      return entries.get(key);
    },
    async pending() {
      await ready();
      return [...entries.values()].filter((e) => e.state === "pending");
    },
    put(entry: LedgerEntry) {
      return serial(async () => {
        await ready();
        try {
          await handle?.write(`${JSON.stringify(entry)}\n`);
          await handle?.sync();
        } catch (cause) {
          throw storeFailed("write", cause);
        }
        rememberEntry(entries, entry);
        appended += 1;
        if (appended >= compactAfter) {
          try {
            await compact();
          } catch (cause) {
            throw isTollgateError(cause, "CLIENT__LEDGER_LOCKED") ? cause : storeFailed("compact", cause);
          }
        }
      });
    },
    close() {
      return serial(async () => {
        await handle?.close();
        handle = undefined;
        loaded = undefined;
        entries.clear();
        await lock?.release();
        lock = undefined;
      });
    },
  });
}

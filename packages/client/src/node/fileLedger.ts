import type { FileHandle } from "node:fs/promises";
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { dirname } from "node:path";
import { TollgateError } from "@tollgate/shared";
import { type LedgerEntry, type PaymentLedger, rememberEntry } from "../ledger/ledger.js";

/** Parameters of `createFileLedger`. */
export type CreateFileLedgerParameters = Readonly<{
  /** The JSON-lines file; created with its directory when missing. One process writes a file at a time. */
  path: string;
  /**
   * Rewrite the file with only the entries it keeps (pending ones, answered ones of explicit keys) once this many lines were appended since the last rewrite.
   * @default 1000
   */
  compactAfter?: number;
}>;

/** A durable ledger that can be closed (its file handle released). */
export type FileLedger = PaymentLedger & Readonly<{ close(): Promise<void> }>;

function parseLine(line: string): LedgerEntry | undefined {
  try {
    const value = JSON.parse(line) as Partial<LedgerEntry>;
    if (
      typeof value?.key !== "string" ||
      typeof value.state !== "string" ||
      typeof value.proof !== "object"
    ) {
      return undefined;
    }
    return value as LedgerEntry;
  } catch {
    // A torn last line from a crash mid-write: the entry was never acknowledged, so it never counted.
    return undefined;
  }
}

/**
 * A durable ledger in a JSON-lines file: each entry is appended and `fsync`ed before `put` resolves, so a proof is
 * on disk before it is sent, and a restarted process re-sends it instead of paying again. No server needed.
 * The file holds proofs (signed authorizations): keep it private to the agent.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createFileLedger } from "@tollgate/client/node";
 * const ledger = createFileLedger({ path: "./.tollgate/ledger.jsonl" });
 * const payingFetch = createPayingFetch({ wallets: [wallet], ledger });
 * ```
 * @throws `SERVER__STORE_FAILED` (from its methods, when the file cannot be read or written)
 */
export function createFileLedger(parameters: CreateFileLedgerParameters): FileLedger {
  const { path, compactAfter = 1000 } = parameters;
  const entries = new Map<string, LedgerEntry>();
  let handle: FileHandle | undefined;
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
    await mkdir(dirname(path), { recursive: true });
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
    }
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      const entry = parseLine(line);
      if (entry === undefined) continue;
      rememberEntry(entries, entry);
    }
    handle = await open(path, "a");
    // A crash mid-write leaves a torn last line; end it, so the next entry starts on a line of its own.
    if (text !== "" && !text.endsWith("\n")) {
      await handle.write("\n");
      await handle.sync();
    }
  }

  function ready(): Promise<void> {
    loaded ??= load().catch((cause) => {
      loaded = undefined;
      throw storeFailed("open", cause);
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
    const tmp = `${path}.${process.pid}.tmp`;
    const out = await open(tmp, "w");
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
    handle = await open(path, "a");
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
            throw storeFailed("compact", cause);
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
      });
    },
  });
}

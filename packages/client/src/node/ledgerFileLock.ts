import { randomBytes } from "node:crypto";
import { readFileSync, unlinkSync } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { TollgateError } from "@tollgate/shared";

/** Who holds a ledger's lock, as its lock file says. */
type Holder = Readonly<{ pid: number; host: string; token: string }>;

/** A held lock on one ledger file. */
export type LedgerFileLock = Readonly<{
  /** The lock file: `<ledger>.lock`. */
  path: string;
  /** Whether the lock file is still this lock's (nobody removed it and took the ledger over). */
  held(): Promise<boolean>;
  /** Removes the lock file if it is still this lock's. */
  release(): Promise<void>;
}>;

/** A lock file this young with no readable holder is still being written by its creator. */
const unreadableGraceMs = 5_000;
/** A `.break` file older than this was left by a process that died while breaking a stale lock. */
const staleBreakMs = 10_000;
const attempts = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function code(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function parseHolder(text: string): Holder | undefined {
  try {
    const value = JSON.parse(text) as Partial<Holder>;
    if (typeof value.pid !== "number" || typeof value.host !== "string" || typeof value.token !== "string") {
      return undefined;
    }
    return value as Holder;
  } catch {
    // Empty or torn: its writer is still writing it, or died doing so (judged by the file's age).
    return undefined;
  }
}

/** Whether the holder may still be running: a live pid on this host, or any holder on another host. */
function mayBeAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return code(error) !== "ESRCH";
  }
}

function locked(ledgerPath: string, holder: Holder | undefined): TollgateError<"CLIENT__LEDGER_LOCKED"> {
  return new TollgateError("CLIENT__LEDGER_LOCKED", {
    context: { path: ledgerPath, pid: holder?.pid ?? 0, host: holder?.host ?? "" },
  });
}

/**
 * Removes a stale lock file, if it still holds `staleText`. Only one process breaks a lock at a time (it holds
 * `<lock>.break`, created exclusively), so a lock another process has just taken is never removed by mistake.
 */
async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const breakPath = `${lockPath}.break`;
  let breaker: Awaited<ReturnType<typeof open>>;
  try {
    breaker = await open(breakPath, "wx", 0o600);
  } catch (error) {
    if (code(error) !== "EEXIST") throw error;
    const age = await stat(breakPath).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > staleBreakMs) await unlink(breakPath).catch(() => undefined);
    return;
  }
  try {
    const current = await readFile(lockPath, "utf8").catch(() => undefined);
    if (current === staleText) await unlink(lockPath).catch(() => undefined);
  } finally {
    await breaker.close();
    await unlink(breakPath).catch(() => undefined);
  }
}

/** Parameters of `acquireLedgerFileLock`. */
export type AcquireLedgerFileLockParameters = Readonly<{
  /** The ledger file the lock is for; the lock file is `<path>.lock`. */
  ledgerPath: string;
}>;

/**
 * Takes the one-writer lock of a ledger file: `<path>.lock`, created exclusively (`O_EXCL`, mode 0600) with this
 * process's pid, host and a random token. A lock whose pid is dead on this host is stale and taken over; a live pid,
 * or a holder on another host (a shared file system: it cannot be checked), refuses. The lock is removed by
 * `release`, or when the process exits normally; after a crash the next process finds it stale.
 *
 * @example
 * ```ts
 * const lock = await acquireLedgerFileLock({ ledgerPath: "/var/agent/ledger.jsonl" });
 * try { … } finally { await lock.release(); }
 * ```
 * @throws `CLIENT__LEDGER_LOCKED` (another ledger, in this process or another, holds the file), or the file
 *   system's error
 */
export async function acquireLedgerFileLock(
  parameters: AcquireLedgerFileLockParameters,
): Promise<LedgerFileLock> {
  const { ledgerPath } = parameters;
  const lockPath = `${ledgerPath}.lock`;
  const mine: Holder = { pid: process.pid, host: hostname(), token: randomBytes(16).toString("hex") };
  const text = JSON.stringify(mine);
  let lastHolder: Holder | undefined;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const handle = await open(lockPath, "wx", 0o600);
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      return held(lockPath, text);
    } catch (error) {
      if (code(error) !== "EEXIST") throw error;
    }
    const current = await readFile(lockPath, "utf8").catch((error: unknown) => {
      if (code(error) === "ENOENT") return undefined;
      throw error;
    });
    if (current === undefined) continue; // released meanwhile: try again
    const holder = parseHolder(current);
    lastHolder = holder ?? lastHolder;
    if (holder === undefined) {
      const age = await stat(lockPath).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age < unreadableGraceMs) {
        await sleep(50);
        continue;
      }
    } else if (mayBeAlive(holder)) {
      throw locked(ledgerPath, holder);
    }
    await breakStaleLock(lockPath, current);
    await sleep(10 + Math.floor(Math.random() * 20));
  }
  throw locked(ledgerPath, lastHolder);
}

function held(lockPath: string, text: string): LedgerFileLock {
  let released = false;
  const onExit = () => {
    try {
      if (readFileSync(lockPath, "utf8") === text) unlinkSync(lockPath);
    } catch {
      // Gone already, or unreadable: the next process judges it by its pid.
    }
  };
  process.once("exit", onExit);
  return Object.freeze({
    path: lockPath,
    async held() {
      if (released) return false;
      return (await readFile(lockPath, "utf8").catch(() => undefined)) === text;
    },
    async release() {
      if (released) return;
      released = true;
      process.removeListener("exit", onExit);
      const current = await readFile(lockPath, "utf8").catch(() => undefined);
      if (current === text) await unlink(lockPath).catch(() => undefined);
    },
  });
}

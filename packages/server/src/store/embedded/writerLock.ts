import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { TollgateError } from "@tollgate/shared";

/** The lock file's name inside the data directory. */
const lockName = "tollgate-writer.lock";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Takes the one-writer lock of a data directory: a file holding this process's id, created exclusively. A lock
 * left by a process that is gone is taken over. Returns the function that gives it back.
 *
 * @throws `SERVER__STORE_FAILED` when a live process (this one included) holds the directory.
 */
export function takeWriterLock(dataDir: string): () => void {
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, lockName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(path, String(process.pid), { flag: "wx" });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "open" }, cause: error });
      }
    }
    const holder = Number.parseInt(readFileSync(path, "utf8"), 10);
    if (Number.isSafeInteger(holder) && alive(holder)) {
      throw new TollgateError("SERVER__STORE_FAILED", {
        context: { operation: `open (process ${holder} already writes ${dataDir}; one writer only)` },
      });
    }
    rmSync(path, { force: true });
  }
  throw new TollgateError("SERVER__STORE_FAILED", { context: { operation: "open (writer lock contended)" } });
}

import { type ChildProcess, spawn } from "node:child_process";
import { appendFile, chmod, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isTollgateError } from "@tollgate/shared";
import { afterAll, describe, expect, it } from "vitest";
import type { LedgerEntry } from "../ledger/ledger.js";
import { createFileLedger } from "./fileLedger.js";

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "tollgate-ledger-"));
  dirs.push(dir);
  return join(dir, "nested", "ledger.jsonl");
}

function entry(key: string, state: LedgerEntry["state"] = "pending"): LedgerEntry {
  return {
    key,
    idempotencyKey: `idem-${key}`,
    state,
    url: "http://127.0.0.1/r",
    method: "GET",
    lane: "facilitator",
    proof: { name: "PAYMENT-SIGNATURE", value: `proof-${key}` },
    offer: { network: "eip155:84532", asset: "0xa", payTo: "0xb", amount: "10000", x402Version: 2 },
    claim: `0x${key}`,
    validBefore: 1_700_000_060,
    createdAt: 1,
    updatedAt: 1,
  };
}

describe("createFileLedger", () => {
  it("keeps pending entries across a reopen and forgets finished ones", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path });
    await ledger.put(entry("a"));
    await ledger.put(entry("b"));
    await ledger.put(entry("b", "settled"));
    await ledger.close();

    const reopened = createFileLedger({ path });
    expect((await reopened.get("a"))?.proof.value).toBe("proof-a");
    expect(await reopened.get("b")).toBeUndefined();
    expect((await reopened.pending()).map((e) => e.key)).toEqual(["a"]);
    await reopened.close();
  });

  it("ignores a torn last line left by a crash mid-write", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path });
    await ledger.put(entry("a"));
    await ledger.close();
    await appendFile(path, '{"key":"b","state":"pend');

    const reopened = createFileLedger({ path });
    expect((await reopened.pending()).map((e) => e.key)).toEqual(["a"]);
    await reopened.put(entry("c"));
    await reopened.close();
    const again = createFileLedger({ path });
    expect((await again.pending()).map((e) => e.key).sort()).toEqual(["a", "c"]);
    await again.close();
  });

  it("compacts the file to its pending entries", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path, compactAfter: 4 });
    await ledger.put(entry("a"));
    await ledger.put(entry("b"));
    await ledger.put(entry("a", "refused"));
    await ledger.put(entry("c")); // the fourth line triggers the rewrite
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as LedgerEntry).key).sort()).toEqual(["b", "c"]);
    await ledger.put(entry("d"));
    await ledger.close();
    const reopened = createFileLedger({ path });
    expect((await reopened.pending()).map((e) => e.key).sort()).toEqual(["b", "c", "d"]);
    await reopened.close();
  });

  it("keeps a proof slotted beside another pending one of its request through compaction and a reopen", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path, compactAfter: 3 });
    const own = { ...entry("r"), claim: "0x1" };
    const beside = { ...entry("r"), claim: "0x2", slot: "0x2", createdAt: 2 };
    await ledger.put(own);
    await ledger.put(beside);
    await ledger.put(entry("x", "settled")); // the third line triggers the rewrite
    await ledger.close();
    const reopened = createFileLedger({ path });
    expect((await reopened.get("r"))?.claim).toBe("0x1");
    expect((await reopened.pending()).map((e) => e.claim).sort()).toEqual(["0x1", "0x2"]);
    // Answered, a slotted proof leaves; the request's own entry is untouched.
    await reopened.put({ ...beside, state: "settled" });
    expect((await reopened.pending()).map((e) => e.claim)).toEqual(["0x1"]);
    await reopened.close();
  });

  it("concurrent puts each land on their own line", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path });
    await Promise.all(Array.from({ length: 50 }, (_, i) => ledger.put(entry(`k${i}`))));
    await ledger.close();
    const lines = (await readFile(path, "utf8")).trim().split("\n");
    expect(lines).toHaveLength(50);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });
});

const clientDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** Starts another process that opens the ledger at `path` and keeps it; resolves once it holds it. */
async function otherProcessHolding(path: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", join(clientDir, "test", "ledgerHolder.ts"), path],
    { cwd: clientDir, stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8");
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString("utf8").includes("held")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`holder exited ${code}: ${err}`)));
  });
  return child;
}

async function lockedError(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTollgateError(error, "CLIENT__LEDGER_LOCKED"))
    throw new Error(`expected CLIENT__LEDGER_LOCKED, got ${String(error)}`);
  return error;
}

describe("createFileLedger: one writer", () => {
  it("a second ledger on the same file in this process is refused until the first closes", async () => {
    const path = await tempPath();
    const first = createFileLedger({ path });
    await first.put(entry("a"));
    const second = createFileLedger({ path });
    const error = await lockedError(second.get("a"));
    expect(error.context).toMatchObject({ path, pid: process.pid });
    // Its compaction cannot erase the first's pending proofs: it never opened the file.
    await lockedError(second.put(entry("b")));
    await first.close();
    expect((await second.get("a"))?.proof.value).toBe("proof-a");
    await second.close();
  });

  it("a ledger used by another process is refused with that process's pid; once it dies, its stale lock is taken over", async () => {
    const path = await tempPath();
    const seed = createFileLedger({ path });
    await seed.put(entry("a"));
    await seed.close();
    const child = await otherProcessHolding(path);
    try {
      const ledger = createFileLedger({ path });
      const error = await lockedError(ledger.pending());
      expect(error.context).toMatchObject({ path, pid: child.pid });
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    }
    // SIGKILL left the lock file behind, naming a dead pid: stale.
    expect(JSON.parse(await readFile(`${path}.lock`, "utf8"))).toMatchObject({ pid: child.pid });
    const after = createFileLedger({ path });
    expect((await after.pending()).map((e) => e.key)).toEqual(["a"]);
    await after.close();
  });

  it("a second path to the same file (a symlink) is the same ledger, and refused", async () => {
    const path = await tempPath();
    const first = createFileLedger({ path });
    await first.put(entry("a"));
    const alias = join(dirname(path), "alias.jsonl");
    await symlink(path, alias);
    await lockedError(createFileLedger({ path: alias }).pending());
    await first.close();
  });
});

describe("createFileLedger: private files", () => {
  it("creates the ledger and its lock 0600, keeps compacted files 0600, and tightens an existing 0644 file", async () => {
    const path = await tempPath();
    const ledger = createFileLedger({ path, compactAfter: 2 });
    await ledger.put(entry("a"));
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(`${path}.lock`)).mode & 0o777).toBe(0o600);
    expect((await stat(dirname(path))).mode & 0o077).toBe(0);
    await ledger.put(entry("b")); // compacts: the file is rewritten
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    await ledger.close();

    const old = await tempPath();
    await mkdir(dirname(old), { recursive: true });
    await writeFile(old, `${JSON.stringify(entry("z"))}\n`);
    await chmod(old, 0o644);
    const reopened = createFileLedger({ path: old });
    expect((await reopened.pending()).map((e) => e.key)).toEqual(["z"]);
    expect((await stat(old)).mode & 0o777).toBe(0o600);
    await reopened.close();
  });
});

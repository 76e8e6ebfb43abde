import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

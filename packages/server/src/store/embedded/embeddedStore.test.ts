import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isTollgateError } from "@tollgate/shared";
import { afterAll, describe, expect, it } from "vitest";
import { createEmbeddedStore } from "./createEmbeddedStore.js";

const dataDir = mkdtempSync(join(tmpdir(), "tollgate-embedded-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe("createEmbeddedStore", () => {
  it("refuses a second writer, takes over a dead one's lock, and keeps everything across a restart", async () => {
    const first = await createEmbeddedStore({ dataDir, sweepEverySeconds: 0 });
    await first.claim({ key: "k", claim: { state: "settled", owner: "a", proofHash: "p" } });
    await first.credit({ tokenHash: "t", amount: 2n ** 80n, expiresAt: 4_000_000_000 });
    const response = {
      proofHash: "p",
      status: 201,
      headers: [["a", "b"]] as [string, string][],
      body: new Uint8Array([7]),
    };
    await first.reserveResponse({ key: "r", owner: "a", proofHash: "p", expiresAt: 4_000_000_000 });
    const kept = { state: "kept" as const, response };
    await first.finishResponse({ key: "r", owner: "a", record: kept, expiresAt: 4_000_000_000 });

    const second = await createEmbeddedStore({ dataDir, sweepEverySeconds: 0 }).catch((e) => e);
    expect(isTollgateError(second, "SERVER__STORE_FAILED")).toBe(true);
    await first.close();

    // A process that wrote the directory and died without closing it leaves its lock behind.
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
      encoding: "utf8",
    });
    writeFileSync(join(dataDir, "tollgate-writer.lock"), dead.stdout);
    const reopened = await createEmbeddedStore({ dataDir, sweepEverySeconds: 0 });
    expect(await reopened.getClaim("k")).toMatchObject({ state: "settled", owner: "a", proofHash: "p" });
    expect(await reopened.debit({ tokenHash: "t", amount: 1n, nowSeconds: 1 })).toMatchObject({
      ok: true,
      balance: 2n ** 80n - 1n,
    });
    expect(
      await reopened.reserveResponse({ key: "r", owner: "b", proofHash: "p", expiresAt: 4_000_000_000 }),
    ).toEqual({ reserved: false, existing: kept });
    await reopened.close();
  });
});

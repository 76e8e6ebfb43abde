import { createHash } from "node:crypto";
import { isTollgateError } from "@tollgate/shared";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../../server/test/services.js";
import { deleteRedisKeys } from "../../test/redisKeys.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { createRedisLedger } from "./createRedisLedger.js";

const url = "redis://127.0.0.1:6379";
const up = await serviceForTests({ name: "Redis", port: 6379 });
const prefix = `tollgate-client-ledger:${process.pid}:${Date.now()}:`;

afterAll(async () => {
  if (up) await deleteRedisKeys(url, prefix);
});

const entry = (key: string): LedgerEntry => ({
  key,
  idempotencyKey: "k",
  state: "pending",
  url: "http://127.0.0.1:1/paid",
  method: "GET",
  lane: "facilitator",
  proof: { name: "PAYMENT-SIGNATURE", value: "proof" },
  offer: { network: "eip155:84532", asset: "0xasset", payTo: "0xpayee", amount: "10000" },
  claim: "0x1",
  createdAt: 1,
  updatedAt: 1,
});

describe.skipIf(!up)("createRedisLedger: the lease fences the ledger", () => {
  it("a process whose lease was taken over records nothing (CLIENT__LEDGER_LEASE_LOST)", async () => {
    const ledger = await createRedisLedger({ redis: url, prefix });
    const other = new Redis(url);
    const key = `sha256:${crypto.randomUUID()}`;
    const leaseKey = `{${prefix}ledger:default}:lease:${createHash("sha256").update(key).digest("hex")}`;
    try {
      const error = await ledger
        .lease(key, async () => {
          // The lease expired and another process took it while this one was still signing.
          await other.set(leaseKey, "another-owner");
          await ledger.put(entry(key));
        })
        .catch((e: unknown) => e);
      expect(isTollgateError(error, "CLIENT__LEDGER_LEASE_LOST")).toBe(true);
      expect(await ledger.get(key)).toBeUndefined();
      // The other owner's lease is not freed by the loser.
      expect(await other.get(leaseKey)).toBe("another-owner");
    } finally {
      await other.quit();
      await ledger.close();
    }
  });

  it("a lease is renewed while held, so a long payment keeps it past its ttl", async () => {
    const ledger = await createRedisLedger({ redis: url, prefix, leaseTtlMs: 150 });
    const key = `sha256:${crypto.randomUUID()}`;
    try {
      await ledger.lease(key, async () => {
        await new Promise((resolve) => setTimeout(resolve, 500));
        await ledger.put(entry(key));
      });
      expect((await ledger.get(key))?.proof.value).toBe("proof");
    } finally {
      await ledger.close();
    }
  });
});

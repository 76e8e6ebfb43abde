import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../../server/test/services.js";
import { deleteRedisKeys } from "../../test/redisKeys.js";
import type { LedgerEntry } from "../ledger/ledger.js";
import { budgetBuckets } from "../policy/budgetStore.js";
import { createRedisBudgetStore } from "./createRedisBudgetStore.js";
import { createRedisLedger } from "./createRedisLedger.js";

const url = "redis://127.0.0.1:6379";
const up = await serviceForTests({ name: "Redis", port: 6379 });
const prefix = `tollgate-client-cluster:${process.pid}:${Date.now()}:`;

afterAll(async () => {
  if (up) await deleteRedisKeys(url, prefix);
});

/** The hash tag of a key as Redis Cluster reads it: the text between the first `{` and the next `}`. */
function hashTag(key: string): string {
  const open = key.indexOf("{");
  const close = key.indexOf("}", open + 1);
  return open === -1 || close <= open + 1 ? key : key.slice(open + 1, close);
}

describe.skipIf(!up)("the Redis stores are Cluster ready", () => {
  it("every command of a payment names keys of one hash tag only (one slot), as MONITOR sees them", async () => {
    const monitor = await new Redis(url).monitor();
    const commands: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args.some((a) => a.includes(prefix))) commands.push(args);
    });
    const ledger = await createRedisLedger({ redis: url, prefix, namespace: "fleet-a" });
    const budgets = await createRedisBudgetStore({ redis: url, prefix, namespace: "fleet-a" });
    try {
      const buckets = budgetBuckets({
        budgets: [
          { limit: 100n, window: "day" },
          { limit: 100n, window: "total", perOrigin: true },
          { limit: 100n, window: "hour", name: "{tricky}" },
        ],
        origin: "https://api.example.com",
      });
      await budgets.reserve({ id: "h1", amount: 5n, at: 1, buckets });
      await budgets.used({ buckets, at: 1 });
      await budgets.release({ id: "h1", at: 2 });
      const entry: LedgerEntry = {
        key: "idem:GET https://api.example.com/r {k}",
        idempotencyKey: "{k}",
        state: "pending",
        url: "https://api.example.com/r",
        method: "GET",
        lane: "facilitator",
        proof: { name: "PAYMENT-SIGNATURE", value: "x" },
        offer: { network: "eip155:84532", asset: "0xa", payTo: "0xb", amount: "5" },
        claim: "0x1",
        createdAt: 1,
        updatedAt: 1,
      };
      await ledger.lease(entry.key, async () => {
        await ledger.put(entry);
        await ledger.put({ ...entry, state: "settled", updatedAt: 2 });
      });
      await ledger.get(entry.key);
      await ledger.pending();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await ledger.close();
      await budgets.close();
      monitor.disconnect();
    }
    expect(commands.length).toBeGreaterThan(8);
    for (const args of commands) {
      const [name] = args;
      // EVAL / EVALSHA name their keys after the key count; other commands' keys are every argument holding the prefix.
      const keys =
        name?.toLowerCase().startsWith("eval") === true
          ? args.slice(3, 3 + Number(args[2]))
          : args.slice(1).filter((a) => a.startsWith(`{${prefix}`));
      const tags = new Set(keys.map(hashTag));
      expect(tags.size, args.join(" ")).toBe(1);
      expect([...tags][0]).toMatch(/^tollgate-client-cluster:.*(ledger|budgets):fleet-a$/);
    }
  });
});

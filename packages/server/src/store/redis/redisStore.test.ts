import { createServer, type Server } from "node:net";
import { isTollgateError } from "@tollgate/shared";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { paidRequestOn } from "../../../test/fixtures.js";
import { serviceForTests } from "../../../test/services.js";
import { createRedisStore } from "./createRedisStore.js";

const up = await serviceForTests({ name: "Redis", port: 6379 });

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
});

/** A loopback server speaking just enough RESP for a client's start: INFO, and CONFIG GET with `policy`. */
async function redisAnsweringPolicy(policy: string): Promise<number> {
  const server = createServer((socket) => {
    socket.on("data", (data) => {
      // A chunk may hold several pipelined commands: one answer each.
      for (const command of data
        .toString("utf8")
        .toUpperCase()
        .split(/(?=\*\d+\r\n\$)/)) {
        if (command.includes("INFO")) socket.write("$21\r\n# Server\r\nloading:0\r\n\r\n");
        else if (command.includes("CONFIG")) {
          socket.write(`*2\r\n$16\r\nmaxmemory-policy\r\n$${policy.length}\r\n${policy}\r\n`);
        } else socket.write("+OK\r\n");
      }
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as { port: number }).port;
}

describe("createRedisStore", () => {
  it.each(["allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru"])(
    "refuses a Redis whose maxmemory-policy is %s (it may evict claims and balances)",
    async (policy) => {
      const port = await redisAnsweringPolicy(policy);
      const failure = await createRedisStore({ redis: `redis://127.0.0.1:${port}` }).catch((e) => e);
      expect(isTollgateError(failure, "SERVER__INVALID_CONFIG")).toBe(true);
      expect(failure.context.option).toBe("Redis maxmemory-policy");
    },
  );

  it("refuses a prefix with a brace (the store owns the hash tags)", async () => {
    const failure = await createRedisStore({ redis: "redis://127.0.0.1:9", prefix: "a{b}" }).catch((e) => e);
    expect(isTollgateError(failure, "SERVER__INVALID_CONFIG")).toBe(true);
  });

  it("fails to start with SERVER__STORE_FAILED when Redis is unreachable", async () => {
    const failure = await createRedisStore({
      redis: "redis://127.0.0.1:9",
      onBackgroundError: () => {},
    }).catch((e) => e);
    expect(isTollgateError(failure, "SERVER__STORE_FAILED")).toBe(true);
  });

  it("makes the paywall fail closed when Redis goes away: 503, no content", async () => {
    const store = await createRedisStore({
      redis: "redis://127.0.0.1:9",
      checkEvictionPolicy: false,
      onBackgroundError: () => {},
    });
    const { response, served, events } = await paidRequestOn(store);
    expect(response.status).toBe(503);
    expect(served).toBe(0);
    expect(events.some((e) => e.type === "error" && isTollgateError(e.error, "SERVER__STORE_FAILED"))).toBe(
      true,
    );
    await store.close().catch(() => undefined);
  });

  it.skipIf(!up)(
    "reads a claim written before movedAt existed as moved at 0, and never takes it over as stale",
    async () => {
      const prefix = `tollgate-moved:${process.pid}:${Date.now()}:`;
      const redis = new Redis("redis://127.0.0.1:6379");
      const store = await createRedisStore({ redis: "redis://127.0.0.1:6379", prefix });
      try {
        // The fields an earlier release's claim script wrote: no 'moved'.
        await redis.hset(
          `${prefix}{c:old}`,
          "state",
          "pending",
          "owner",
          "a",
          "proof_hash",
          "p",
          "idem",
          "",
          "exp",
          "",
        );
        expect(await store.getClaim("old")).toEqual({
          state: "pending",
          owner: "a",
          proofHash: "p",
          movedAt: 0,
        });
        const takeOver = () =>
          store.transitionClaim({
            key: "old",
            from: ["pending"],
            to: "pending",
            proofHash: "p",
            unmovedForSeconds: 1,
            newOwner: "b",
          });
        expect(await takeOver()).toBe(false);
        // Its owner still moves it, and from then on it has a movedAt like any claim.
        expect(
          await store.transitionClaim({ key: "old", from: ["pending"], to: "pending", owner: "a" }),
        ).toBe(true);
        expect((await store.getClaim("old"))?.movedAt).toBeGreaterThan(0);
      } finally {
        await store.close();
        await redis.del(`${prefix}{c:old}`);
        await redis.quit();
      }
    },
  );
});

const redisUp = await serviceForTests({ name: "Redis", port: 6379 });

describe.skipIf(!redisUp)("createRedisStore on a real Redis", () => {
  it("writes an analytics batch to the stream in order, every field exact, across several script calls", async () => {
    const prefix = `tollgate_records_${process.pid}_${Date.now()}:`;
    const redis = new Redis("redis://127.0.0.1:6379");
    const store = await createRedisStore({ redis, prefix });
    try {
      const batch = Array.from({ length: 1_001 }, (_, i) => ({
        at: 1_800_000_000_000 + i,
        type: i % 2 ? "paid" : "refused",
        ...(i % 2 ? { lane: "token" as const, amount: 2n ** 70n + BigInt(i) } : { reason: `r${i}` }),
      }));
      await store.recordBatch(batch);
      await store.recordBatch([]);
      const entries = await redis.xrange(`${prefix}{records}`, "-", "+");
      expect(entries).toHaveLength(1_001);
      expect(entries[0]?.[1]).toEqual(["at", "1800000000000", "type", "refused", "reason", "r0"]);
      expect(entries[999]?.[1]).toEqual([
        "at",
        "1800000000999",
        "type",
        "paid",
        "lane",
        "token",
        "amount",
        (2n ** 70n + 999n).toString(),
      ]);
      expect(entries[1_000]?.[1]).toEqual(["at", "1800000001000", "type", "refused", "reason", "r1000"]);
    } finally {
      await redis.del(`${prefix}{records}`);
      redis.disconnect();
    }
  });
});

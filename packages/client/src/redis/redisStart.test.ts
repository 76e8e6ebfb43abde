import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { isTollgateError } from "@tollgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reachable } from "../../../server/test/services.js";
import { createRedisBudgetStore } from "./createRedisBudgetStore.js";
import { createRedisLedger } from "./createRedisLedger.js";

const hasRedisServer = spawnSync("redis-server", ["--version"]).status === 0;
if (!hasRedisServer)
  console.warn("NOTE: redis-server is not installed; the eviction-policy test is skipped.");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.skipIf(!hasRedisServer)(
  "the Redis stores refuse a Redis that may evict (a real redis-server of their own)",
  () => {
    let evicting: ChildProcess;
    let url: string;
    beforeAll(async () => {
      const port = await freePort();
      url = `redis://127.0.0.1:${port}`;
      evicting = spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--save",
          "",
          "--appendonly",
          "no",
          "--maxmemory-policy",
          "allkeys-lru",
        ],
        { stdio: "ignore" },
      );
      while (!(await reachable({ port }))) await new Promise((resolve) => setTimeout(resolve, 20));
    });
    afterAll(() => {
      evicting?.kill("SIGTERM");
    });

    it.each([
      ["ledger", () => createRedisLedger({ redis: url })],
      ["budget store", () => createRedisBudgetStore({ redis: url })],
    ])("the %s refuses maxmemory-policy allkeys-lru with SERVER__INVALID_CONFIG", async (_, open) => {
      const error = await open().catch((e: unknown) => e);
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
      if (isTollgateError(error, "SERVER__INVALID_CONFIG")) {
        expect(error.context.option).toBe("Redis maxmemory-policy");
      }
    });

    it("starts there with checkEvictionPolicy: false (the operator vouches for the policy)", async () => {
      const ledger = await createRedisLedger({ redis: url, checkEvictionPolicy: false });
      expect(await ledger.pending()).toEqual([]);
      await ledger.close();
    });
  },
);

describe("the Redis stores' names and reachability", () => {
  it("refuse a prefix or namespace with a brace (the stores own the hash tags)", async () => {
    for (const names of [{ prefix: "a{b}:" }, { namespace: "fleet}" }]) {
      const error = await createRedisBudgetStore({ redis: "redis://127.0.0.1:1", ...names }).catch(
        (e: unknown) => e,
      );
      expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
    }
  });

  it("fail to start with SERVER__STORE_FAILED when Redis is unreachable", async () => {
    const port = await freePort();
    const error = await createRedisLedger({
      redis: { port, host: "127.0.0.1", retryStrategy: () => null },
      onBackgroundError: () => undefined,
    }).catch((e: unknown) => e);
    expect(isTollgateError(error, "SERVER__STORE_FAILED")).toBe(true);
  });
});

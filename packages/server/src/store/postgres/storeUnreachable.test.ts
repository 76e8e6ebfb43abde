import { isTollgateError } from "@tollgate/shared";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { paidRequestOn } from "../../../test/fixtures.js";
import { createPostgresStore, poolExecutor } from "./createPostgresStore.js";
import { migrate } from "./migrations.js";

// Port 9 (discard) on loopback: nothing listens there, so every connection is refused at once.
const unreachable = { host: "127.0.0.1", port: 9, user: "postgres", database: "test" };

describe("a PostgreSQL store whose server is unreachable", () => {
  it("refuses to start (migrations) with SERVER__STORE_FAILED", async () => {
    const failure = await createPostgresStore({ pool: unreachable, sweepEverySeconds: 0 }).catch((e) => e);
    expect(isTollgateError(failure, "SERVER__STORE_FAILED")).toBe(true);
    expect(failure.context).toEqual({ operation: "migrate" });
    const pool = new pg.Pool(unreachable);
    const direct = await migrate({ executor: poolExecutor(pool) }).catch((e) => e);
    expect(isTollgateError(direct, "SERVER__STORE_FAILED")).toBe(true);
    await pool.end();
  });

  it("makes the paywall fail closed: 503, no content, a SERVER__STORE_FAILED error event", async () => {
    const store = await createPostgresStore({ pool: unreachable, migrate: false, sweepEverySeconds: 0 });
    const { response, served, events } = await paidRequestOn(store);
    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("1");
    expect(await response.json()).toEqual({ error: "internal_error" });
    expect(served).toBe(0);
    const errors = events.flatMap((e) => (e.type === "error" ? [e.error] : []));
    expect(errors.some((e) => isTollgateError(e, "SERVER__STORE_FAILED"))).toBe(true);
    await store.close();
  });
});

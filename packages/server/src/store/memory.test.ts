import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { createMemoryStore } from "./memory.js";
import type { Store, StoredResponse } from "./store.js";

const claim = (owner: string) => ({ state: "pending" as const, owner, proofHash: "p" });

/** Keeps a response under `key` as a finished run does (reserve, then finish with it). */
async function keep(store: Store, key: string, response: StoredResponse, expiresAt: number): Promise<void> {
  await store.reserveResponse({ key, owner: "keeper", proofHash: response.proofHash, expiresAt });
  await store.finishResponse({ key, owner: "keeper", record: { state: "kept", response }, expiresAt });
}

/** The response kept under `key`, if any, as a retry sees it (a reservation it makes is given back). */
async function keptResponse(store: Store, key: string): Promise<StoredResponse | undefined> {
  const found = await store.reserveResponse({ key, owner: "probe", proofHash: "p", expiresAt: 9e9 });
  if (found.reserved) await store.releaseResponse({ key, owner: "probe" });
  return !found.reserved && found.existing.state === "kept" ? found.existing.response : undefined;
}

describe("createMemoryStore", () => {
  it("gives a claim to exactly one of many concurrent callers", async () => {
    const store = createMemoryStore();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => store.claim({ key: "k", claim: claim(`r${i}`) })),
    );
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
    expect(results.find((r) => !r.claimed)).toMatchObject({ existing: { owner: "r0", state: "pending" } });
  });

  it("moves, hands over and releases claims only for their owner and state", async () => {
    const store = createMemoryStore();
    await store.claim({ key: "k", claim: claim("a") });
    expect(await store.transitionClaim({ key: "k", from: ["pending"], to: "settled", owner: "b" })).toBe(
      false,
    );
    expect(
      await store.transitionClaim({ key: "k", from: ["pending"], to: "pending_settlement", owner: "a" }),
    ).toBe(true);
    expect(
      await store.transitionClaim({ key: "k", from: ["pending_settlement"], to: "pending", newOwner: "b" }),
    ).toBe(true);
    await store.releaseClaim({ key: "k", owner: "a", from: ["pending"] });
    expect(await store.getClaim("k")).toMatchObject({ owner: "b", state: "pending" });
    await store.releaseClaim({ key: "k", owner: "b", from: ["pending"] });
    expect(await store.getClaim("k")).toBeUndefined();
  });

  it("forgets claims and responses when they expire", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now });
    await store.claim({ key: "k", claim: claim("a"), expiresAt: 1_010 });
    await keep(store, "r", { proofHash: "p", status: 200, headers: [], body: new Uint8Array([1]) }, 1_010);
    expect((await store.claim({ key: "k", claim: claim("b") })).claimed).toBe(false);
    expect(await keptResponse(store, "r")).toBeDefined();
    now = 1_010_000;
    expect((await store.claim({ key: "k", claim: claim("b") })).claimed).toBe(true);
    expect(await keptResponse(store, "r")).toBeUndefined();
  });

  it("debits all or nothing, never below zero, once per operation key, and refunds", async () => {
    const store = createMemoryStore();
    await store.credit({ tokenHash: "t", amount: 25n, expiresAt: 2_000 });
    const results = await Promise.all(
      Array.from({ length: 10 }, () => store.debit({ tokenHash: "t", amount: 10n, nowSeconds: 1_000 })),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(results.find((r) => !r.ok)).toEqual({ ok: false, reason: "insufficient", balance: 5n });
    expect(store.tokenBalance("t")?.balance).toBe(5n);

    await store.credit({ tokenHash: "t", amount: 20n, expiresAt: 1_500 });
    expect(store.tokenBalance("t")).toEqual({ balance: 25n, expiresAt: 2_000 });
    const first = await store.debit({ tokenHash: "t", amount: 10n, nowSeconds: 1_000, operationKey: "op" });
    const again = await store.debit({ tokenHash: "t", amount: 10n, nowSeconds: 1_000, operationKey: "op" });
    expect(first).toEqual({ ok: true, balance: 15n, expiresAt: 2_000, replayed: false });
    expect(again).toEqual({ ok: true, balance: 15n, expiresAt: 2_000, replayed: true });
    expect(await store.refund({ tokenHash: "t", amount: 10n, operationKey: "op" })).toEqual({
      balance: 25n,
      expiresAt: 2_000,
    });
    expect(
      (await store.debit({ tokenHash: "t", amount: 10n, nowSeconds: 1_000, operationKey: "op" })).ok,
    ).toBe(true);

    expect(await store.debit({ tokenHash: "none", amount: 1n, nowSeconds: 1_000 })).toEqual({
      ok: false,
      reason: "unknown",
    });
    expect(await store.debit({ tokenHash: "t", amount: 1n, nowSeconds: 2_000 })).toEqual({
      ok: false,
      reason: "expired",
      balance: 15n,
    });
  });
});

describe("createMemoryStore idempotency keys", () => {
  const response = (proofHash: string) => ({
    proofHash,
    status: 200,
    headers: [],
    body: new Uint8Array([7]),
  });

  it("reserves a key for exactly one of many concurrent callers, and shows the others who holds it", async () => {
    const store = createMemoryStore();
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        store.reserveResponse({ key: "k", owner: `r${i}`, proofHash: "p", expiresAt: 2_000_000_000 }),
      ),
    );
    expect(results.filter((r) => r.reserved)).toHaveLength(1);
    expect(results[0]).toEqual({ reserved: true });
    expect(results[1]).toEqual({
      reserved: false,
      existing: { state: "in_flight", owner: "r0", proofHash: "p" },
    });
  });

  it("finishes and releases a key only for its owner while in flight", async () => {
    const store = createMemoryStore();
    const reserve = (key: string, owner: string) =>
      store.reserveResponse({ key, owner, proofHash: "p", expiresAt: 2_000_000_000 });
    await reserve("k", "a");
    const kept = { state: "kept" as const, response: response("p") };
    expect(await store.finishResponse({ key: "k", owner: "b", record: kept, expiresAt: 2_000_000_000 })).toBe(
      false,
    );
    await store.releaseResponse({ key: "k", owner: "b" });
    expect(await reserve("k", "c")).toMatchObject({ reserved: false, existing: { owner: "a" } });
    expect(await store.finishResponse({ key: "k", owner: "a", record: kept, expiresAt: 2_000_000_000 })).toBe(
      true,
    );
    expect(await keptResponse(store, "k")).toEqual(response("p"));
    expect(await reserve("k", "c")).toEqual({ reserved: false, existing: kept });
    // Finished: neither finished again nor released.
    expect(await store.finishResponse({ key: "k", owner: "a", record: kept, expiresAt: 2_000_000_000 })).toBe(
      false,
    );
    await store.releaseResponse({ key: "k", owner: "a" });
    expect(await keptResponse(store, "k")).toBeDefined();

    await reserve("big", "a");
    const notKept = { state: "not_kept" as const, proofHash: "p" };
    expect(
      await store.finishResponse({ key: "big", owner: "a", record: notKept, expiresAt: 2_000_000_000 }),
    ).toBe(true);
    expect(await keptResponse(store, "big")).toBeUndefined();
    await store.releaseResponse({ key: "big", owner: "a" });
    expect(await reserve("big", "c")).toEqual({ reserved: false, existing: notKept });

    await reserve("free", "a");
    await store.releaseResponse({ key: "free", owner: "a" });
    expect(await reserve("free", "c")).toEqual({ reserved: true });
  });

  it("forgets a reservation and a finished key when they expire, and exactly one caller takes it over", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now });
    await store.reserveResponse({ key: "k", owner: "a", proofHash: "p", expiresAt: 1_010 });
    await store.reserveResponse({ key: "n", owner: "a", proofHash: "p", expiresAt: 1_010 });
    await store.finishResponse({
      key: "n",
      owner: "a",
      record: { state: "not_kept", proofHash: "p" },
      expiresAt: 1_020,
    });
    now = 1_010_000;
    // The expired reservation cannot be finished by its old owner, and one of many new callers takes the key.
    expect(
      await store.finishResponse({
        key: "k",
        owner: "a",
        record: { state: "kept", response: response("p") },
        expiresAt: 2_000,
      }),
    ).toBe(false);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        store.reserveResponse({ key: "k", owner: `b${i}`, proofHash: "p", expiresAt: 2_000 }),
      ),
    );
    expect(results.filter((r) => r.reserved)).toHaveLength(1);
    expect(
      (await store.reserveResponse({ key: "n", owner: "c", proofHash: "p", expiresAt: 2_000 })).reserved,
    ).toBe(false);
    now = 1_020_000;
    expect(
      (await store.reserveResponse({ key: "n", owner: "c", proofHash: "p", expiresAt: 2_000 })).reserved,
    ).toBe(true);
  });
});

describe("createMemoryStore records", () => {
  it("keeps the newest records, oldest first", async () => {
    const store = createMemoryStore({ maxRecords: 3 });
    for (let i = 0; i < 5; i++) await store.record({ at: i, type: "t" });
    expect(store.records().map((r) => r.at)).toEqual([2, 3, 4]);
  });
});

describe("createMemoryStore bounds", () => {
  const response = (bytes: number) => ({
    proofHash: "p",
    status: 200,
    headers: [] as const,
    body: new Uint8Array(bytes),
  });
  const full = (error: unknown) =>
    isTollgateError(error, "SERVER__STORE_FULL") ? (error.context as { limit: string }).limit : error;

  it("refuses a new claim when full of live claims, never evicting one, and takes it once one expired", async () => {
    let now = 1_000_000;
    const store = createMemoryStore({ now: () => now, maxClaims: 3 });
    await store.claim({ key: "a", claim: claim("a"), expiresAt: 1_010 });
    await store.claim({ key: "b", claim: claim("b") });
    await store.claim({ key: "c", claim: claim("c") });
    const refused = await store.claim({ key: "d", claim: claim("d") }).catch(full);
    expect(refused).toBe("maxClaims");
    // The live claims are all still there: their proofs are still refused.
    for (const key of ["a", "b", "c"])
      expect((await store.claim({ key, claim: claim("x") })).claimed).toBe(false);
    now = 1_010_000; // "a" expired: its room is taken back when the store is full.
    expect((await store.claim({ key: "d", claim: claim("d") })).claimed).toBe(true);
  });

  it("counts an Idempotency-Key's reservation as a live entry: refused when full, never evicted, freed when kept", async () => {
    const store = createMemoryStore({ maxClaims: 2 });
    const reserve = (key: string) =>
      store
        .reserveResponse({ key, owner: "a", proofHash: "p", expiresAt: 2_000_000_000 })
        .then((r) => r.reserved, full);
    expect([
      await reserve("k1"),
      await store.claim({ key: "c", claim: claim("c") }).then((r) => r.claimed),
    ]).toEqual([true, true]);
    // Full of one in-flight key and one claim: neither a new key nor a new claim gets in, and both stay.
    expect([await reserve("k2"), await store.claim({ key: "d", claim: claim("d") }).catch(full)]).toEqual([
      "maxClaims",
      "maxClaims",
    ]);
    expect(
      await store.reserveResponse({ key: "k1", owner: "b", proofHash: "p", expiresAt: 2_000_000_000 }),
    ).toEqual({ reserved: false, existing: { state: "in_flight", owner: "a", proofHash: "p" } });
    // A kept response is evictable, not a live entry: finishing k1 frees its room for another key.
    const kept = { state: "kept" as const, response: response(10) };
    expect(
      await store.finishResponse({ key: "k1", owner: "a", record: kept, expiresAt: 2_000_000_000 }),
    ).toBe(true);
    expect(await reserve("k2")).toBe(true);
  });

  it("remembers a finished key as not kept when its response has no room, so a retry is not run again", async () => {
    const store = createMemoryStore({ maxBytes: 2_000 });
    await store.reserveResponse({ key: "k", owner: "a", proofHash: "p", expiresAt: 2_000_000_000 });
    const kept = { state: "kept" as const, response: response(5_000) };
    expect(await store.finishResponse({ key: "k", owner: "a", record: kept, expiresAt: 2_000_000_000 })).toBe(
      true,
    );
    expect(await keptResponse(store, "k")).toBeUndefined();
    expect(
      await store.reserveResponse({ key: "k", owner: "b", proofHash: "p", expiresAt: 2_000_000_000 }),
    ).toEqual({ reserved: false, existing: { state: "not_kept", proofHash: "p" } });
  });

  it("bounds bytes: kept responses are evicted oldest first, claims and keyed debits are refused", async () => {
    const store = createMemoryStore({ maxBytes: 4_000 });
    await keep(store, "r1", response(1_500), 9e9);
    await keep(store, "r2", response(1_500), 9e9);
    await keep(store, "r3", response(1_500), 9e9);
    expect(await keptResponse(store, "r1")).toBeUndefined();
    expect(await keptResponse(store, "r3")).toBeDefined();
    // A response larger than the whole bound is not kept (and throws nothing).
    await keep(store, "huge", response(10_000), 9e9);
    expect(await keptResponse(store, "huge")).toBeUndefined();
    // Claims make room by evicting kept responses, then are refused.
    const key = "k".repeat(400);
    const results: unknown[] = [];
    for (let i = 0; i < 6; i++) {
      results.push(
        await store.claim({ key: `${key}${i}`, claim: claim(`o${i}`) }).then((r) => r.claimed, full),
      );
    }
    expect(results).toEqual([true, true, true, true, "maxBytes", "maxBytes"]);
    expect(await keptResponse(store, "r3")).toBeUndefined();
    await store.credit({ tokenHash: "t", amount: 10n, expiresAt: 9e9 });
    expect(
      await store
        .debit({ tokenHash: "t", amount: 1n, nowSeconds: 1, operationKey: "op".repeat(300) })
        .catch(full),
    ).toBe("maxBytes");
    // Refused before anything moved: the balance is whole, and an unkeyed debit still works.
    expect(store.tokenBalance("t")?.balance).toBe(10n);
    expect((await store.debit({ tokenHash: "t", amount: 1n, nowSeconds: 1 })).ok).toBe(true);
  });
});

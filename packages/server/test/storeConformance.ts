import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { NewClaim, Store, StoreAdmin, StoredResponse } from "../src/store/store.js";

/** A store opened for the suite, on the suite's clock, and how to close it. */
export type StoreUnderTest = Readonly<{ store: Store & StoreAdmin; close(): Promise<void> }>;

/** Parameters of `describeStoreConformance`. */
export type DescribeStoreConformanceParameters = Readonly<{
  /** The implementation's name, as the suite's title. */
  name: string;
  /** Opens one store for the whole suite; expiries must be compared with `now` (milliseconds). */
  open: (now: () => number) => Promise<StoreUnderTest>;
  /** Skips the suite (the implementation's service is not running, outside CI). */
  skip?: boolean;
}>;

/** Unix milliseconds each test starts at (the suite moves its clock forward to test expiry). */
const start = 1_900_000_000_000;
const startSeconds = start / 1000;
/** Unix seconds `offset` after the start (tokens expire relative to it, as a real clock would see them). */
const at = (offset: number) => startSeconds + offset;

/**
 * The ONE conformance suite of the `Store` contract: every implementation runs these same cases, including the
 * concurrency ones, so a paywall behaves alike on each. Each test uses keys of its own, so one store serves the
 * whole suite (a shared database needs no cleanup between tests).
 */
export function describeStoreConformance(parameters: DescribeStoreConformanceParameters): void {
  const { name, open, skip = false } = parameters;
  (skip ? describe.skip : describe)(`Store conformance: ${name}`, () => {
    let clock = start;
    let opened: StoreUnderTest | undefined;
    let test = 0;
    const store = (): Store & StoreAdmin => {
      if (opened === undefined) throw new Error("the store did not open");
      return opened.store;
    };
    /** A key of the running test only. */
    const k = (key: string) => `t${test}:${key}`;
    const claim = (owner: string, extra: Partial<NewClaim> = {}): NewClaim => ({
      state: "pending",
      owner,
      proofHash: `proof-of-${owner}`,
      ...extra,
    });
    const response = (body: number[], status = 200): StoredResponse => ({
      proofHash: "ph",
      status,
      headers: [
        ["content-type", "application/octet-stream"],
        ["x-b", "2"],
        ["x-a", "1"],
      ],
      body: new Uint8Array(body),
    });

    beforeAll(async () => {
      opened = await open(() => clock);
    });
    afterAll(async () => {
      await opened?.close();
    });
    beforeEach(() => {
      clock = start;
      test++;
    });

    describe("claim / getClaim", () => {
      it("claims a free key once; a second claim sees the holder with every field", async () => {
        const first = await store().claim({ key: k("c"), claim: claim("a", { idempotencyKey: "ik" }) });
        expect(first).toEqual({ claimed: true });
        const second = await store().claim({ key: k("c"), claim: claim("b") });
        expect(second).toEqual({
          claimed: false,
          existing: {
            state: "pending",
            owner: "a",
            proofHash: "proof-of-a",
            idempotencyKey: "ik",
            movedAt: startSeconds,
          },
        });
        expect(await store().claim({ key: k("c"), claim: claim("a") })).toMatchObject({ claimed: false });
        expect(await store().getClaim(k("c"))).toEqual({
          state: "pending",
          owner: "a",
          proofHash: "proof-of-a",
          idempotencyKey: "ik",
          movedAt: startSeconds,
        });
        expect(await store().getClaim(k("none"))).toBeUndefined();
      });

      it("gives one key to exactly one of 200 concurrent claims", async () => {
        const results = await Promise.all(
          Array.from({ length: 200 }, (_, i) => store().claim({ key: k("c"), claim: claim(`r${i}`) })),
        );
        const winners = results.flatMap((r, i) => (r.claimed ? [`r${i}`] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (!r.claimed) expect(r.existing.owner).toBe(winners[0]);
        }
        expect((await store().getClaim(k("c")))?.owner).toBe(winners[0]);
      });

      it("gives each of 100 distinct keys, claimed concurrently, to its caller", async () => {
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store().claim({ key: k(`c${i}`), claim: claim(`r${i}`) })),
        );
        expect(results.every((r) => r.claimed)).toBe(true);
      });

      it("forgets a claim at its expiresAt; a claim without one is permanent", async () => {
        await store().claim({ key: k("expiring"), claim: claim("a"), expiresAt: startSeconds + 10 });
        await store().claim({ key: k("permanent"), claim: claim("a") });
        clock = start + 9_000;
        expect((await store().getClaim(k("expiring")))?.owner).toBe("a");
        clock = start + 10_000;
        expect(await store().getClaim(k("expiring"))).toBeUndefined();
        expect(await store().claim({ key: k("expiring"), claim: claim("b") })).toEqual({ claimed: true });
        expect((await store().getClaim(k("expiring")))?.owner).toBe("b");
        clock = start + 10 * 365 * 86_400_000;
        expect((await store().getClaim(k("permanent")))?.owner).toBe("a");
        expect(await store().claim({ key: k("permanent"), claim: claim("b") })).toMatchObject({
          claimed: false,
        });
      });

      it("gives an expired key to exactly one of 100 concurrent claims", async () => {
        await store().claim({ key: k("c"), claim: claim("old"), expiresAt: startSeconds + 1 });
        clock = start + 1_000;
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) => store().claim({ key: k("c"), claim: claim(`r${i}`) })),
        );
        expect(results.filter((r) => r.claimed)).toHaveLength(1);
      });
    });

    describe("transitionClaim / releaseClaim", () => {
      it("moves a claim only from a listed state and for its owner, and hands it over", async () => {
        await store().claim({ key: k("c"), claim: claim("a", { idempotencyKey: "ik" }) });
        const move = store().transitionClaim;
        expect(await move({ key: k("c"), from: ["pending"], to: "settled", owner: "b" })).toBe(false);
        expect(await move({ key: k("c"), from: ["settled", "dead"], to: "pending", owner: "a" })).toBe(false);
        expect(await move({ key: k("c"), from: ["pending"], to: "pending_settlement", owner: "a" })).toBe(
          true,
        );
        expect(await move({ key: k("c"), from: ["pending_settlement"], to: "pending", newOwner: "b" })).toBe(
          true,
        );
        expect(await store().getClaim(k("c"))).toEqual({
          state: "pending",
          owner: "b",
          proofHash: "proof-of-a",
          idempotencyKey: "ik",
          movedAt: startSeconds,
        });
        expect(await move({ key: k("c"), from: ["pending"], to: "settled", owner: "b" })).toBe(true);
        expect((await store().getClaim(k("c")))?.state).toBe("settled");
        expect(await move({ key: k("none"), from: ["pending"], to: "settled" })).toBe(false);
        expect(await move({ key: k("c"), from: [], to: "dead" })).toBe(false);
      });

      it("lets exactly one of 100 concurrent takeovers of a pending settlement win", async () => {
        await store().claim({ key: k("c"), claim: claim("a", { state: "pending_settlement" }) });
        const results = await Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            store().transitionClaim({
              key: k("c"),
              from: ["pending_settlement"],
              to: "pending",
              newOwner: `r${i}`,
            }),
          ),
        );
        const winners = results.flatMap((moved, i) => (moved ? [`r${i}`] : []));
        expect(winners).toHaveLength(1);
        expect(await store().getClaim(k("c"))).toMatchObject({ state: "pending", owner: winners[0] });
      });

      it("does not move an expired claim", async () => {
        await store().claim({ key: k("c"), claim: claim("a"), expiresAt: startSeconds + 5 });
        clock = start + 5_000;
        expect(await store().transitionClaim({ key: k("c"), from: ["pending"], to: "settled" })).toBe(false);
      });

      it("releases a claim only for its owner and from a listed state, so the proof can be claimed again", async () => {
        await store().claim({ key: k("c"), claim: claim("a") });
        await store().releaseClaim({ key: k("c"), owner: "b", from: ["pending"] });
        expect((await store().getClaim(k("c")))?.owner).toBe("a");
        await store().releaseClaim({ key: k("c"), owner: "a", from: ["settled", "dead"] });
        expect((await store().getClaim(k("c")))?.owner).toBe("a");
        await store().releaseClaim({ key: k("c"), owner: "a", from: ["pending"] });
        expect(await store().getClaim(k("c"))).toBeUndefined();
        expect(await store().claim({ key: k("c"), claim: claim("b") })).toEqual({ claimed: true });
        await store().releaseClaim({ key: k("none"), owner: "a", from: ["pending"] });
      });

      it("stamps movedAt with its clock when a claim is made and each time it moves", async () => {
        await store().claim({ key: k("c"), claim: claim("a") });
        clock = start + 7_000;
        expect(
          await store().transitionClaim({ key: k("c"), from: ["pending"], to: "pending", owner: "a" }),
        ).toBe(true);
        expect((await store().getClaim(k("c")))?.movedAt).toBe(startSeconds + 7);
        clock = start + 9_500;
        expect(
          await store().transitionClaim({ key: k("c"), from: ["pending"], to: "settled", owner: "b" }),
        ).toBe(false);
        expect((await store().getClaim(k("c")))?.movedAt).toBe(startSeconds + 7);
        expect(await store().transitionClaim({ key: k("c"), from: ["pending"], to: "settled" })).toBe(true);
        expect(await store().getClaim(k("c"))).toMatchObject({ state: "settled", movedAt: startSeconds + 9 });
      });

      it("moves a claim only for the proof it was claimed with, when given", async () => {
        await store().claim({ key: k("c"), claim: claim("a", { state: "pending_settlement" }) });
        const takeOver = (proofHash: string) =>
          store().transitionClaim({
            key: k("c"),
            from: ["pending_settlement"],
            to: "pending",
            proofHash,
            newOwner: "b",
          });
        expect(await takeOver("proof-of-b")).toBe(false);
        expect((await store().getClaim(k("c")))?.owner).toBe("a");
        expect(await takeOver("proof-of-a")).toBe(true);
        expect((await store().getClaim(k("c")))?.owner).toBe("b");
      });

      it("does not take over a pending claim that moved less than unmovedForSeconds ago", async () => {
        await store().claim({ key: k("c"), claim: claim("a") });
        clock = start + 119_999;
        const moved = await store().transitionClaim({
          key: k("c"),
          from: ["pending"],
          to: "pending",
          proofHash: "proof-of-a",
          unmovedForSeconds: 120,
          newOwner: "b",
        });
        expect(moved).toBe(false);
        expect(await store().getClaim(k("c"))).toMatchObject({
          state: "pending",
          owner: "a",
          movedAt: startSeconds,
        });
      });

      it("lets exactly one of 20 concurrent takers take over a stale pending claim, then it is fresh again", async () => {
        await store().claim({ key: k("c"), claim: claim("a"), expiresAt: startSeconds + 3_600 });
        clock = start + 120_000;
        const takeOver = (owner: string) =>
          store().transitionClaim({
            key: k("c"),
            from: ["pending"],
            to: "pending",
            proofHash: "proof-of-a",
            unmovedForSeconds: 120,
            newOwner: owner,
          });
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => takeOver(`r${i}`)));
        const winners = results.flatMap((moved, i) => (moved ? [`r${i}`] : []));
        expect(winners).toHaveLength(1);
        expect(await store().getClaim(k("c"))).toEqual({
          state: "pending",
          owner: winners[0],
          proofHash: "proof-of-a",
          movedAt: startSeconds + 120,
        });
        clock = start + 239_000;
        expect(await takeOver("late")).toBe(false);
        clock = start + 240_000;
        expect(await takeOver("late")).toBe(true);
        expect((await store().getClaim(k("c")))?.owner).toBe("late");
      });

      it("stamps a fresh movedAt on an expired key claimed again", async () => {
        await store().claim({ key: k("c"), claim: claim("a"), expiresAt: startSeconds + 10 });
        clock = start + 10_000;
        await store().claim({ key: k("c"), claim: claim("b") });
        expect(await store().getClaim(k("c"))).toMatchObject({ owner: "b", movedAt: startSeconds + 10 });
      });
    });

    describe("credit / debit / refund", () => {
      it("creates a token, adds to it and keeps the later expiry, exactly beyond 64 bits", async () => {
        const huge = 2n ** 100n + 7n;
        expect(await store().credit({ tokenHash: k("t"), amount: huge, expiresAt: at(2_000) })).toEqual({
          balance: huge,
          expiresAt: at(2_000),
        });
        expect(await store().credit({ tokenHash: k("t"), amount: 1n, expiresAt: at(1_500) })).toEqual({
          balance: huge + 1n,
          expiresAt: at(2_000),
        });
        expect(await store().credit({ tokenHash: k("t"), amount: 0n, expiresAt: at(3_000) })).toEqual({
          balance: huge + 1n,
          expiresAt: at(3_000),
        });
        const debited = await store().debit({ tokenHash: k("t"), amount: huge, nowSeconds: at(1_000) });
        expect(debited).toEqual({ ok: true, balance: 1n, expiresAt: at(3_000), replayed: false });
      });

      it("adds every one of 50 concurrent credits", async () => {
        await Promise.all(
          Array.from({ length: 50 }, () =>
            store().credit({ tokenHash: k("t"), amount: 3n, expiresAt: at(2_000) }),
          ),
        );
        expect(await store().debit({ tokenHash: k("t"), amount: 0n, nowSeconds: at(1_000) })).toMatchObject({
          ok: true,
          balance: 150n,
        });
      });

      it("debits all or nothing: unknown, expired, insufficient, then exact", async () => {
        const debit = store().debit;
        expect(await debit({ tokenHash: k("t"), amount: 1n, nowSeconds: at(1_000) })).toEqual({
          ok: false,
          reason: "unknown",
        });
        await store().credit({ tokenHash: k("t"), amount: 25n, expiresAt: at(2_000) });
        expect(await debit({ tokenHash: k("t"), amount: 1n, nowSeconds: at(2_000) })).toEqual({
          ok: false,
          reason: "expired",
          balance: 25n,
        });
        expect(await debit({ tokenHash: k("t"), amount: 26n, nowSeconds: at(1_999) })).toEqual({
          ok: false,
          reason: "insufficient",
          balance: 25n,
        });
        expect(await debit({ tokenHash: k("t"), amount: 25n, nowSeconds: at(1_999) })).toEqual({
          ok: true,
          balance: 0n,
          expiresAt: at(2_000),
          replayed: false,
        });
        expect(await debit({ tokenHash: k("t"), amount: 1n, nowSeconds: at(1_999) })).toEqual({
          ok: false,
          reason: "insufficient",
          balance: 0n,
        });
      });

      it("lets exactly 10 of 100 concurrent debits through a balance worth 10, never below zero", async () => {
        await store().credit({ tokenHash: k("t"), amount: 10n, expiresAt: at(2_000) });
        const results = await Promise.all(
          Array.from({ length: 100 }, () =>
            store().debit({ tokenHash: k("t"), amount: 1n, nowSeconds: at(1_000) }),
          ),
        );
        const ok = results.filter((r) => r.ok);
        expect(ok).toHaveLength(10);
        expect(ok.map((r) => r.balance).sort((a, b) => Number(a - b))).toEqual(
          Array.from({ length: 10 }, (_, i) => BigInt(i)),
        );
        for (const r of results) if (!r.ok) expect(r.reason).toBe("insufficient");
        expect(await store().debit({ tokenHash: k("t"), amount: 0n, nowSeconds: at(1_000) })).toMatchObject({
          ok: true,
          balance: 0n,
        });
      });

      it("takes a debit once per operation key, and answers a replay with the first result", async () => {
        await store().credit({ tokenHash: k("t"), amount: 10n, expiresAt: at(2_000) });
        const op = { tokenHash: k("t"), amount: 4n, nowSeconds: at(1_000), operationKey: k("op") };
        expect(await store().debit(op)).toEqual({
          ok: true,
          balance: 6n,
          expiresAt: at(2_000),
          replayed: false,
        });
        expect(await store().debit(op)).toEqual({
          ok: true,
          balance: 6n,
          expiresAt: at(2_000),
          replayed: true,
        });
        expect(await store().debit({ ...op, amount: 1n, operationKey: k("other") })).toMatchObject({
          ok: true,
          balance: 5n,
        });
      });

      it("takes one debit of 50 concurrent ones under one operation key", async () => {
        await store().credit({ tokenHash: k("t"), amount: 100n, expiresAt: at(2_000) });
        const results = await Promise.all(
          Array.from({ length: 50 }, () =>
            store().debit({ tokenHash: k("t"), amount: 7n, nowSeconds: at(1_000), operationKey: k("op") }),
          ),
        );
        expect(results.filter((r) => r.ok && !r.replayed)).toHaveLength(1);
        expect(results.filter((r) => r.ok && r.replayed)).toHaveLength(49);
        for (const r of results) expect(r).toMatchObject({ ok: true, balance: 93n });
        expect(await store().debit({ tokenHash: k("t"), amount: 0n, nowSeconds: at(1_000) })).toMatchObject({
          balance: 93n,
        });
      });

      it("does not spend an operation key on a refused debit", async () => {
        const op = { tokenHash: k("t"), amount: 5n, nowSeconds: at(1_000), operationKey: k("op") };
        expect(await store().debit(op)).toEqual({ ok: false, reason: "unknown" });
        await store().credit({ tokenHash: k("t"), amount: 3n, expiresAt: at(2_000) });
        expect(await store().debit(op)).toEqual({ ok: false, reason: "insufficient", balance: 3n });
        await store().credit({ tokenHash: k("t"), amount: 3n, expiresAt: at(2_000) });
        expect(await store().debit(op)).toEqual({
          ok: true,
          balance: 1n,
          expiresAt: at(2_000),
          replayed: false,
        });
      });

      it("forgets an operation key after a day", async () => {
        await store().credit({ tokenHash: k("t"), amount: 10n, expiresAt: at(1_000_000) });
        const op = { tokenHash: k("t"), amount: 1n, nowSeconds: at(1_000), operationKey: k("op") };
        await store().debit(op);
        clock = start + 86_400_000;
        expect(await store().debit(op)).toMatchObject({ ok: true, balance: 8n, replayed: false });
      });

      it("refunds a debit and forgets its operation key; a refund of an unknown token is undefined", async () => {
        await store().credit({ tokenHash: k("t"), amount: 10n, expiresAt: at(2_000) });
        const op = { tokenHash: k("t"), amount: 4n, nowSeconds: at(1_000), operationKey: k("op") };
        await store().debit(op);
        expect(await store().refund({ tokenHash: k("t"), amount: 4n, operationKey: k("op") })).toEqual({
          balance: 10n,
          expiresAt: at(2_000),
        });
        expect(await store().debit(op)).toEqual({
          ok: true,
          balance: 6n,
          expiresAt: at(2_000),
          replayed: false,
        });
        expect(await store().refund({ tokenHash: k("t"), amount: 1n })).toEqual({
          balance: 7n,
          expiresAt: at(2_000),
        });
        expect(await store().refund({ tokenHash: k("none"), amount: 1n })).toBeUndefined();
      });
    });

    describe("reserveResponse / finishResponse / releaseResponse", () => {
      const reserve = (key: string, owner: string, expiresAt = startSeconds + 300) =>
        store().reserveResponse({ key, owner, proofHash: `proof-of-${owner}`, expiresAt });

      it("reserves a free key once; the next caller sees it in flight", async () => {
        expect(await reserve(k("i"), "a")).toEqual({ reserved: true });
        expect(await reserve(k("i"), "b")).toEqual({
          reserved: false,
          existing: { state: "in_flight", owner: "a", proofHash: "proof-of-a" },
        });
        expect(await reserve(k("i"), "a")).toMatchObject({ reserved: false });
      });

      it("gives one key to exactly one of 100 concurrent reservations", async () => {
        const results = await Promise.all(Array.from({ length: 100 }, (_, i) => reserve(k("i"), `r${i}`)));
        const winners = results.flatMap((r, i) => (r.reserved ? [`r${i}`] : []));
        expect(winners).toHaveLength(1);
        for (const r of results) {
          if (!r.reserved) expect(r.existing).toMatchObject({ state: "in_flight", owner: winners[0] });
        }
      });

      it("forgets a reservation at its expiresAt", async () => {
        await reserve(k("i"), "a", startSeconds + 30);
        clock = start + 30_000;
        expect(await reserve(k("i"), "b")).toEqual({ reserved: true });
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "a",
            record: { state: "not_kept", proofHash: "proof-of-a" },
            expiresAt: startSeconds + 600,
          }),
        ).toBe(false);
      });

      it("keeps a finished response byte for byte, headers in order", async () => {
        const every = Array.from({ length: 256 }, (_, i) => i);
        await reserve(k("i"), "a");
        const kept = { state: "kept" as const, response: response(every, 201) };
        await store().finishResponse({ key: k("i"), owner: "a", record: kept, expiresAt: startSeconds + 60 });
        const found = await reserve(k("i"), "b");
        expect(found).toEqual({ reserved: false, existing: kept });
        if (!found.reserved && found.existing.state === "kept")
          expect(found.existing.response.body).toBeInstanceOf(Uint8Array);
      });

      it("finishes only the owner's run with a kept response, replayed until its expiresAt", async () => {
        await reserve(k("i"), "a");
        const kept = { state: "kept" as const, response: response([1, 2, 3]) };
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "b",
            record: kept,
            expiresAt: startSeconds + 60,
          }),
        ).toBe(false);
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "a",
            record: kept,
            expiresAt: startSeconds + 60,
          }),
        ).toBe(true);
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "a",
            record: kept,
            expiresAt: startSeconds + 60,
          }),
        ).toBe(false);
        expect(await reserve(k("i"), "b")).toEqual({ reserved: false, existing: kept });
        await store().releaseResponse({ key: k("i"), owner: "a" });
        expect(await reserve(k("i"), "b")).toEqual({ reserved: false, existing: kept });
        clock = start + 59_999;
        expect(await reserve(k("i"), "b")).toEqual({ reserved: false, existing: kept });
        clock = start + 60_000;
        expect(await reserve(k("i"), "c")).toEqual({ reserved: true });
      });

      it("finishes a run whose response was not kept: no replay, a retry is refused", async () => {
        await reserve(k("i"), "a");
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "a",
            record: { state: "not_kept", proofHash: "proof-of-a" },
            expiresAt: startSeconds + 60,
          }),
        ).toBe(true);
        expect(await reserve(k("i"), "b")).toEqual({
          reserved: false,
          existing: { state: "not_kept", proofHash: "proof-of-a" },
        });
        await store().releaseResponse({ key: k("i"), owner: "a" });
        expect(await reserve(k("i"), "b")).toMatchObject({
          reserved: false,
          existing: { state: "not_kept" },
        });
      });

      it("releases only the owner's run in flight, so a retry may run", async () => {
        await reserve(k("i"), "a");
        await store().releaseResponse({ key: k("i"), owner: "b" });
        expect(await reserve(k("i"), "b")).toMatchObject({ reserved: false, existing: { owner: "a" } });
        await store().releaseResponse({ key: k("i"), owner: "a" });
        expect(await reserve(k("i"), "b")).toEqual({ reserved: true });
        expect(
          await store().finishResponse({
            key: k("i"),
            owner: "a",
            record: { state: "not_kept", proofHash: "proof-of-a" },
            expiresAt: startSeconds + 60,
          }),
        ).toBe(false);
        await store().releaseResponse({ key: k("none"), owner: "a" });
      });
    });

    describe("record", () => {
      it("appends full and minimal analytics records", async () => {
        await store().record({
          at: start,
          type: "served",
          route: "GET /paid",
          lane: "facilitator",
          reason: "ok",
          facilitator: "primary",
          network: "eip155:8453",
          amount: 2n ** 70n,
          payer: "0xpayer",
          durationMs: 12.5,
        });
        await store().record({ at: start, type: "payment_required" });
        await Promise.all(Array.from({ length: 50 }, () => store().record({ at: start, type: "refused" })));
      });

      it("appends batches: empty, mixed full and minimal, and more than one SQL statement's worth", async () => {
        await store().recordBatch([]);
        await store().recordBatch([
          {
            at: start,
            type: "settled",
            lane: "token",
            amount: 2n ** 70n,
            durationMs: 0.25,
            route: "GET /paid",
          },
          { at: start, type: "payment_required" },
        ]);
        await store().recordBatch(
          Array.from({ length: 1_201 }, (_, i) => ({ at: start + i, type: "refused", reason: `r${i % 7}` })),
        );
      });
    });

    describe("admin: getToken / revokeToken", () => {
      it("reads a token's balance and expiry, expired or not; unknown is undefined", async () => {
        await store().credit({ tokenHash: k("t"), amount: 2n ** 70n, expiresAt: at(100) });
        expect(await store().getToken(k("t"))).toEqual({ balance: 2n ** 70n, expiresAt: at(100) });
        clock = start + 200_000;
        expect(await store().getToken(k("t"))).toEqual({ balance: 2n ** 70n, expiresAt: at(100) });
        expect(await store().getToken(k("none"))).toBeUndefined();
      });

      it("revokes a token: a debit then answers unknown, a credit starts from zero; twice is false", async () => {
        await store().credit({ tokenHash: k("t"), amount: 10n, expiresAt: at(1_000) });
        await store().credit({ tokenHash: k("other"), amount: 10n, expiresAt: at(1_000) });
        expect(await store().revokeToken(k("t"))).toBe(true);
        expect(await store().revokeToken(k("t"))).toBe(false);
        expect(await store().getToken(k("t"))).toBeUndefined();
        expect(await store().debit({ tokenHash: k("t"), amount: 1n, nowSeconds: at(0) })).toEqual({
          ok: false,
          reason: "unknown",
        });
        expect(await store().getToken(k("other"))).toEqual({ balance: 10n, expiresAt: at(1_000) });
        expect(await store().credit({ tokenHash: k("t"), amount: 3n, expiresAt: at(10) })).toEqual({
          balance: 3n,
          expiresAt: at(10),
        });
      });
    });

    describe("admin: listClaims", () => {
      const mine = (listed: Awaited<ReturnType<StoreAdmin["listClaims"]>>) =>
        listed.claims.filter((c) => c.key.startsWith(k("")));

      it("lists the live claims of one state with their keys and expiries, in key order", async () => {
        await store().claim({ key: k("b"), claim: claim("b", { idempotencyKey: "ik" }), expiresAt: at(100) });
        await store().claim({ key: k("a"), claim: claim("a") });
        await store().claim({ key: k("c"), claim: claim("c"), expiresAt: at(10) });
        await store().claim({ key: k("d"), claim: claim("d"), expiresAt: at(100) });
        for (const key of ["a", "b", "c"]) {
          await store().transitionClaim({ key: k(key), from: ["pending"], to: "pending_settlement" });
        }
        const listed = await store().listClaims({ state: "pending_settlement", limit: 1_000 });
        expect(mine(listed)).toEqual([
          { key: k("a"), claim: { ...claim("a"), state: "pending_settlement", movedAt: at(0) } },
          {
            key: k("b"),
            claim: { ...claim("b", { idempotencyKey: "ik" }), state: "pending_settlement", movedAt: at(0) },
            expiresAt: at(100),
          },
          {
            key: k("c"),
            claim: { ...claim("c"), state: "pending_settlement", movedAt: at(0) },
            expiresAt: at(10),
          },
        ]);
        expect(mine(await store().listClaims({ state: "pending", limit: 1_000 })).map((c) => c.key)).toEqual([
          k("d"),
        ]);
        clock = start + 10_000;
        const later = await store().listClaims({ state: "pending_settlement", limit: 1_000 });
        expect(mine(later).map((c) => c.key)).toEqual([k("a"), k("b")]);
      });

      it("answers at most limit claims, and says when more may exist", async () => {
        for (const key of ["x", "y"]) {
          await store().claim({ key: k(key), claim: claim(key, { state: "dead" }), expiresAt: at(100) });
        }
        const one = await store().listClaims({ state: "dead", limit: 1 });
        expect(one.claims).toHaveLength(1);
        expect(one.complete).toBe(false);
        const all = await store().listClaims({ state: "dead", limit: 1_000 });
        expect(all.complete).toBe(true);
        expect(mine(all).map((c) => c.key)).toEqual([k("x"), k("y")]);
      });
    });

    describe("admin: readRecords", () => {
      // A window of this test's own, far from the other tests' records.
      const from = start + 1_000_000_000;

      it("reads back the records of a window, field for field, at most limit", async () => {
        const full = {
          at: from + 1,
          type: "served",
          route: k("r"),
          lane: "facilitator",
          reason: "ok",
          facilitator: "primary",
          network: "eip155:8453",
          amount: 2n ** 70n,
          payer: "0xpayer",
          durationMs: 12.5,
        } as const;
        await store().record({ at: from - 1, type: "before", route: k("r") });
        await store().record(full);
        await store().record({ at: from + 2, type: "payment_required", route: k("r") });
        await store().record({ at: from + 10, type: "after", route: k("r") });
        const read = await store().readRecords({ since: from, until: from + 10, limit: 100 });
        expect(read).toEqual([full, { at: from + 2, type: "payment_required", route: k("r") }]);
        expect(await store().readRecords({ since: from, until: from + 10, limit: 1 })).toEqual([full]);
        expect(
          await store().readRecords({ since: from - 1, until: Number.POSITIVE_INFINITY, limit: 100 }),
        ).toHaveLength(4);
      });
    });
  });
}

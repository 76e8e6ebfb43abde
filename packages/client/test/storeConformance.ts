import { isTollgateError } from "@tollgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LedgerEntry, PaymentLedger } from "../src/ledger/ledger.js";
import type { BudgetBucket, BudgetStore } from "../src/policy/budgetStore.js";

/** How a suite opens the store under test; `close` also deletes what the test wrote. */
type Opened<T> = Readonly<{ store: T; close(): Promise<void> }>;

const hour = 3_600_000;
const t0 = 1_800_000_000_000;
let unique = 0;
/** A bucket of its own per test, so tests sharing a store never share a tally. */
const bucket = (limit: bigint, windowMs: number | undefined, name = "b"): BudgetBucket => ({
  key: `${name}:${++unique}:${Math.random()}`,
  name,
  limit,
  windowMs,
});
const id = () => crypto.randomUUID();

/**
 * The contract of a `BudgetStore` (see its TSDoc), run against every implementation. `open` is called once per
 * process that shares the store (`shared: true` stores are opened twice, as two processes would, and the cross-object
 * cases run too).
 */
export function describeBudgetStoreConformance(
  parameters: Readonly<{
    name: string;
    skip: boolean;
    shared: boolean;
    open: () => Promise<Opened<BudgetStore>>;
  }>,
): void {
  const { name, skip, shared, open } = parameters;
  describe.skipIf(skip)(`BudgetStore conformance: ${name}`, () => {
    let first: Opened<BudgetStore>;
    let second: Opened<BudgetStore>;
    beforeAll(async () => {
      first = await open();
      second = shared ? await open() : first;
    });
    afterAll(async () => {
      if (second !== first) await second?.close();
      await first?.close();
    });

    it("holds within the limit (inclusive) and refuses past it, saying what remains", async () => {
      const store = first.store;
      const b = bucket(10n, undefined);
      expect(await store.reserve({ id: id(), amount: 7n, at: t0, buckets: [b] })).toEqual({ ok: true });
      expect(await store.reserve({ id: id(), amount: 4n, at: t0, buckets: [b] })).toEqual({
        ok: false,
        bucket: b.key,
        remaining: 3n,
      });
      expect(await store.reserve({ id: id(), amount: 3n, at: t0, buckets: [b] })).toEqual({ ok: true });
      expect(await store.used({ buckets: [b], at: t0 })).toEqual([10n]);
    });

    it("is all or nothing across buckets: a refusal holds nothing in the buckets that had room", async () => {
      const store = first.store;
      const roomy = bucket(100n, hour, "roomy");
      const full = bucket(5n, undefined, "full");
      expect(await store.reserve({ id: id(), amount: 5n, at: t0, buckets: [full] })).toEqual({ ok: true });
      const refused = await store.reserve({ id: id(), amount: 1n, at: t0, buckets: [roomy, full] });
      expect(refused).toEqual({ ok: false, bucket: full.key, remaining: 0n });
      expect(await store.used({ buckets: [roomy, full], at: t0 })).toEqual([0n, 5n]);
    });

    it("release frees the room in every bucket, once; an unknown hold releases nothing", async () => {
      const store = first.store;
      const a = bucket(10n, undefined);
      const w = bucket(10n, hour);
      const held = id();
      await store.reserve({ id: held, amount: 6n, at: t0, buckets: [a, w] });
      await store.reserve({ id: id(), amount: 1n, at: t0, buckets: [a, w] });
      await store.release({ id: "never-held", at: t0 });
      expect(await store.used({ buckets: [a, w], at: t0 })).toEqual([7n, 7n]);
      await second.store.release({ id: held, at: t0 });
      await store.release({ id: held, at: t0 });
      expect(await store.used({ buckets: [a, w], at: t0 })).toEqual([1n, 1n]);
    });

    it("a repeated reservation of one id holds once", async () => {
      const store = first.store;
      const b = bucket(10n, undefined);
      const same = id();
      await store.reserve({ id: same, amount: 4n, at: t0, buckets: [b] });
      expect(await store.reserve({ id: same, amount: 4n, at: t0, buckets: [b] })).toEqual({ ok: true });
      expect(await store.used({ buckets: [b], at: t0 })).toEqual([4n]);
    });

    it("a sliding window counts a hold made after at − window, however far ahead; total counts for ever", async () => {
      const store = first.store;
      const w = bucket(10n, hour);
      const total = bucket(100n, undefined);
      await store.reserve({ id: id(), amount: 10n, at: t0, buckets: [w, total] });
      expect(await store.used({ buckets: [w, total], at: t0 + hour - 1 })).toEqual([10n, 10n]);
      expect((await store.reserve({ id: id(), amount: 1n, at: t0 + hour - 1, buckets: [w] })).ok).toBe(false);
      expect(await store.used({ buckets: [w, total], at: t0 + hour })).toEqual([0n, 10n]);
      // A clock set back still sees the hold (made "in the future").
      expect(await store.used({ buckets: [w], at: t0 - 30 * 60_000 })).toEqual([10n]);
      expect(await store.reserve({ id: id(), amount: 10n, at: t0 + hour, buckets: [w] })).toEqual({
        ok: true,
      });
      expect(await store.used({ buckets: [total], at: t0 + 400 * 24 * hour })).toEqual([10n]);
    });

    it.skipIf(!shared)(
      "one process whose clock runs days ahead cannot erase the others' recent holds",
      async () => {
        const w = bucket(10n, hour);
        // Holds at the real time: the store prunes by its own clock too, never only by a caller's.
        const at = Date.now();
        await first.store.reserve({ id: id(), amount: 10n, at, buckets: [w] });
        const ahead = at + 10 * 24 * hour;
        expect(await second.store.reserve({ id: id(), amount: 1n, at: ahead, buckets: [w] })).toEqual({
          ok: true,
        });
        expect(await first.store.used({ buckets: [w], at })).toEqual([11n]);
        expect((await first.store.reserve({ id: id(), amount: 1n, at, buckets: [w] })).ok).toBe(false);
      },
    );

    it("50 concurrent reservations against room for 10 hold exactly 10", async () => {
      const b = bucket(10n, hour);
      const stores = [first.store, second.store];
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          stores[i % 2]!.reserve({ id: id(), amount: 1n, at: t0 + i, buckets: [b] }),
        ),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      expect(await first.store.used({ buckets: [b], at: t0 + 50 })).toEqual([10n]);
    });

    it("concurrent reservations over overlapping buckets never overspend either, and never deadlock", async () => {
      const x = bucket(10n, undefined, "x");
      const y = bucket(10n, hour, "y");
      const stores = [first.store, second.store];
      const results = await Promise.all(
        Array.from({ length: 40 }, (_, i) => {
          const buckets = i % 3 === 0 ? [x] : i % 3 === 1 ? [y, x] : [x, y];
          return stores[i % 2]!.reserve({ id: id(), amount: 1n, at: t0, buckets });
        }),
      );
      expect(results.filter((r) => r.ok)).toHaveLength(10);
      const [usedX, usedY] = await first.store.used({ buckets: [x, y], at: t0 });
      expect(usedX).toBe(10n);
      expect(usedY).toBeLessThanOrEqual(10n);
    });
  });
}

const entry = (key: string, patch: Partial<LedgerEntry> = {}): LedgerEntry => ({
  key,
  idempotencyKey: `idem-${key}`,
  state: "pending",
  url: "http://127.0.0.1:1/paid",
  method: "GET",
  lane: "facilitator",
  proof: { name: "PAYMENT-SIGNATURE", value: `proof-${key}` },
  offer: { network: "eip155:84532", asset: "0xasset", payTo: "0xpayee", amount: "10000" },
  claim: `0x${key}`,
  createdAt: t0,
  updatedAt: t0,
  ...patch,
});

/** The contract of a `PaymentLedger` shared by processes: what it keeps, and its lease across ledger objects. */
export function describeLedgerConformance(
  parameters: Readonly<{
    name: string;
    skip: boolean;
    /** Opens a ledger object (twice for shared ones, as two processes would); `leaseWaitMs` bounds a lease's wait. */
    open: (options: Readonly<{ leaseWaitMs: number }>) => Promise<Opened<PaymentLedger>>;
    shared: boolean;
  }>,
): void {
  const { name, skip, open, shared } = parameters;
  describe.skipIf(skip)(`PaymentLedger conformance: ${name}`, () => {
    let first: Opened<PaymentLedger>;
    let second: Opened<PaymentLedger>;
    beforeAll(async () => {
      first = await open({ leaseWaitMs: 300 });
      second = shared ? await open({ leaseWaitMs: 300 }) : first;
    });
    afterAll(async () => {
      if (second !== first) await second?.close();
      await first?.close();
    });
    const key = () => `sha256:${crypto.randomUUID()}`;

    it("keeps a pending entry for every ledger object, and forgets a settled one without an explicit key", async () => {
      const k = key();
      await first.store.put(entry(k));
      expect((await second.store.get(k))?.proof.value).toBe(`proof-${k}`);
      expect((await second.store.pending()).some((e) => e.key === k)).toBe(true);
      await second.store.put(entry(k, { state: "settled", updatedAt: t0 + 1 }));
      expect(await first.store.get(k)).toBeUndefined();
      expect((await first.store.pending()).some((e) => e.key === k)).toBe(false);
    });

    it("keeps answered entries of explicit Idempotency-Keys and consumed ones; forgets refused ones", async () => {
      const idem = `idem:${crypto.randomUUID()}`;
      await first.store.put(entry(idem, { state: "settled" }));
      expect((await second.store.get(idem))?.state).toBe("settled");
      const consumed = key();
      await first.store.put(entry(consumed, { state: "consumed" }));
      expect((await second.store.get(consumed))?.state).toBe("consumed");
      await first.store.put(entry(idem, { state: "refused" }));
      expect(await second.store.get(idem)).toBeUndefined();
    });

    it("keeps a slotted proof beside the request's own while pending, and drops it once answered", async () => {
      const k = key();
      await first.store.put(entry(k));
      await first.store.put(entry(k, { slot: "2", claim: "0xslot" }));
      expect((await second.store.get(k))?.claim).toBe(`0x${k}`);
      expect((await second.store.pending()).filter((e) => e.key === k)).toHaveLength(2);
      await second.store.put(entry(k, { slot: "2", claim: "0xslot", state: "settled" }));
      expect((await first.store.pending()).filter((e) => e.key === k).map((e) => e.claim)).toEqual([
        `0x${k}`,
      ]);
    });

    it.skipIf(!shared)(
      "leases one request to one ledger object at a time; the other waits its turn",
      async () => {
        const k = key();
        const order: string[] = [];
        let release!: () => void;
        const gate = new Promise<void>((resolve) => {
          release = resolve;
        });
        const lease = first.store.lease;
        const otherLease = second.store.lease;
        if (lease === undefined || otherLease === undefined) throw new Error("a shared ledger leases");
        const a = lease(k, async () => {
          order.push("a:start");
          await gate;
          order.push("a:end");
        });
        // `a` holds the lease once it has started.
        while (order.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        const b = otherLease(k, async () => {
          order.push("b");
        });
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(order).toEqual(["a:start"]);
        release();
        await Promise.all([a, b]);
        expect(order).toEqual(["a:start", "a:end", "b"]);
      },
    );

    it.skipIf(!shared)("refuses a lease held past the bounded wait with CLIENT__LEDGER_BUSY", async () => {
      const k = key();
      const lease = first.store.lease;
      const otherLease = second.store.lease;
      if (lease === undefined || otherLease === undefined) throw new Error("a shared ledger leases");
      let release!: () => void;
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      let started = false;
      const a = lease(k, async () => {
        started = true;
        await gate;
      });
      while (!started) await new Promise((resolve) => setTimeout(resolve, 5));
      const error = await otherLease(k, async () => "ran").catch((e: unknown) => e);
      release();
      await a;
      expect(isTollgateError(error, "CLIENT__LEDGER_BUSY")).toBe(true);
      // Free again: the other takes it.
      expect(await otherLease(k, async () => "ran")).toBe("ran");
    });
  });
}

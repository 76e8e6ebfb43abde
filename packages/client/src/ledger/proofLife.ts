import { isTollgateError, TollgateError } from "@tollgate/shared";
import type { Hold } from "../policy/budgets.js";
import type { ExactProofParameters, PayingWallet } from "../wallet.js";
import { consumedMemoryMs, type LedgerEntry } from "./ledger.js";

/**
 * Where a proof stands in its life, as far as money is concerned:
 * - `pending`: sent (or maybe sent) and its outcome not fully received: the same proof is sent again, never a new one;
 * - `doubtful`: the server refused it, but it can still settle (a server that lies keeps it until `validBefore`):
 *   it counts against its request's `maxPerRequest` and the budgets;
 * - `spent`: it moved the money (the server took it, or said it was used): it counts against the budgets for good,
 *   and against its request's `maxPerRequest` until the request is served or for `consumedMemoryMs`;
 * - `dead`: provably never moved money and never can (never sent, failed on chain, cancelled on chain, expired by
 *   the chain's clock unused): its budget hold is released.
 */
export type ProofState = "pending" | "doubtful" | "spent" | "dead";

/**
 * The transitions of a proof's life. `spent` and `dead` are final: nothing brings money back, and nothing revives a
 * proof the chain has killed.
 */
export const proofTransitions: Readonly<Record<ProofState, readonly ProofState[]>> = Object.freeze({
  pending: ["doubtful", "spent", "dead"],
  doubtful: ["spent", "dead"],
  spent: [],
  dead: [],
});

/** One proof the book follows: its entry, what it holds against the budgets, and the wallet that signed it. */
type TrackedProof = {
  readonly entry: LedgerEntry;
  readonly hold: Hold | undefined;
  readonly wallet: PayingWallet | undefined;
  state: ProofState;
  /** When (ms) the chain may next be asked about a doubtful proof. */
  nextCheckAt: number;
  /** When (ms) the proof became spent. */
  spentAt: number;
};

/** Parameters of `createProofBook`. */
export type CreateProofBookParameters = Readonly<{
  budgets: Readonly<{ release(hold: Hold, at?: number): void }>;
  /** The wallets, to find the signer of a proof recorded before a restart (by `laneData.payer`). */
  wallets: readonly PayingWallet[];
  now: () => number;
  /** How many logical requests with proofs still in doubt are remembered, oldest forgotten first. @default 1024 */
  maxRequests?: number;
}>;

/** How long after a chain check that found a proof live it is asked again. */
const recheckMs = 5_000;

/**
 * The proof-life state machine of the paying fetch: every proof's state (`ProofState`, moved only along
 * `proofTransitions`) and its budget hold, per logical request. It answers the one question a second payment for a
 * request depends on, `committed(key)`: how much the proofs of that request that moved or can still move money add
 * up to; and it asks the chain (through the signing wallet) when a doubtful proof has died, releasing
 * its hold, or kills it on chain when a second payment needs the room.
 *
 * @example
 * ```ts
 * const proofs = createProofBook({ budgets, wallets, now: Date.now });
 * proofs.track({ entry, hold, wallet });
 * proofs.refused(entry); // doubtful: still counts
 * await proofs.settleDoubts(undefined); // released once the chain says it is dead
 * ```
 */
export function createProofBook(parameters: CreateProofBookParameters) {
  const { budgets, wallets, now, maxRequests = 1024 } = parameters;
  /** The proofs of each open logical request, by ledger key (insertion order: oldest first). */
  const requests = new Map<string, TrackedProof[]>();
  /** Doubtful proofs of any request (closed ones too), until the chain says how they ended. */
  const doubts = new Set<TrackedProof>();

  function find(entry: LedgerEntry): TrackedProof | undefined {
    return requests.get(entry.key)?.find((p) => p.entry.claim === entry.claim);
  }

  function move(proof: TrackedProof, to: ProofState): void {
    if (!proofTransitions[proof.state].includes(to)) return;
    proof.state = to;
    if (to === "spent") proof.spentAt = now();
    // Only a wallet that can read the chain can ever clear a doubt: the others' holds simply stay.
    if (to === "doubtful" && proof.wallet?.checkExactProof !== undefined) doubts.add(proof);
    else doubts.delete(proof);
    if (to === "dead" && proof.hold !== undefined) budgets.release(proof.hold);
  }

  function walletOf(entry: LedgerEntry): PayingWallet | undefined {
    const payer = entry.laneData?.payer;
    return wallets.find((w) => w.address === payer && w.checkExactProof !== undefined);
  }

  function proofParameters(proof: TrackedProof, signal: AbortSignal | undefined): ExactProofParameters {
    const { entry } = proof;
    return {
      network: entry.offer.network,
      asset: entry.offer.asset,
      claim: entry.claim,
      validBefore: entry.validBefore,
      laneData: entry.laneData,
      ...(signal === undefined ? {} : { signal }),
    };
  }

  /**
   * Ends a purchase of a request: its spent and dead proofs stop counting against the next one. Its pending and
   * doubtful proofs stay: they may belong to a concurrent copy of the same request (no `Idempotency-Key`) and can
   * still move money, so they count until they are answered or provably dead.
   */
  function closeRequest(key: string): void {
    const open = (requests.get(key) ?? []).filter((p) => p.state === "pending" || p.state === "doubtful");
    if (open.length === 0) requests.delete(key);
    else requests.set(key, open);
  }

  return Object.freeze({
    /** Starts following a recorded proof (`pending`); a proof already followed keeps its state and hold. */
    track(proof: Readonly<{ entry: LedgerEntry; hold: Hold | undefined; wallet: PayingWallet | undefined }>) {
      if (find(proof.entry) !== undefined) return;
      const list = requests.get(proof.entry.key) ?? [];
      const wallet =
        proof.wallet?.checkExactProof !== undefined ? proof.wallet : (walletOf(proof.entry) ?? proof.wallet);
      list.push({
        entry: proof.entry,
        hold: proof.hold,
        wallet,
        state: "pending",
        nextCheckAt: 0,
        spentAt: 0,
      });
      requests.delete(proof.entry.key);
      requests.set(proof.entry.key, list);
      while (requests.size > maxRequests) {
        // Forget a request whose proofs are all dead first; else the oldest.
        let forget = requests.keys().next().value as string;
        for (const [key, proofs] of requests) {
          if (proofs.every((p) => p.state === "dead")) {
            forget = key;
            break;
          }
        }
        requests.delete(forget);
      }
    },
    /** The state of a followed proof, or `undefined`. */
    stateOf(entry: LedgerEntry): ProofState | undefined {
      return find(entry)?.state;
    },
    /**
     * The proof bought its answer (the server took it and answered): it counts against the budgets for good, and its
     * purchase is over (a later call with the same key is a new purchase, or a replay); the request's proofs that can
     * still move money (pending, doubtful: a concurrent copy's) keep counting against it.
     */
    served(entry: LedgerEntry): void {
      const proof = find(entry);
      if (proof !== undefined) move(proof, "spent");
      closeRequest(entry.key);
    },
    /**
     * The proof moved the money but bought no usable answer (the server said it was used, or answered a paid 402):
     * it counts against the budgets for good, and against its request's `maxPerRequest` for `consumedMemoryMs`, while
     * that request is blocked from paying anew; the request's other proofs keep counting too.
     */
    spent(entry: LedgerEntry): void {
      const proof = find(entry);
      if (proof !== undefined) move(proof, "spent");
    },
    /**
     * The server refused the proof. A facilitator-lane proof stays `doubtful`: only the chain can say it will never
     * settle. A token moved nothing from the wallet: dead.
     */
    refused(entry: LedgerEntry): void {
      const proof = find(entry);
      if (proof === undefined) return;
      move(proof, entry.lane === "token" ? "dead" : "doubtful");
    },
    /** The proof provably never moved money (never sent, failed on chain): dead, its hold released. */
    dead(entry: LedgerEntry): void {
      const proof = find(entry);
      if (proof !== undefined) move(proof, "dead");
    },
    /**
     * What the proofs of an open logical request that moved or can still move money add up to, atomic units: all but
     * the dead ones, and the spent ones older than `consumedMemoryMs` (a proof the server refused yet the chain says
     * settled, or that the server said was used, stays in its request).
     */
    committed(key: string): bigint {
      const at = now();
      let sum = 0n;
      for (const proof of requests.get(key) ?? []) {
        if (proof.state === "dead") continue;
        if (proof.state === "spent" && at - proof.spentAt >= consumedMemoryMs) continue;
        sum += BigInt(proof.entry.offer.amount);
      }
      return sum;
    },
    /** Whether some doubtful proof of the request can be cancelled on chain by its wallet. */
    canCancel(key: string): boolean {
      return (requests.get(key) ?? []).some(
        (p) => p.state === "doubtful" && p.wallet?.cancelExactProof !== undefined,
      );
    },
    /**
     * Asks the chain about every doubtful proof whose `validBefore` has passed by the paying fetch's clock (and that
     * was not asked in the last 5 s): dead ones release their holds, settled ones stay spent. A proof whose wallet
     * cannot read the chain stays doubtful. A failed read leaves the proof doubtful; it is asked again later.
     */
    async settleDoubts(signal: AbortSignal | undefined): Promise<void> {
      const at = now();
      for (const proof of [...doubts]) {
        const { validBefore } = proof.entry;
        const check = proof.wallet?.checkExactProof;
        if (check === undefined || validBefore === undefined || validBefore * 1000 > at) continue;
        if (proof.nextCheckAt > at) continue;
        proof.nextCheckAt = at + recheckMs;
        const state = await check
          .call(proof.wallet, proofParameters(proof, signal))
          .catch(() => "live" as const);
        if (state === "dead") move(proof, "dead");
        if (state === "settled") move(proof, "spent");
      }
    },
    /**
     * Kills on chain every doubtful proof of a request that its wallet can cancel (sequentially): `dead` once the
     * cancellation is mined, `spent` when it had already settled.
     * @throws `CLIENT__WALLET_FAILED` (with the chain's failure as its cause): the proof stays doubtful
     */
    async cancelDoubts(key: string, signal: AbortSignal | undefined): Promise<void> {
      for (const proof of [...(requests.get(key) ?? [])]) {
        const cancel = proof.wallet?.cancelExactProof;
        if (proof.state !== "doubtful" || cancel === undefined) continue;
        let state: Awaited<ReturnType<typeof cancel>>;
        try {
          state = await cancel.call(proof.wallet, proofParameters(proof, signal));
        } catch (cause) {
          // The proof stays doubtful (and counted): nothing more is paid for its request.
          if (isTollgateError(cause, "CLIENT__WALLET_FAILED")) throw cause;
          throw new TollgateError("CLIENT__WALLET_FAILED", {
            context: { network: proof.entry.offer.network, operation: "cancel_authorization" },
            cause,
          });
        }
        move(proof, state === "dead" ? "dead" : "spent");
      }
    },
  });
}

/** The proof-life book of a paying fetch. */
export type ProofBook = ReturnType<typeof createProofBook>;

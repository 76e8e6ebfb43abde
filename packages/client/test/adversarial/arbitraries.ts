import {
  evmPayeeAccounts,
  type HostileAnswer,
  type HostileBehaviour,
  type HostileOffer,
  svmPayeeKeypairs,
} from "@tollgate/testing";
import fc from "fast-check";
import type { Scenario } from "./scenario.js";

/** The payees a hostile server names: one it usually asks for, and others to ask a second payment for. */
export const payees = evmPayeeAccounts.slice(0, 3).map((a) => a.address);
/** The Solana payees (their token accounts exist on the rig's bank). */
export const svmPayees = svmPayeeKeypairs.slice(0, 2).map((k) => k.publicKey.toBase58());

/**
 * Amounts around the owner's `maxPerRequest`: a tenth, a third, a half, two thirds, all of it, twice it. Two
 * payments of more than half break the limit; a price above it must be refused.
 */
const amountAround = (max: bigint) =>
  fc.constantFrom(max / 10n, max / 3n, max / 2n, (max * 2n) / 3n, max, max * 2n);
const payTo = fc.constantFrom(...payees);

const facilitatorOffer = (amount: fc.Arbitrary<bigint>): fc.Arbitrary<HostileOffer> =>
  fc.record({
    lane: fc.constant("facilitator" as const),
    form: fc.constantFrom("header" as const, "v1_body" as const, "payment_options" as const),
    amount,
    payTo,
    maxTimeoutSeconds: fc.constantFrom(30, 60, 300, 31_536_000),
  });

/** A facilitator-lane offer on the Solana bank (a partially signed transfer the server co-signs as fee payer). */
const svmFacilitatorOffer = (amount: fc.Arbitrary<bigint>): fc.Arbitrary<HostileOffer> =>
  fc.record({
    lane: fc.constant("facilitator" as const),
    chain: fc.constant("svm" as const),
    form: fc.constantFrom("header" as const, "v1_body" as const, "payment_options" as const),
    amount,
    payTo: fc.constantFrom(...svmPayees),
    maxTimeoutSeconds: fc.constantFrom(30, 60, 300),
  });

const directOffer = (amount: fc.Arbitrary<bigint>): fc.Arbitrary<HostileOffer> =>
  fc
    .record({ amount, payTo, priority: fc.constantFrom(1, 2), overMinimum: fc.boolean() })
    .map(({ amount, payTo, priority, overMinimum }) => ({
      lane: "direct" as const,
      amount,
      // A minimum above the price: the client sends more than the price (the surplus would buy a token).
      ...(overMinimum ? { minAmount: amount * 2n } : {}),
      payTo,
      priority,
    }));

/** A 402's offers: facilitator offers in every form, direct transfers, a token lane. */
const offerSet = (amount: fc.Arbitrary<bigint>): fc.Arbitrary<readonly HostileOffer[]> =>
  fc.array(
    fc.oneof(
      { weight: 4, arbitrary: facilitatorOffer(amount) },
      { weight: 2, arbitrary: svmFacilitatorOffer(amount) },
      { weight: 2, arbitrary: directOffer(amount) },
      { weight: 1, arbitrary: fc.constant<HostileOffer>({ lane: "token" }) },
    ),
    { minLength: 1, maxLength: 4 },
  );

const refusalReason = fc.constantFrom(
  "facilitator_unavailable",
  "settlement_pending",
  "invalid_exact_evm_insufficient_balance",
  "invalid_exact_evm_payload_authorization_valid_before",
  "invalid_exact_evm_nonce_already_used",
  "payment_required",
);

/** Every hostile answer to a proof, the slow drip rare (each costs the agent its call timeout). */
const answer = (offerSet: fc.Arbitrary<readonly HostileOffer[]>): fc.Arbitrary<HostileAnswer> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant<HostileAnswer>({ kind: "serve" }) },
    {
      weight: 6,
      arbitrary: fc.record(
        {
          kind: fc.constant("refuse" as const),
          reason: refusalReason,
          // Another offer set: ask the second payment of another payee, another amount, another lane.
          offers: offerSet,
          retryAfterSeconds: fc.constant(1),
        },
        { requiredKeys: ["kind", "reason"] },
      ),
    },
    { weight: 2, arbitrary: fc.constant<HostileAnswer>({ kind: "paid_402" }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("status" as const),
        status: fc.constantFrom(500, 502, 504, 429),
      }),
    },
    { weight: 2, arbitrary: fc.constant<HostileAnswer>({ kind: "cut_body", bytes: 10 }) },
    { weight: 2, arbitrary: fc.constant<HostileAnswer>({ kind: "reset" }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("redirect" as const),
        status: fc.constant(303 as const),
        to: fc.constantFrom("refusing_port" as const, "garbage" as const),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("drip" as const),
        status: fc.constantFrom(200, 402),
        intervalMs: fc.constant(100),
      }),
    },
  );

/** How the server treats one proof: mostly settled for real before it answers. */
const behaviour = (offerSet: fc.Arbitrary<readonly HostileOffer[]>): fc.Arbitrary<HostileBehaviour> =>
  fc.record({
    settle: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    answer: answer(offerSet),
  });

/** A whole run: limits, the server's offers and answers (the failure points after each proof), the requests. */
export const scenario: fc.Arbitrary<Scenario> = fc
  .constantFrom(10_000n, 30_000n, 100_000n)
  .chain((maxPerRequest) => {
    const offers = offerSet(amountAround(maxPerRequest));
    return fc.record({
      maxPerRequest: fc.constant(maxPerRequest),
      // A budget of one, two or three requests' worth, or none to speak of.
      budget: fc.constantFrom(maxPerRequest, maxPerRequest * 2n, maxPerRequest * 3n, 10_000_000n),
      requirementCache: fc.boolean(),
      offerSets: fc.array(offers, { minLength: 1, maxLength: 3 }),
      behaviours: fc.array(behaviour(offers), { maxLength: 6 }),
      requests: fc.array(
        fc.record({
          method: fc.constantFrom("GET" as const, "POST" as const),
          explicitKey: fc.boolean(),
          // Mostly retried: a retry after a lie is where a second payment happens.
          attempts: fc.constantFrom(1, 2, 2, 3),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
  });

import { payees, svmPayees } from "./arbitraries.js";
import type { Scenario } from "./scenario.js";

const [payee, otherPayee] = payees as [`0x${string}`, `0x${string}`, `0x${string}`];

const [svmPayee] = svmPayees as [string, string];

const once = [{ method: "GET", explicitKey: false, attempts: 1 }] as const;
const retried = (explicitKey: boolean) => [{ method: "GET", explicitKey, attempts: 2 }] as const;

/** A facilitator offer of 10000 in the v2 header and a direct transfer of 10000 to another payee. */
const facilitatorAndDirect = [
  [
    { lane: "facilitator", form: "header", amount: 10_000n, payTo: payee },
    { lane: "direct", amount: 10_000n, payTo: otherPayee, priority: 2 },
  ],
] as const;

/** The attacks of issue 14 that moved more than the owner allowed on 6ab15bf, as scenarios. */
export const knownAttacks: Readonly<Record<string, Scenario>> = {
  // Critical: the server settles the proof, answers facilitator_unavailable, and gets a direct transfer too.
  "facilitator_unavailable after settling, then a direct transfer to another payee": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: facilitatorAndDirect,
    behaviours: [{ settle: true, answer: { kind: "refuse", reason: "facilitator_unavailable" } }],
    requests: once,
  },
  // Critical: with the requirement cache, the cached proof is settled and refused, the live one settled and
  // answered facilitator_unavailable, then a direct transfer.
  "requirement cache: cached proof settled and refused, live proof settled and unavailable, then direct": {
    maxPerRequest: 20_000n,
    budget: 1_000_000n,
    requirementCache: true,
    offerSets: facilitatorAndDirect,
    behaviours: [
      { settle: true, answer: { kind: "serve" } },
      {
        settle: true,
        answer: { kind: "refuse", reason: "invalid_exact_evm_payload_authorization_valid_before" },
      },
      { settle: true, answer: { kind: "refuse", reason: "facilitator_unavailable" } },
    ],
    requests: [
      { method: "GET", explicitKey: false, attempts: 1 },
      { method: "GET", explicitKey: false, attempts: 1 },
    ],
  },
  // High 1: settled, then a lost or broken answer; the agent retries without an Idempotency-Key.
  "settled, answered 500, retried without a key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "status", status: 500 } }],
    requests: retried(false),
  },
  // A settled proof answered 429: the agent backs off and retries the same request, without a key.
  "settled, answered 429, retried without a key": {
    maxPerRequest: 30_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 20_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "status", status: 429 } }],
    requests: retried(false),
  },
  "settled, body cut after 10 bytes, retried without a key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "v1_body", amount: 10_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "cut_body", bytes: 10 } }],
    requests: retried(false),
  },
  "settled, 303 to a refusing port, retried without a key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "payment_options", amount: 10_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "redirect", status: 303, to: "refusing_port" } }],
    requests: retried(false),
  },
  "settled, 303 to an unparsable Location, retried without a key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "redirect", status: 303, to: "garbage" } }],
    requests: retried(false),
  },
  // Medium 9: a 402 that carries a successful PAYMENT-RESPONSE, retried with the same Idempotency-Key.
  "a 402 with a successful PAYMENT-RESPONSE, retried with the same key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "paid_402" } }],
    requests: retried(true),
  },
  // Found by the outflow property on fix/c1 (seed 386800709): the 402 carrying a successful receipt is returned to
  // the caller as paid, but the caller got a 402; its retry of the same request (no key) pays again.
  "a 402 with a successful PAYMENT-RESPONSE, retried without a key": {
    maxPerRequest: 30_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 20_000n, payTo: payee }]],
    behaviours: [{ settle: true, answer: { kind: "paid_402" } }],
    requests: retried(false),
  },
  // The same on the direct lane (found by the concurrent property on fix/c1, seed 2062034458).
  "a direct transfer answered by a 402 with a successful PAYMENT-RESPONSE, retried without a key": {
    maxPerRequest: 30_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "direct", amount: 20_000n, payTo: payee, priority: 1 }]],
    behaviours: [{ settle: true, answer: { kind: "paid_402" } }],
    requests: retried(false),
  },
  // Found by the concurrent property on fix/c1 + fix/c3 (seed 1035422431), made sequential: one Idempotency-Key,
  // its first authorization settled and called unavailable, re-sent and called used (so it is spent), then a second
  // authorization settled and called unavailable, then a direct transfer: 10000 + 10000 + 20000 under a max of 30000.
  "one key: settled and unavailable, re-sent and used, a new proof settled and unavailable, then direct": {
    maxPerRequest: 30_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [
      { settle: true, answer: { kind: "refuse", reason: "facilitator_unavailable" } },
      { settle: true, answer: { kind: "refuse", reason: "invalid_exact_evm_nonce_already_used" } },
      {
        settle: true,
        answer: {
          kind: "refuse",
          reason: "facilitator_unavailable",
          offers: [{ lane: "direct", amount: 10_000n, minAmount: 20_000n, payTo: otherPayee, priority: 1 }],
        },
      },
    ],
    requests: [{ method: "POST", explicitKey: true, attempts: 3 }],
  },
  // Critical's rule: a refused authorization stays valid in the server's hands; a retry must not pay again.
  "settled and refused (a lie), retried with the same key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [
      { settle: true, answer: { kind: "refuse", reason: "invalid_exact_evm_insufficient_balance" } },
    ],
    requests: retried(true),
  },
  // A held (not yet settled) refused authorization and a second request for another payee: the budget counts both.
  "held and refused, then asked again for another payee, under a budget of one payment": {
    maxPerRequest: 100_000n,
    budget: 10_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", form: "header", amount: 10_000n, payTo: payee }]],
    behaviours: [
      {
        settle: false,
        answer: {
          kind: "refuse",
          reason: "invalid_exact_evm_insufficient_balance",
          offers: [{ lane: "facilitator", form: "header", amount: 10_000n, payTo: otherPayee }],
        },
      },
    ],
    requests: [
      { method: "GET", explicitKey: false, attempts: 1 },
      { method: "POST", explicitKey: false, attempts: 1 },
    ],
  },
  // The Solana facilitator lane on the bank: a landed transfer refused (a lie), the same key retried.
  "Solana: landed and refused (a lie), retried with the same key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", chain: "svm", form: "header", amount: 10_000n, payTo: svmPayee }]],
    behaviours: [
      {
        settle: true,
        answer: { kind: "refuse", reason: "invalid_exact_svm_payload_transaction_simulation_failed" },
      },
    ],
    requests: retried(true),
  },
  "Solana v1 body: landed, answered 500, retried without a key": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [[{ lane: "facilitator", chain: "svm", form: "v1_body", amount: 10_000n, payTo: svmPayee }]],
    behaviours: [{ settle: true, answer: { kind: "status", status: 500 } }],
    requests: retried(false),
  },
  // Across chains: a Solana proof landed and answered facilitator_unavailable, then a direct transfer on EVM.
  "Solana landed and unavailable, then a direct transfer on EVM": {
    maxPerRequest: 10_000n,
    budget: 1_000_000n,
    requirementCache: false,
    offerSets: [
      [
        { lane: "facilitator", chain: "svm", form: "header", amount: 10_000n, payTo: svmPayee },
        { lane: "direct", amount: 10_000n, payTo: otherPayee, priority: 2 },
      ],
    ],
    behaviours: [{ settle: true, answer: { kind: "refuse", reason: "facilitator_unavailable" } }],
    requests: once,
  },
};

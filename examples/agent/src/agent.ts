import {
  createPayingFetch,
  type PayingFetch,
  type PayingFetchEvent,
  type PayingWallet,
  type Receipt,
  type SpendingPolicy,
} from "@tollgate/client";
import { formatUsd, isTollgateError } from "@tollgate/shared";

/** Parameters of `createAgent`. */
export type CreateAgentParameters = Readonly<{
  /** The wallets the agent pays from (`createEvmWallet`, `createSvmWallet`). */
  wallets: readonly PayingWallet[];
  /** Its owner's limits: a maximum per request and budgets. */
  policy: SpendingPolicy;
  /** Where each line of the agent's account of itself goes. @default console.log */
  log?: (line: string) => void;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}>;

/** What one call of the agent came to. */
export type AgentCall = Readonly<
  | { ok: true; status: number; body: unknown; receipt: Receipt | undefined }
  | { ok: false; code: string; reason: string }
>;

/** An agent: calls URLs, pays what the policy allows, and explains itself. */
export type Agent = Readonly<{
  call(url: string): Promise<AgentCall>;
  payingFetch: PayingFetch;
}>;

function describe(event: PayingFetchEvent): string | undefined {
  const money = (amount: bigint | undefined) => (amount === undefined ? "" : formatUsd(amount));
  switch (event.type) {
    case "offer.selected": {
      if (event.offer.lane === "token") return "  spends its prepaid token (no chain transaction)";
      const skipped = event.rejected.map(
        (r) => `${r.offer.lane}${r.offer.network ? ` on ${r.offer.network}` : ""}: ${r.reason}`,
      );
      return `  chose ${event.offer.lane} on ${event.offer.network ?? "-"} for ${money(event.offer.amount)}${
        skipped.length > 0 ? ` (skipped ${skipped.join("; ")})` : ""
      }`;
    }
    case "payment.signed":
      return `  paid: ${event.offer.lane} proof signed and sent`;
    case "payment.refused":
      return `  the server refused the ${event.offer.lane} payment: ${event.reason}`;
    case "budget.exceeded":
      return `  budget "${event.budget}" has ${money(event.remaining)} left, not enough for ${money(event.amount)}`;
    case "payment.pending":
      return `  settlement pending; retrying the same proof in ${event.retryAfterSeconds}s`;
    default:
      return undefined;
  }
}

/**
 * An agent that calls paid endpoints with `payingFetch`, within its owner's policy, and prints what it paid and
 * why (the offer it chose, the ones it skipped, refusals, budget stops).
 *
 * @example
 * ```ts
 * import { createAgent } from "agent";
 * import { createEvmWallet } from "@tollgate/client/evm";
 * const agent = createAgent({ wallets: [createEvmWallet({ account })], policy: { budgets: [{ window: "day", limit: 1_000_000n }] } });
 * const result = await agent.call("http://127.0.0.1:4020/v1/search?q=x402");
 * ```
 */
export function createAgent(parameters: CreateAgentParameters): Agent {
  const { wallets, policy, log = console.log, fetch } = parameters;
  const payingFetch = createPayingFetch({
    wallets,
    policy,
    ...(fetch ? { fetch } : {}),
    onEvent: (event) => {
      const line = describe(event);
      if (line) log(line);
    },
  });
  return Object.freeze({
    payingFetch,
    async call(url: string): Promise<AgentCall> {
      try {
        const response = await payingFetch(url);
        const body = (await response.json().catch(() => undefined)) as unknown;
        return { ok: true, status: response.status, body, receipt: payingFetch.getReceipt(response) };
      } catch (error) {
        if (isTollgateError(error)) return { ok: false, code: error.code, reason: error.shortMessage };
        throw error;
      }
    },
  });
}

import type { EvmChain as SettlingChain, TransferWithAuthorizationCall } from "@tollgate/server/evm";
import { settleResponseSchema } from "@tollgate/shared";
import { getAddress, type Hex } from "viem";

/** A signed EIP-3009 authorization a hostile server received, with what it takes to settle it. */
export type HeldAuthorization = Readonly<{
  x402Version: 1 | 2;
  /** The decoded `PAYMENT-SIGNATURE` / `X-PAYMENT` payload. */
  paymentPayload: Record<string, unknown>;
  /** The requirement to present to the facilitator with it. */
  paymentRequirements: Record<string, unknown>;
  /** The call that executes it on chain. */
  call: TransferWithAuthorizationCall;
}>;

/** How a held authorization ended: moved money (by the facilitator or a direct relay), or could not. */
export type SettleOutcome = Readonly<
  { settled: true; via: "facilitator" | "chain"; transaction: string } | { settled: false; reason: string }
>;

/** Parameters of `settleAuthorization`. */
export type SettleAuthorizationParameters = Readonly<{
  authorization: HeldAuthorization;
  /** The facilitator to ask first (`POST /settle`). */
  facilitatorUrl: string | undefined;
  /** The chain to relay on when the facilitator refuses (a hostile holder of a signature can submit it itself). */
  relay: SettlingChain | undefined;
}>;

/**
 * Settles an authorization the way a hostile holder would: through the facilitator, and when the facilitator
 * refuses (a validity margin, a guard), by relaying `transferWithAuthorization` itself. Never throws.
 */
export async function settleAuthorization(parameters: SettleAuthorizationParameters): Promise<SettleOutcome> {
  const { authorization, facilitatorUrl, relay } = parameters;
  let reason = "no_facilitator";
  if (facilitatorUrl !== undefined) {
    try {
      const response = await fetch(new URL("/settle", facilitatorUrl), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          x402Version: authorization.x402Version,
          paymentPayload: authorization.paymentPayload,
          paymentRequirements: authorization.paymentRequirements,
        }),
        signal: AbortSignal.timeout(30_000),
      });
      const answer = settleResponseSchema.safeParse(await response.json());
      if (answer.success && answer.data.success) {
        return { settled: true, via: "facilitator", transaction: answer.data.transaction };
      }
      reason = answer.success
        ? (answer.data.errorReason ?? "settle_refused")
        : `settle_status_${response.status}`;
    } catch (error) {
      reason = error instanceof Error ? error.name : "settle_failed";
    }
  }
  if (relay === undefined) return { settled: false, reason };
  const { call } = authorization;
  try {
    const simulation = await relay.simulateTransferWithAuthorization(call);
    if (!simulation.ok)
      return { settled: false, reason: `${reason}; relay: ${simulation.revertReason ?? "reverted"}` };
    const hash = await relay.sendTransferWithAuthorization(call);
    const receipt = await relay.waitForReceipt(hash, { timeoutMs: 30_000 });
    const moved = receipt.transfers.some(
      (t) => getAddress(t.from) === getAddress(call.from) && t.value === call.value,
    );
    return receipt.status === "success" && moved
      ? { settled: true, via: "chain", transaction: hash }
      : { settled: false, reason: `${reason}; relay: ${receipt.status}` };
  } catch (error) {
    return { settled: false, reason: `${reason}; relay: ${error instanceof Error ? error.name : "failed"}` };
  }
}

/** Reads the EIP-3009 call out of an `exact` EVM payload; `undefined` when it is not one. */
export function authorizationCall(
  payload: unknown,
  token: string,
): TransferWithAuthorizationCall | undefined {
  const p = payload as { signature?: unknown; authorization?: Record<string, unknown> } | undefined;
  const a = p?.authorization;
  if (typeof p?.signature !== "string" || a === undefined) return undefined;
  try {
    return {
      token: getAddress(token),
      from: getAddress(String(a.from)),
      to: getAddress(String(a.to)),
      value: BigInt(String(a.value)),
      validAfter: BigInt(String(a.validAfter)),
      validBefore: BigInt(String(a.validBefore)),
      nonce: String(a.nonce) as Hex,
      signature: p.signature as Hex,
    };
  } catch {
    // Not an authorization this server can settle: it is recorded, not settled.
    return undefined;
  }
}

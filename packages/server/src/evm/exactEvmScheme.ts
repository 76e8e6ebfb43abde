import {
  createNetworkRegistry,
  exactEvmExtraSchema,
  exactEvmPayloadSchema,
  isTollgateError,
  type NetworkRegistry,
  type RefusalReason,
} from "@tollgate/shared";
import { type Address, getAddress, type Hex, hashTypedData, isAddress, isAddressEqual } from "viem";
import { invalidConfig } from "../config/invalidConfig.js";
import { type FacilitatorPaymentPolicy, resolvePaymentPolicy } from "../facilitator/paymentPolicy.js";
import type {
  FacilitatorPayment,
  FacilitatorScheme,
  SchemeCallContext,
  SettleOutcome,
  VerifyOutcome,
} from "../facilitator/scheme.js";
import { withChainTimeout } from "../internal/deadline.js";
import type { EvmChain, TransferWithAuthorizationCall } from "./evmChain.js";
import { recoverSigner } from "./recoverSigner.js";
import { transferWithAuthorizationTypes } from "./usdcAbi.js";

/** Parameters of `createExactEvmScheme`: the chains, what it settles (`assets`, `minAmount`, `payees`) and limits. */
export type CreateExactEvmSchemeParameters = FacilitatorPaymentPolicy &
  Readonly<{
    /** One chain per network to settle on. */
    chains: readonly EvmChain[];
    /**
     * The most gas one settlement may use. The transfer's gas is estimated with this cap before anything is sent
     * (a transfer that needs more is refused `evm_gas_limit_exceeded`, nothing sent) and sent with the estimate as
     * its gas limit, so no settlement can spend more; verify's simulation runs under the same cap. A FiatToken
     * `transferWithAuthorization` uses about 60–90 k gas with an ECDSA signature, more with a smart wallet's.
     * @default 300_000n
     */
    maxGasPerSettlement?: bigint;
    /**
     * Finds the registry's USDC of each network (the default `assets`).
     * @default createNetworkRegistry()
     */
    registry?: Pick<NetworkRegistry, "find">;
    /**
     * How long an authorization must still be valid when verified, in seconds, so it cannot expire while
     * the settlement is mined.
     * @default 6
     */
    validBeforeMarginSeconds?: number;
    /**
     * Deadline of each read or simulation, in milliseconds.
     * @default 10_000
     */
    chainCallTimeoutMs?: number;
    /**
     * How long to wait for a settlement's receipt, in milliseconds; past it the answer is `settlement_pending`.
     * @default 30_000
     */
    receiptTimeoutMs?: number;
  }>;

type Checked = Readonly<{ chain: EvmChain; call: TransferWithAuthorizationCall; payer: Address }>;
type Refusal = Readonly<{ ok: false; reason: RefusalReason; payer?: string; message?: string }>;

/** Maps a revert reason of FiatToken (and our test token) to the refusal it means. */
function refusalOfRevert(revertReason: string | undefined): RefusalReason {
  const r = (revertReason ?? "").toLowerCase();
  if (r.includes("invalid signature")) return "evm_signature";
  if (r.includes("expired")) return "evm_valid_before";
  if (r.includes("not yet valid")) return "evm_valid_after";
  if (r.includes("used or canceled")) return "evm_nonce_already_used";
  if (r.includes("exceeds balance") || r.includes("insufficient")) return "evm_insufficient_balance";
  return "evm_simulation_failed";
}

/**
 * The `exact` scheme on EVM for our facilitator: EIP-3009 `transferWithAuthorization`, checked in a
 * clear order (scheme, EIP-712 domain, network, the operator's policy: asset, payee and minimum amount, payload
 * shape, signature, payee, time window with a margin, exact amount, then nonce state, balance and a simulation on
 * chain), settled by our own account paying gas, at most `maxGasPerSettlement` per settlement.
 *
 * What it protects its operator from: it settles only the assets it is configured for (by default the registry's
 * USDC of each network; a contract of the caller's choosing could burn the facilitator's gas and emit a fake
 * `Transfer`), never a zero amount, only above `minAmount` and, with `payees`, only for those payees; every
 * settlement's gas is capped. What it cannot prevent: a payer who spends or cancels the authorization between the
 * estimate and the mined transaction makes one capped settlement revert at the facilitator's cost.
 *
 * @example
 * ```ts
 * import { createFacilitator } from "@tollgate/server/facilitator";
 * import { createExactEvmScheme, createViemEvmChain } from "@tollgate/server/evm";
 * const facilitator = createFacilitator({ schemes: [createExactEvmScheme({ chains: [createViemEvmChain({ publicClient, walletClient })] })] });
 * ```
 */
export function createExactEvmScheme(parameters: CreateExactEvmSchemeParameters): FacilitatorScheme {
  const {
    chains,
    maxGasPerSettlement = 300_000n,
    registry = createNetworkRegistry(),
    validBeforeMarginSeconds = 6,
    chainCallTimeoutMs = 10_000,
    receiptTimeoutMs = 30_000,
  } = parameters;
  if (typeof maxGasPerSettlement !== "bigint" || maxGasPerSettlement <= 0n) {
    throw invalidConfig("maxGasPerSettlement", "must be a positive bigint");
  }
  const byNetwork = new Map(chains.map((chain) => [chain.network, chain]));
  const withinPolicy = resolvePaymentPolicy({
    policy: parameters,
    networks: [...byNetwork.keys()],
    registry,
    normalise: (address) => (isAddress(address, { strict: false }) ? address.toLowerCase() : undefined),
  });
  const gasCap = { gas: maxGasPerSettlement };

  async function checkOffline(payment: FacilitatorPayment, nowSeconds: number): Promise<Checked | Refusal> {
    const { requirement } = payment;
    if (requirement.scheme !== "exact" || payment.paidScheme !== "exact")
      return { ok: false, reason: "evm_scheme" };
    const domain = exactEvmExtraSchema.safeParse(requirement.extra);
    if (!domain.success) return { ok: false, reason: "evm_missing_eip712_domain" };
    if (payment.paidNetwork !== requirement.network) return { ok: false, reason: "evm_network_mismatch" };
    const chain = byNetwork.get(requirement.network);
    if (!chain) return { ok: false, reason: "unsupported_network" };
    if (
      !isAddress(requirement.asset, { strict: false }) ||
      !isAddress(requirement.payTo, { strict: false })
    ) {
      return { ok: false, reason: "invalid_payment_requirements" };
    }
    // Before any chain call: the facilitator pays for what follows.
    const outsidePolicy = withinPolicy(requirement);
    if (outsidePolicy !== undefined) return { ok: false, reason: outsidePolicy };
    const parsed = exactEvmPayloadSchema.safeParse(payment.payload);
    if (!parsed.success) return { ok: false, reason: "invalid_payload" };
    const { authorization, signature } = parsed.data;
    const payer = getAddress(authorization.from);
    const message = {
      from: payer,
      to: getAddress(authorization.to),
      value: BigInt(authorization.value),
      validAfter: BigInt(authorization.validAfter),
      validBefore: BigInt(authorization.validBefore),
      nonce: authorization.nonce as Hex,
    };
    const digest = hashTypedData({
      domain: {
        name: domain.data.name,
        version: domain.data.version,
        chainId: chain.chainId,
        verifyingContract: getAddress(requirement.asset),
      },
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message,
    });
    const signer = await recoverSigner(digest, signature as Hex);
    if (signer === undefined || !isAddressEqual(signer, payer))
      return { ok: false, reason: "evm_signature", payer };
    if (!isAddressEqual(message.to, getAddress(requirement.payTo))) {
      return { ok: false, reason: "evm_recipient_mismatch", payer };
    }
    const now = BigInt(nowSeconds);
    if (message.validBefore < now + BigInt(validBeforeMarginSeconds)) {
      return { ok: false, reason: "evm_valid_before", payer };
    }
    if (message.validAfter > now) return { ok: false, reason: "evm_valid_after", payer };
    if (message.value !== requirement.amount) return { ok: false, reason: "evm_value_mismatch", payer };
    return {
      chain,
      payer,
      call: { token: getAddress(requirement.asset), ...message, signature: signature as Hex },
    };
  }

  const timed = <T>(chain: EvmChain, operation: string, signal: AbortSignal, run: () => Promise<T>) =>
    withChainTimeout(run, { network: chain.network, operation, timeoutMs: chainCallTimeoutMs, signal });

  /**
   * Why the transfer cannot go through under the gas cap, read from chain state: a used nonce, a short balance,
   * the simulation's revert reason, or (when it passes only without the cap) the gas cap. `undefined` when it
   * passes (an `eth_call`: free for the facilitator, bounded by the node's own call gas limit).
   */
  async function diagnose(checked: Checked, signal: AbortSignal): Promise<Refusal | undefined> {
    const { chain, call, payer } = checked;
    const [used, balance, simulation, capped] = await Promise.all([
      timed(chain, "authorizationState", signal, () =>
        chain.authorizationState(call.token, call.from, call.nonce),
      ),
      timed(chain, "balanceOf", signal, () => chain.balanceOf(call.token, call.from)),
      timed(chain, "simulate", signal, () => chain.simulateTransferWithAuthorization(call)),
      timed(chain, "simulate", signal, () => chain.simulateTransferWithAuthorization(call, gasCap)),
    ]);
    if (used) return { ok: false, reason: "evm_nonce_already_used", payer };
    if (balance < call.value) return { ok: false, reason: "evm_insufficient_balance", payer };
    if (simulation.ok && !capped.ok) return { ok: false, reason: "evm_gas_limit_exceeded", payer };
    if (simulation.ok) return undefined;
    return {
      ok: false,
      reason: refusalOfRevert(simulation.revertReason),
      payer,
      ...(simulation.revertReason === undefined ? {} : { message: simulation.revertReason }),
    };
  }

  async function verify(payment: FacilitatorPayment, context: SchemeCallContext): Promise<VerifyOutcome> {
    const checked = await checkOffline(payment, context.nowSeconds);
    if ("ok" in checked) return checked;
    const { chain, call, payer } = checked;
    // The happy path costs one eth_call, under the settlement's gas cap; the diagnosing reads run only when it fails.
    const simulation = await timed(chain, "simulate", context.signal, () =>
      chain.simulateTransferWithAuthorization(call, gasCap),
    );
    if (simulation.ok) return { ok: true, payer };
    return (await diagnose(checked, context.signal)) ?? { ok: false, reason: "evm_simulation_failed", payer };
  }

  async function settle(payment: FacilitatorPayment, context: SchemeCallContext): Promise<SettleOutcome> {
    const checked = await checkOffline(payment, context.nowSeconds);
    if ("ok" in checked) return checked;
    const { chain, call, payer } = checked;
    let gas: bigint;
    try {
      // The estimate simulates the transfer (no separate simulation on the happy path) and, searching no higher
      // than the cap, bounds the node's work for a transfer that burns gas. Outside the one-at-a-time send queue,
      // so a slow estimate does not hold up other settlements.
      gas = await timed(chain, "estimateGas", context.signal, () =>
        chain.estimateTransferWithAuthorizationGas(call, gasCap),
      );
    } catch (error) {
      // Nothing was sent: chain state explains why (see below).
      const refusal = await diagnose(checked, context.signal);
      if (!refusal) throw error;
      return refusal;
    }
    if (gas > maxGasPerSettlement) return { ok: false, reason: "evm_gas_limit_exceeded", payer };
    let hash: Hex;
    try {
      // Sent with the estimate as its gas limit: whatever the contract does, the settlement spends no more.
      hash = await timed(chain, "sendTransaction", context.signal, () =>
        chain.sendTransferWithAuthorization(call, { gas }),
      );
    } catch (error) {
      if (isTollgateError(error, "CHAIN__TIMEOUT")) throw error; // It may have been broadcast: keep the claim.
      // The send failed before broadcasting: nothing of ours is on its way, so chain state explains why. A used
      // nonce is a definitive refusal too (the authorization was executed or cancelled by someone else): the
      // facilitator releases its guard, and a paywall that may have settled it earlier asks the chain.
      const refusal = await diagnose(checked, context.signal);
      if (!refusal) throw error;
      return refusal;
    }
    // Broadcast: from here on the money may move, so every failure is `settlement_pending` under the hash.
    try {
      const receipt = await withChainTimeout(
        // The client's own wait outlasts this deadline, so it ends as CHAIN__TIMEOUT, not as the client's error.
        () => chain.waitForReceipt(hash, { timeoutMs: receiptTimeoutMs + 1_000 }),
        {
          network: chain.network,
          operation: "waitForReceipt",
          timeoutMs: receiptTimeoutMs,
          signal: context.signal,
        },
      );
      if (receipt.status !== "success") {
        return { ok: false, reason: "evm_transaction_failed", payer, transaction: hash };
      }
      const moved = receipt.transfers.some(
        (t) =>
          isAddressEqual(t.token, call.token) &&
          isAddressEqual(t.from, call.from) &&
          isAddressEqual(t.to, call.to) &&
          t.value === call.value,
      );
      if (!moved) return { ok: false, reason: "evm_transaction_failed", payer, transaction: hash };
      return { ok: true, payer, transaction: hash };
    } catch (error) {
      return {
        ok: false,
        reason: "settlement_pending",
        payer,
        transaction: hash,
        message: error instanceof Error ? error.message : String(error),
      };
    }
  }

  return Object.freeze({
    scheme: "exact",
    networks: chains.map((c) => c.network),
    signers: { "eip155:*": [...new Set(chains.map((c) => c.signerAddress))] },
    settlementKey(payment: FacilitatorPayment): string | undefined {
      const parsed = exactEvmPayloadSchema.safeParse(payment.payload);
      if (!parsed.success) return undefined;
      const { from, nonce } = parsed.data.authorization;
      return `${payment.requirement.network}:${from.toLowerCase()}:${nonce.toLowerCase()}`;
    },
    verify,
    settle,
  });
}

import type { FacilitatorOffer } from "@tollgate/shared";
import type { LanePayment } from "../../ledger/newLedgerEntry.js";
import { throwIfAborted } from "../../request/aborted.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { callWallet, type PayingWallet } from "../../wallet.js";
import { facilitatorProofHeader } from "./facilitatorProof.js";

/** Parameters of `prepareFacilitatorPayment`. */
export type PrepareFacilitatorPaymentParameters = Readonly<{
  now: () => number;
  /** The request being paid for: its signal aborts the signing. */
  request: BufferedRequest;
  /** The wallet selection chose for the offer. */
  wallet: PayingWallet;
  offer: FacilitatorOffer;
  /** What leaves the wallet, atomic units. */
  amount: bigint;
  /** The longest life of the proof, seconds (the policy's `maxAuthorizationSeconds`). */
  maxLifetimeSeconds: number;
}>;

/**
 * Signs an `exact` payment for a facilitator-lane offer and wraps it in its proof header, ready for the ledger (not yet
 * recorded, not yet sent).
 *
 * @throws `CLIENT__WALLET_FAILED`, `CLIENT__ABORTED`, `WIRE__ENCODE_FAILED`
 */
export async function prepareFacilitatorPayment(
  parameters: PrepareFacilitatorPaymentParameters,
): Promise<LanePayment> {
  const { now, request, wallet, offer, amount, maxLifetimeSeconds } = parameters;
  const payment = await callWallet({
    network: offer.network,
    operation: "sign",
    method: wallet.createExactPayment?.bind(wallet),
    parameters: {
      offer,
      nowSeconds: Math.floor(now() / 1000),
      maxLifetimeSeconds,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    },
  });
  throwIfAborted(request, "record");
  return {
    lane: "facilitator",
    proof: facilitatorProofHeader(offer, payment),
    offer: {
      network: offer.network,
      asset: offer.asset,
      payTo: offer.payTo,
      amount: amount.toString(),
      x402Version: offer.x402Version,
    },
    claim: payment.claim,
    validBefore: payment.validBefore,
    // Who signed it, and what its wallet needs to tell or end its life later (after a restart too).
    laneData: { ...payment.laneData, payer: wallet.address },
  };
}

import type { DirectOffer } from "@tollgate/shared";
import type { LanePayment } from "../../ledger/newLedgerEntry.js";
import { throwIfAborted } from "../../request/aborted.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { callWallet, type PayingWallet } from "../../wallet.js";

/** Parameters of `prepareDirectPayment`. */
export type PrepareDirectPaymentParameters = Readonly<{
  /** The request being paid for: its signal aborts the signing. */
  request: BufferedRequest;
  /** The wallet selection chose for the offer. */
  wallet: PayingWallet;
  offer: DirectOffer;
  /** What to transfer, atomic units: the price, or the offer's minimum when that is higher. */
  amount: bigint;
  /** The origin being paid, bound into the transfer's binding signature. */
  origin: string;
}>;

/**
 * Signs a direct transfer and its binding without broadcasting it, ready for the ledger with the signed transaction, so
 * that it is recorded before it is broadcast (and broadcast again after a restart).
 *
 * @throws `CLIENT__WALLET_FAILED`, `CLIENT__ABORTED`
 */
export async function prepareDirectPayment(parameters: PrepareDirectPaymentParameters): Promise<LanePayment> {
  const { request, wallet, offer, amount, origin } = parameters;
  const prepared = await callWallet({
    network: offer.network,
    operation: "transfer",
    method: wallet.prepareDirectTransfer?.bind(wallet),
    parameters: {
      offer,
      amount,
      origin,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    },
  });
  throwIfAborted(request, "record");
  return {
    lane: "direct",
    proof: { name: offer.headers.tx, value: prepared.tx },
    moreHeaders: {
      [offer.headers.chain]: prepared.network,
      ...(prepared.bindingSignature === undefined
        ? {}
        : { [offer.headers.signature]: prepared.bindingSignature }),
    },
    laneData: {
      raw: prepared.raw,
      confirmations: String(offer.confirmations),
      network: prepared.network,
      // Who signed it: after a restart, the same wallet broadcasts it again through its own RPC.
      payer: wallet.address,
    },
    offer: { network: offer.network, asset: offer.asset, payTo: offer.payTo, amount: amount.toString() },
    claim: prepared.tx,
    validBefore: undefined,
  };
}

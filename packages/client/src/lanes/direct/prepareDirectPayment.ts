import type { DirectOffer } from "@tollgate/shared";
import type { LedgerEntry } from "../../ledger/ledger.js";
import type { LanePayment } from "../../ledger/newLedgerEntry.js";
import type { FeeTracker } from "../../policy/directFees.js";
import { aborted, throwIfAborted } from "../../request/aborted.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { callWallet, type PayingWallet, type PreparedDirectTransfer } from "../../wallet.js";

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
  /** The fee limits of the direct lane: the transfer's maximum fee is held against them before it is broadcast. */
  fees: FeeTracker;
  /** Records the payment in the ledger (before anything is broadcast) and returns its entry. */
  record: (payment: LanePayment) => Promise<LedgerEntry>;
}>;

/**
 * Signs a direct transfer and its binding, holds its maximum fee against `policy.direct.fees`, and records it in the
 * ledger with the signed transaction before it is broadcast (and broadcast again after a restart). A wallet that takes
 * `record` does all of it under its account's send lock and broadcasts right after, so concurrent transfers from one
 * account never share a nonce; for one that does not, the transfer is recorded here and broadcast later.
 *
 * @throws `CLIENT__WALLET_FAILED`, `CLIENT__ABORTED`, `CLIENT__FEE_LIMIT_EXCEEDED` (nothing was broadcast), and
 *   whatever `record` throws
 */
export async function prepareDirectPayment(parameters: PrepareDirectPaymentParameters): Promise<LedgerEntry> {
  const { request, wallet, offer, amount, origin, fees, record } = parameters;
  let entry: LedgerEntry | undefined;
  const keep = async (prepared: PreparedDirectTransfer): Promise<LedgerEntry> => {
    throwIfAborted(request, "record");
    fees.reserve({ tx: prepared.tx, network: prepared.network, origin, fee: prepared.maxFee });
    try {
      return await record(paymentOf(offer, amount, wallet, prepared));
    } catch (error) {
      fees.release(prepared.tx);
      throw error;
    }
  };
  let recordFailure: { error: unknown } | undefined;
  let prepared: PreparedDirectTransfer;
  try {
    prepared = await callWallet({
      network: offer.network,
      operation: "transfer",
      method: wallet.prepareDirectTransfer?.bind(wallet),
      parameters: {
        offer,
        amount,
        origin,
        ...(request.signal === undefined ? {} : { signal: request.signal }),
        record: async (signed: PreparedDirectTransfer) => {
          try {
            entry = await keep(signed);
          } catch (error) {
            recordFailure = { error };
            throw error;
          }
        },
      },
    });
  } catch (error) {
    // Recorded, so it may be broadcast: the recorded proof is what counts, whatever the wallet did after.
    if (entry !== undefined) return entry;
    if (recordFailure !== undefined) throw recordFailure.error;
    throw aborted(request, "sign") ?? error;
  }
  return entry ?? keep(prepared);
}

/** The ledger's view of a signed direct transfer: its proof headers and what re-broadcasting it needs. */
function paymentOf(
  offer: DirectOffer,
  amount: bigint,
  wallet: PayingWallet,
  prepared: PreparedDirectTransfer,
): LanePayment {
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

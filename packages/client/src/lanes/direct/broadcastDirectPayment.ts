import { isTollgateError, TollgateError } from "@tollgate/shared";
import type { LedgerEntry } from "../../ledger/ledger.js";
import { putEntryState } from "../../ledger/putEntryState.js";
import type { PaymentContext } from "../../paymentContext.js";
import { aborted } from "../../request/aborted.js";
import type { BufferedRequest } from "../../request/bufferRequest.js";
import { networkFamily, networkMatches, type PayingWallet } from "../../wallet.js";

/** Parameters of `broadcastDirectPayment`. */
export type BroadcastDirectPaymentParameters = Readonly<{
  context: Pick<PaymentContext, "wallets" | "ledger" | "proofs" | "fees" | "now">;
  request: BufferedRequest;
  /** The wallet that signed the transfer; `undefined` after a restart (the first wallet of its family sends it). */
  wallet: PayingWallet | undefined;
  /** The recorded direct-lane entry, with its signed transaction. */
  entry: LedgerEntry;
}>;

/**
 * Broadcasts a recorded direct transfer (again, if it is already on chain nothing happens) and waits for its
 * confirmations, honouring the request's signal. A transfer that failed on chain, or was replaced by another of its
 * nonce, moved no token: its entry is dead and the budget is given back. Its fee stays counted by the fee budgets
 * (what it paid once it landed, else its maximum), unless it was replaced (it paid none).
 *
 * @throws `CLIENT__WALLET_FAILED` (no wallet can send it, or it failed on chain), `CLIENT__ABORTED`,
 *   `CLIENT__SETTLEMENT_PENDING` (it may be on its way: the entry stays pending)
 */
export async function broadcastDirectPayment(parameters: BroadcastDirectPaymentParameters): Promise<void> {
  const { context, request, wallet, entry } = parameters;
  const { wallets, ledger, proofs, fees, now } = context;
  const data = entry.laneData ?? {};
  const network = data.network ?? entry.offer.network;
  // The wallet that signed it (recorded since), else one that can send on its network: never another chain's RPC.
  const payer =
    wallet ??
    wallets.find(
      (w) =>
        w.sendDirectTransfer !== undefined &&
        w.family === networkFamily(network) &&
        (w.networks === undefined || w.networks.some((n) => networkMatches(n, network))) &&
        (data.payer === undefined || w.address === data.payer),
    );
  if (payer?.sendDirectTransfer === undefined || data.raw === undefined) {
    throw new TollgateError("CLIENT__WALLET_FAILED", {
      context: { network: entry.offer.network, operation: "broadcast" },
    });
  }
  const tx = entry.proof.value;
  try {
    const sent = await payer.sendDirectTransfer({
      network,
      raw: data.raw,
      tx,
      confirmations: Number(data.confirmations ?? "1"),
      ...(request.signal === undefined ? {} : { signal: request.signal }),
    });
    // What it paid replaces the maximum held for its fee.
    fees.settle(tx, sent?.fee);
  } catch (cause) {
    if (isTollgateError(cause, "CLIENT__WALLET_FAILED")) {
      await putEntryState({ ledger, now, entry, state: "refused" });
      proofs.dead(entry);
      // Replaced by another transaction of its nonce: it never ran and paid no fee. A revert paid its fee.
      if (cause.context.operation === "transfer_replaced") fees.release(tx);
      else fees.settle(tx, undefined);
      throw cause;
    }
    // The transfer may be on its way: the entry stays pending and the next call waits for it again.
    throw (
      aborted(request, "confirmations") ??
      new TollgateError("CLIENT__SETTLEMENT_PENDING", {
        context: { url: request.url, retryAfterSeconds: 1 },
        cause,
      })
    );
  }
}

import { type DirectOffer, type FacilitatorOffer, isTollgateError, TollgateError } from "@tollgate/shared";

/** The chain families a wallet can pay on. */
export type WalletFamily = "evm" | "svm";

/** Parameters of `PayingWallet.createExactPayment`. */
export type CreateExactPaymentParameters = Readonly<{
  /** The facilitator-lane offer to pay, as read from the 402. */
  offer: FacilitatorOffer;
  /** The current time in Unix seconds (from the paying fetch's `now`). */
  nowSeconds: number;
  /**
   * The longest life the proof may have, seconds: an EVM wallet signs `validBefore` at most
   * `nowSeconds + min(offer.maxTimeoutSeconds, maxLifetimeSeconds)`, so a refused proof dies soon.
   * @default the offer's `maxTimeoutSeconds`
   */
  maxLifetimeSeconds?: number;
  /** Aborts signing or any look-up the wallet makes. */
  signal?: AbortSignal;
}>;

/** A signed facilitator-lane payment: the scheme's `payload`, ready to wrap in `PAYMENT-SIGNATURE` or `X-PAYMENT`. */
export type ExactPayment = Readonly<{
  /** The `payload` of the `exact` scheme: `{ signature, authorization }` (EVM) or `{ transaction }` (Solana). */
  payload: Readonly<Record<string, unknown>>;
  /** Unix seconds after which the proof can no longer settle (EVM `validBefore`); unknown when absent. */
  validBefore?: number;
  /** What identifies the proof on chain (EVM nonce, Solana message hash), for events and the ledger. */
  claim: string;
  /** What the wallet needs later to tell or end the proof's life (EVM: the EIP-712 domain), kept in the ledger. */
  laneData?: Readonly<Record<string, string>>;
}>;

/**
 * What the chain says about a facilitator-lane proof the wallet signed:
 * - `live`: it can still settle (money may still leave for it);
 * - `dead`: it never settled and never can (EVM: `validBefore` passed by the chain's clock with the nonce unused, or
 *   cancelled by the payer; Solana: its blockhash is no longer valid);
 * - `settled`: it moved the money.
 */
export type ExactProofState = "live" | "dead" | "settled";

/** Parameters of `PayingWallet.checkExactProof` and `PayingWallet.cancelExactProof`: a recorded proof. */
export type ExactProofParameters = Readonly<{
  network: string;
  /** The token contract or mint the proof pays with. */
  asset: string;
  /** The proof's on-chain identity, as `createExactPayment` returned it (EVM nonce). */
  claim: string;
  /** Unix seconds after which the proof can no longer settle, as `createExactPayment` returned it. */
  validBefore: number | undefined;
  /** What `createExactPayment` returned as `laneData`. */
  laneData: Readonly<Record<string, string>> | undefined;
  signal?: AbortSignal;
}>;

/** Parameters of `PayingWallet.prepareDirectTransfer`. */
export type PrepareDirectTransferParameters = Readonly<{
  /** The direct-lane offer to pay. */
  offer: DirectOffer;
  /** What to transfer, atomic units: the price, or the offer's minimum when that is higher. */
  amount: bigint;
  /** `new URL(requestUrl).origin`, bound into the `X-PAYMENT-TX-SIG` message. */
  origin: string;
  signal?: AbortSignal;
  /**
   * Records the signed transfer before anything is broadcast. A wallet that supports it calls it once, while it holds
   * the account's send lock (from choosing the nonce until the node has the transaction), then broadcasts the transfer
   * before releasing the lock, so that concurrent transfers from one account never share a nonce. Whatever `record`
   * throws is thrown unchanged and nothing is broadcast. A wallet that never calls it still works: the paying fetch
   * then records the transfer itself and `sendDirectTransfer` broadcasts it.
   * @default undefined
   */
  record?: (prepared: PreparedDirectTransfer) => Promise<void>;
}>;

/** A signed, not yet broadcast, direct transfer and its proof. */
export type PreparedDirectTransfer = Readonly<{
  /** `X-PAYMENT-TX`: the transaction hash (EVM, lowercase 0x) or signature (Solana, base58). */
  tx: string;
  /** `X-PAYMENT-CHAIN`: the canonical CAIP-2 id. */
  network: string;
  /** `X-PAYMENT-TX-SIG`: the binding signature of `directBindingMessage`, when the wallet can sign one. */
  bindingSignature?: string;
  /** The signed transaction, to broadcast (again, after a restart). */
  raw: string;
  /**
   * The most the signed transaction can cost in the network's native unit (wei, lamports): EVM gas limit × max fee
   * per gas, Solana signatures × 5000 + the priority fee. Checked against `policy.direct.fees` before it is broadcast.
   * Unknown when absent (a policy with a fee limit for the network then refuses it).
   */
  maxFee?: bigint;
}>;

/** Parameters of `PayingWallet.sendDirectTransfer`. */
export type SendDirectTransferParameters = Readonly<{
  network: string;
  raw: string;
  tx: string;
  /** Confirmations to wait for before the proof is presented. */
  confirmations: number;
  /** Aborts the wait (and any look-up) at once, with the signal's reason. */
  signal?: AbortSignal;
}>;

/** What a direct transfer cost once it landed. */
export type SentDirectTransfer = Readonly<{
  /** The fee paid, in the network's native unit (wei, lamports); unknown when absent. */
  fee?: bigint;
}>;

/**
 * A wallet the paying fetch can spend from: a minimal structural capability, so any signer of this shape works.
 * Build one with `createEvmWallet` (`@tollgate/client/evm`) or `createSvmWallet` (`@tollgate/client/svm`).
 */
export type PayingWallet = Readonly<{
  family: WalletFamily;
  /** The payer's address (EVM 0x address, Solana base58 public key). */
  address: string;
  /**
   * CAIP-2 networks this wallet pays on; `undefined` means every network of its family.
   * Patterns such as `eip155:*` are allowed.
   */
  networks?: readonly string[];
  /**
   * Why this wallet cannot pay a facilitator-lane offer (a short snake_case reason), or `undefined` when it can.
   * Called during selection, before any budget is reserved.
   */
  checkExactOffer?(offer: FacilitatorOffer): string | undefined;
  /**
   * Signs a facilitator-lane (`exact` scheme) payment for an offer that `checkExactOffer` accepted.
   * @throws `CLIENT__WALLET_FAILED`
   */
  createExactPayment?(parameters: CreateExactPaymentParameters): Promise<ExactPayment>;
  /**
   * Reads from the chain whether a proof this wallet signed can still settle. Without it, a refused proof counts as
   * spent (against `maxPerRequest` of its request and the budgets) for as long as the paying fetch lives.
   * @throws `CHAIN__CALL_FAILED` (the chain could not be read: the proof stays live)
   */
  checkExactProof?(parameters: ExactProofParameters): Promise<ExactProofState>;
  /**
   * Kills a proof this wallet signed on chain (EVM: sends `cancelAuthorization`, paying gas), so that a second
   * payment for the same request may be made: `dead` once the cancellation is mined, `settled` when the proof had
   * already moved the money.
   * @throws `CLIENT__WALLET_FAILED`, `CHAIN__CALL_FAILED` (the proof stays live)
   */
  cancelExactProof?(parameters: ExactProofParameters): Promise<Exclude<ExactProofState, "live">>;
  /** Why this wallet cannot pay a direct-lane offer, or `undefined` when it can. */
  checkDirectOffer?(offer: DirectOffer): string | undefined;
  /**
   * Signs a direct transfer and its binding without broadcasting it, so that the proof is recorded first.
   * @throws `CLIENT__WALLET_FAILED`
   */
  prepareDirectTransfer?(parameters: PrepareDirectTransferParameters): Promise<PreparedDirectTransfer>;
  /**
   * Broadcasts a prepared transfer (doing nothing if the chain already has it) and waits for its confirmations,
   * honouring `signal` throughout. Rejects with `CLIENT__WALLET_FAILED` only when the transfer can provably never
   * move the token (it reverted, it was replaced by another transaction of the same nonce, or it can no longer land);
   * with anything else while it may still land.
   * @throws `CLIENT__WALLET_FAILED` (dead on chain), `CHAIN__CALL_FAILED` (the RPC failed), the signal's reason
   */
  // biome-ignore lint/suspicious/noConfusingVoidType: wallets written before fees were reported resolve nothing
  sendDirectTransfer?(parameters: SendDirectTransferParameters): Promise<SentDirectTransfer | void>;
}>;

/** The wallet family that pays on a CAIP-2 network (`eip155:*` EVM, `solana:*` Solana), or `undefined`. */
export function networkFamily(network: string): WalletFamily | undefined {
  if (network.startsWith("eip155:")) return "evm";
  if (network.startsWith("solana:")) return "svm";
  return undefined;
}

/** Whether a network id matches a pattern: equal, or `family:*`. */
export function networkMatches(pattern: string, network: string): boolean {
  if (pattern === network) return true;
  if (pattern.endsWith(":*")) return network.startsWith(pattern.slice(0, -1));
  return false;
}

/** Parameters of `callWallet`. */
export type CallWalletParameters<P, T> = Readonly<{
  /** The network of the offer being paid, for the error. */
  network: string;
  /** What the wallet is asked to do (`sign`, `transfer`), for the error. */
  operation: string;
  /** The wallet's method, bound to the wallet; `undefined` when the wallet lacks it. */
  method: ((parameters: P) => Promise<T>) | undefined;
  /** What the method is called with. */
  parameters: P;
}>;

/**
 * Calls one optional wallet method. A missing method, or a failure that is not already a `TollgateError`, is
 * `CLIENT__WALLET_FAILED` (with the failure as its cause); the wallet's own `TollgateError` passes through.
 * @throws `CLIENT__WALLET_FAILED`, or the wallet's own `TollgateError`
 */
export async function callWallet<P, T>(parameters: CallWalletParameters<P, T>): Promise<T> {
  const { network, operation, method } = parameters;
  if (method === undefined) {
    throw new TollgateError("CLIENT__WALLET_FAILED", { context: { network, operation } });
  }
  try {
    return await method(parameters.parameters);
  } catch (cause) {
    if (isTollgateError(cause)) throw cause;
    throw new TollgateError("CLIENT__WALLET_FAILED", { context: { network, operation }, cause });
  }
}

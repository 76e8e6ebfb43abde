import type { FacilitatorChainChecks } from "../facilitatorChainChecks.js";

/** One token transfer a transaction made, as the direct lane reads it. */
export type DirectTransfer = Readonly<{
  /** Token contract (EVM) or mint (Solana). */
  asset: string;
  /** EVM: the `Transfer`'s `from`; Solana: the owner of the source token account. */
  from: string;
  /** EVM: the `Transfer`'s `to`; Solana: the owner of the destination token account. */
  to: string;
  /** Atomic units. */
  amount: bigint;
  /**
   * Whether the sender made this transfer itself: it submitted the transaction and paid its fee (EVM: the
   * transaction's `from`; Solana: its fee payer), and no signed authorization of the sender executed it (EVM: the
   * token logged no EIP-3009 `AuthorizationUsed` by the sender). `false` is how a facilitator settles an x402
   * payment (it submits the payer's signed authorization or transaction and pays the fee): such a transfer pays
   * for a facilitator-lane request, here or on another server of the same payee, and the direct lane refuses it
   * (`direct_tx_relayed`).
   */
  submittedBySender: boolean;
}>;

/** What a chain says about a transaction the client claims to have made. */
export type DirectTransaction =
  | Readonly<{ status: "not_found" }>
  | Readonly<{ status: "failed" }>
  | Readonly<{
      status: "success";
      transfers: readonly DirectTransfer[];
      /** Blocks (EVM) on top of and including the transaction's; for Solana 1 when at the required commitment. */
      confirmations: number;
      /** Block time, Unix seconds. */
      timestamp: number;
    }>;

/**
 * What the direct lane needs from one chain: read a transaction's transfers, and check a binding signature.
 * `createEvmDirectChain` (`@tollgate/server/evm`) implements it for EVM networks.
 */
export type DirectChain = Readonly<{
  /** CAIP-2 id of the chain. */
  network: string;
  /** Whether `tx` is a transaction id of this chain's family (EVM: 0x + 64 hex; Solana: base58 signature). */
  isTransactionId(tx: string): boolean;
  /** The canonical form of a transaction id (EVM: lowercase). */
  canonicalTransactionId(tx: string): string;
  /** Looks the transaction up. Rejects only for infrastructure failures (RPC down). */
  getTransaction(parameters: Readonly<{ tx: string; signal?: AbortSignal }>): Promise<DirectTransaction>;
  /** Whether `signature` signs `message` by `signer` (EVM: EIP-191; Solana: ed25519). */
  verifyBinding(
    parameters: Readonly<{ message: string; signature: string; signer: string }>,
  ): Promise<boolean>;
  /** Compares two addresses of this chain (EVM: case-insensitive). */
  sameAddress(a: string, b: string): boolean;
  /**
   * The facilitator lane's checks on this network, built from the same RPC: the paywall uses them unless
   * `settlementChecks` / `signatureChecks` name the network.
   * @default none
   */
  facilitatorChecks?: FacilitatorChainChecks;
}>;

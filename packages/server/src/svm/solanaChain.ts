import {
  type Connection,
  type Keypair,
  PublicKey,
  SendTransactionError,
  type TransactionError,
  type VersionedTransaction,
} from "@solana/web3.js";
import { TollgateError } from "@tollgate/shared";
import { keypairSigner } from "./ed25519.js";

/** A commitment level the facilitator waits for. */
export type SolanaCommitment = "processed" | "confirmed" | "finalized";

/** An account as the chain stores it: the program that owns it, its lamports and raw data. */
export type SolanaAccount = Readonly<{
  /** Base58 program that owns the account (SPL Token for a token account). */
  programId: string;
  lamports: bigint;
  data: Uint8Array;
}>;

/** The outcome of simulating a transaction: fine, or the chain's error with the program logs. */
export type SolanaSimulation =
  | Readonly<{ ok: true; logs: readonly string[] }>
  | Readonly<{ ok: false; error: string; logs: readonly string[] }>;

/**
 * The outcome of sending: accepted for processing (it may still fail on chain: `confirm` tells), or refused
 * before broadcast (the preflight simulation failed, or the chain had already processed it).
 */
export type SolanaSendOutcome =
  | Readonly<{ ok: true; signature: string }>
  | Readonly<{ ok: false; error: string; alreadyProcessed: boolean }>;

/** Where a transaction is: not seen, or landed at some commitment (with its error when it failed). */
export type SolanaSignatureStatus =
  | Readonly<{ status: "unknown" }>
  | Readonly<{ status: SolanaCommitment; slot: bigint; error: string | null }>;

/** The outcome of waiting for a transaction: landed at the chain's commitment, landed and failed, or not yet. */
export type SolanaConfirmation =
  | Readonly<{ status: "confirmed"; slot: bigint }>
  | Readonly<{ status: "failed"; slot: bigint; error: string }>
  | Readonly<{ status: "pending" }>;

/**
 * Everything the Solana `exact` facilitator needs from one cluster: its fee payer keys and a way to sign with
 * them, account reads, a simulation, one send, and confirmation. A small interface so that an in-process bank
 * (tests) and a JSON-RPC `Connection` (production) plug in the same way. Methods may throw on infrastructure
 * failures; the scheme wraps every call in a deadline.
 *
 * @example
 * ```ts
 * import type { SolanaChain } from "@tollgate/server/svm";
 * // Wrap a chain, e.g. to count simulations:
 * const counted = (chain: SolanaChain): SolanaChain => ({
 *   ...chain,
 *   simulate: (transaction) => (simulations++, chain.simulate(transaction)),
 * });
 * ```
 */
export type SolanaChain = Readonly<{
  /** CAIP-2 id, `solana:<genesis hash prefix>`. */
  network: string;
  /** Base58 public keys of the fee payers this chain signs for; the first is offered in `/supported`. */
  feePayers: readonly string[];
  /** Signs `message` (a serialized transaction message) as `feePayer`; returns the 64-byte signature. */
  signAsFeePayer(message: Uint8Array, feePayer: string): Promise<Uint8Array>;
  getLatestBlockhash(): Promise<Readonly<{ blockhash: string; lastValidBlockHeight: bigint }>>;
  /** Reads accounts in one round trip; `null` where no account exists. */
  getAccounts(addresses: readonly string[]): Promise<readonly (SolanaAccount | null)[]>;
  /** Simulates a fully signed transaction, verifying its signatures. */
  simulate(transaction: VersionedTransaction): Promise<SolanaSimulation>;
  /** Sends a fully signed transaction after a preflight simulation. Throws when it is unknown whether it went out. */
  send(transaction: VersionedTransaction): Promise<SolanaSendOutcome>;
  /** Waits up to `timeoutMs` for the transaction to reach the chain's commitment. */
  confirm(signature: string, options: Readonly<{ timeoutMs: number }>): Promise<SolanaConfirmation>;
  getSignatureStatus(signature: string): Promise<SolanaSignatureStatus>;
}>;

/** Parameters of `createConnectionSolanaChain`. */
export type CreateConnectionSolanaChainParameters = Readonly<{
  /** A `@solana/web3.js` 1.x connection to the cluster. */
  connection: Connection;
  /**
   * CAIP-2 id of the cluster behind `connection`, e.g. `solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp` (mainnet) or
   * `solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1` (devnet). Required: a wrong cluster must not be guessed.
   */
  network: string;
  /** The fee payer that co-signs and pays for settlements; it must hold SOL. */
  feePayer: Keypair;
  /**
   * The commitment for reads, simulations, preflight, and confirmation.
   * @default "confirmed"
   */
  commitment?: SolanaCommitment;
  /**
   * How often to poll the signature status while confirming, in milliseconds.
   * @default 400
   */
  pollingIntervalMs?: number;
  /**
   * How many times the RPC node re-broadcasts a sent transaction.
   * @default undefined (the node's default: until the blockhash expires)
   */
  maxRetries?: number;
}>;

const commitmentRank: Readonly<Record<SolanaCommitment, number>> = {
  processed: 0,
  confirmed: 1,
  finalized: 2,
};

const errorText = (error: TransactionError | string | null | undefined): string =>
  typeof error === "string" ? error : JSON.stringify(error);

/** Whether a send or preflight failure says the transaction was processed before (by signature). */
const saysAlreadyProcessed = (text: string) => /AlreadyProcessed|already been processed/i.test(text);

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A `SolanaChain` over a `@solana/web3.js` 1.x `Connection` and a fee payer keypair: production settlement on any
 * Solana JSON-RPC endpoint. Sends with a preflight simulation at the chain's commitment and confirms by polling
 * `getSignatureStatuses` (no websocket needed). The connection reads whole RPC answers: build it with
 * `{ fetch: createBoundedFetch() }` (of `@tollgate/server`) to bound them.
 *
 * @example
 * ```ts
 * import { Connection, Keypair } from "@solana/web3.js";
 * import { createConnectionSolanaChain, createExactSvmScheme } from "@tollgate/server/svm";
 * const chain = createConnectionSolanaChain({
 *   connection: new Connection("https://api.mainnet-beta.solana.com"),
 *   network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
 *   feePayer: Keypair.fromSecretKey(secretKey),
 * });
 * const scheme = createExactSvmScheme({ chains: [chain] });
 * ```
 * @throws `SERVER__INVALID_CONFIG` when `network` is not a Solana CAIP-2 id.
 */
export function createConnectionSolanaChain(parameters: CreateConnectionSolanaChainParameters): SolanaChain {
  const {
    connection,
    network,
    feePayer,
    commitment = "confirmed",
    pollingIntervalMs = 400,
    maxRetries,
  } = parameters;
  if (!/^solana:[1-9A-HJ-NP-Za-km-z]{32}$/.test(network)) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "network", reason: `"${network}" is not a Solana CAIP-2 id` },
    });
  }
  const feePayerAddress = feePayer.publicKey.toBase58();
  const sign = keypairSigner(feePayer);

  async function getSignatureStatus(
    signature: string,
    searchTransactionHistory: boolean,
  ): Promise<SolanaSignatureStatus> {
    const { value } = await connection.getSignatureStatus(signature, { searchTransactionHistory });
    if (value === null) return { status: "unknown" };
    return {
      // Nodes before 1.5.5 omit confirmationStatus; `confirmations: null` means rooted there.
      status: value.confirmationStatus ?? (value.confirmations === null ? "finalized" : "processed"),
      slot: BigInt(value.slot),
      error: value.err === null ? null : errorText(value.err),
    };
  }

  return Object.freeze({
    network,
    feePayers: Object.freeze([feePayerAddress]),
    async signAsFeePayer(message: Uint8Array, signer: string): Promise<Uint8Array> {
      if (signer !== feePayerAddress) {
        throw new TollgateError("SERVER__INVALID_CONFIG", {
          context: { option: "feePayer", reason: `this chain does not hold the key of ${signer}` },
        });
      }
      return sign(message);
    },
    async getLatestBlockhash() {
      const { blockhash, lastValidBlockHeight } = await connection.getLatestBlockhash(commitment);
      return { blockhash, lastValidBlockHeight: BigInt(lastValidBlockHeight) };
    },
    async getAccounts(addresses: readonly string[]) {
      const infos = await connection.getMultipleAccountsInfo(
        addresses.map((address) => new PublicKey(address)),
        commitment,
      );
      return infos.map((info) =>
        info === null
          ? null
          : {
              programId: info.owner.toBase58(),
              lamports: BigInt(info.lamports),
              data: new Uint8Array(info.data),
            },
      );
    },
    async simulate(transaction: VersionedTransaction): Promise<SolanaSimulation> {
      const { value } = await connection.simulateTransaction(transaction, {
        sigVerify: true,
        replaceRecentBlockhash: false,
        commitment,
      });
      const logs = Object.freeze([...(value.logs ?? [])]);
      return value.err === null ? { ok: true, logs } : { ok: false, error: errorText(value.err), logs };
    },
    async send(transaction: VersionedTransaction): Promise<SolanaSendOutcome> {
      try {
        const signature = await connection.sendRawTransaction(transaction.serialize(), {
          skipPreflight: false,
          preflightCommitment: commitment,
          ...(maxRetries === undefined ? {} : { maxRetries }),
        });
        return { ok: true, signature };
      } catch (error) {
        // A JSON-RPC error answer means the node refused it (preflight, sigverify…) and forwarded nothing;
        // anything else (connection reset, timeout) leaves it unknown: rethrow.
        if (!(error instanceof SendTransactionError)) throw error;
        const text = error.transactionError.message;
        return { ok: false, error: text, alreadyProcessed: saysAlreadyProcessed(text) };
      }
    },
    async confirm(signature: string, options: Readonly<{ timeoutMs: number }>): Promise<SolanaConfirmation> {
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const status = await getSignatureStatus(signature, false);
        // Only an outcome at the chain's commitment counts: a fork may still drop a processed one.
        if (status.status !== "unknown" && commitmentRank[status.status] >= commitmentRank[commitment]) {
          return status.error === null
            ? { status: "confirmed", slot: status.slot }
            : { status: "failed", slot: status.slot, error: status.error };
        }
        const left = deadline - Date.now();
        if (left <= 0) return { status: "pending" };
        await sleep(Math.min(pollingIntervalMs, left));
      }
    },
    getSignatureStatus: (signature: string) => getSignatureStatus(signature, true),
  });
}

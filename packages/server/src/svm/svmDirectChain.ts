import type { Connection } from "@solana/web3.js";
import { decodeBase58, TollgateError } from "@tollgate/shared";
import type { DirectChain, DirectTransaction, DirectTransfer } from "../verify/direct/directChain.js";
import { verifyEd25519 } from "./ed25519.js";
import { createSvmSettlementCheck } from "./settlementCheck.js";

/** One SPL token account's balance in a transaction, as `meta.pre/postTokenBalances` give it. */
export type SolanaTokenBalance = Readonly<{
  accountIndex: number;
  /** Base58 mint. */
  mint: string;
  /** Base58 owner of the token account. */
  owner: string;
  /** Atomic units. */
  amount: bigint;
}>;

/** What the Solana direct lane reads of a transaction: success, block time and token balances before and after. */
export type SolanaTransferView = Readonly<{
  failed: boolean;
  /**
   * Base58 fee payer (account key 0). A transfer whose source owner is not the fee payer was submitted by someone
   * else (how a facilitator settles an x402 payment) and does not count on the direct lane.
   */
  feePayer: string;
  /** Unix seconds; `undefined` when the node does not know it (then the transfer counts as too old). */
  blockTime: number | undefined;
  preTokenBalances: readonly SolanaTokenBalance[];
  postTokenBalances: readonly SolanaTokenBalance[];
}>;

/**
 * Reads a transaction by signature at the commitment the server requires; `undefined` when it is not there
 * (yet). `createConnectionTransactionReader` reads it over JSON-RPC; tests read the Solana bank's record.
 */
export type SolanaTransactionReader = (signature: string) => Promise<SolanaTransferView | undefined>;

/** Parameters of `createSvmDirectChain`. */
export type CreateSvmDirectChainParameters = Readonly<{
  /** CAIP-2 id of the cluster, e.g. `"solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp"`. */
  network: string;
  /**
   * How transactions are read.
   * @default createConnectionTransactionReader({ connection, commitment }) (then `connection` is required)
   */
  read?: SolanaTransactionReader;
  /**
   * The cluster's RPC: reads transfers when `read` is not given, and gives the facilitator lane a settlement
   * check on this network (`createSvmSettlementCheck`), so a lost `/settle` answer is resolved on chain.
   * @default none
   */
  connection?: Pick<Connection, "getParsedTransaction" | "getSignaturesForAddress" | "getTransaction">;
  /**
   * The commitment of transfers and settlements read through `connection`.
   * @default "confirmed"
   */
  commitment?: "confirmed" | "finalized";
}>;

/** Decodes base58, or `undefined` when it is not base58 (a malformed proof is a refusal, not an error). */
function decodeBase58OrUndefined(text: string): Uint8Array | undefined {
  try {
    return decodeBase58({ value: text });
  } catch {
    return undefined;
  }
}

/**
 * The transfers a transaction made, from its token balance changes (DESIGN §4: the Solana direct lane decides
 * on the payee's owner + mint balance change, so a `transfer`, a `transferChecked` or an inner instruction
 * count alike). Each owner whose balance of a mint rose received that much, from the owner whose balance of
 * that mint fell most; it was submitted by its sender when that owner is the fee payer.
 */
export function transfersOf(view: SolanaTransferView): DirectTransfer[] {
  const deltas = new Map<string, { owner: string; mint: string; delta: bigint }>();
  const add = (balance: SolanaTokenBalance, sign: bigint) => {
    const key = `${balance.owner}|${balance.mint}`;
    const entry = deltas.get(key) ?? { owner: balance.owner, mint: balance.mint, delta: 0n };
    entry.delta += sign * balance.amount;
    deltas.set(key, entry);
  };
  for (const balance of view.postTokenBalances) add(balance, 1n);
  for (const balance of view.preTokenBalances) add(balance, -1n);
  const entries = [...deltas.values()];
  const transfers: DirectTransfer[] = [];
  for (const received of entries) {
    if (received.delta <= 0n) continue;
    let sender: { owner: string; delta: bigint } | undefined;
    for (const e of entries) {
      if (e.mint === received.mint && e.delta < 0n && (sender === undefined || e.delta < sender.delta))
        sender = e;
    }
    const from = sender?.owner ?? "";
    transfers.push({
      asset: received.mint,
      from,
      to: received.owner,
      amount: received.delta,
      submittedBySender: from !== "" && from === view.feePayer,
    });
  }
  return transfers;
}

/**
 * The direct lane's view of a Solana cluster: reads a transaction's token balance changes at the required
 * commitment, and checks the binding: base58 of the ed25519 signature by the owner of the transfer's source
 * token account over the binding message. Pass it as `direct.networks[].chain` to `createPaywall`. Built with a
 * `connection`, it also gives the facilitator lane a settlement check on its cluster.
 * @throws `SERVER__INVALID_CONFIG` when neither `read` nor `connection` is given.
 *
 * @example
 * ```ts
 * import { Connection } from "@solana/web3.js";
 * import { createConnectionTransactionReader, createSvmDirectChain } from "@tollgate/server/svm";
 * const connection = new Connection(process.env.SOLANA_RPC_URL);
 * const chain = createSvmDirectChain({
 *   network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
 *   read: createConnectionTransactionReader({ connection }),
 * });
 * createPaywall({ …, direct: { networks: [{ chain, payTo: "YourSolanaAddress…" }] } });
 * ```
 */
export function createSvmDirectChain(parameters: CreateSvmDirectChainParameters): DirectChain {
  const { network, connection, commitment = "confirmed" } = parameters;
  const read =
    parameters.read ??
    (connection === undefined ? undefined : createConnectionTransactionReader({ connection, commitment }));
  if (read === undefined) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "createSvmDirectChain.read", reason: "pass `read` or a `connection`" },
    });
  }
  return Object.freeze({
    network,
    ...(connection === undefined
      ? {}
      : { facilitatorChecks: { settlementCheck: createSvmSettlementCheck({ connection, commitment }) } }),
    isTransactionId: (tx: string) =>
      /^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(tx) && decodeBase58OrUndefined(tx)?.length === 64,
    canonicalTransactionId: (tx: string) => tx,
    async getTransaction({ tx }: { tx: string }): Promise<DirectTransaction> {
      const view = await read(tx);
      if (view === undefined) return { status: "not_found" };
      if (view.failed) return { status: "failed" };
      // Only views at the required commitment are returned: that is the one confirmation asked for.
      return {
        status: "success",
        transfers: transfersOf(view),
        confirmations: 1,
        timestamp: view.blockTime ?? 0,
      };
    },
    async verifyBinding({ message, signature, signer }): Promise<boolean> {
      const publicKey = decodeBase58OrUndefined(signer);
      const bytes = decodeBase58OrUndefined(signature);
      if (publicKey === undefined || bytes === undefined) return false;
      return verifyEd25519(publicKey, new TextEncoder().encode(message), bytes);
    },
    sameAddress: (a: string, b: string) => a === b,
  });
}

/** Parameters of `createConnectionTransactionReader`. */
export type CreateConnectionTransactionReaderParameters = Readonly<{
  /** A `@solana/web3.js` connection (only `getParsedTransaction` is called). */
  connection: Pick<Connection, "getParsedTransaction">;
  /**
   * The commitment a transfer must have reached.
   * @default "confirmed"
   */
  commitment?: "confirmed" | "finalized";
}>;

/**
 * Reads transactions for the Solana direct lane over JSON-RPC `getParsedTransaction` (v0 transactions included):
 * its error, fee payer, block time and `meta.pre/postTokenBalances` (owner, mint, atomic amount).
 *
 * @example
 * ```ts
 * import { Connection } from "@solana/web3.js";
 * import { createConnectionTransactionReader } from "@tollgate/server/svm";
 * const read = createConnectionTransactionReader({ connection: new Connection(rpcUrl), commitment: "finalized" });
 * ```
 */
export function createConnectionTransactionReader(
  parameters: CreateConnectionTransactionReaderParameters,
): SolanaTransactionReader {
  const { connection, commitment = "confirmed" } = parameters;
  type Parsed = NonNullable<Awaited<ReturnType<Connection["getParsedTransaction"]>>>;
  type RpcBalance = NonNullable<NonNullable<Parsed["meta"]>["preTokenBalances"]>[number];
  const balances = (list: readonly RpcBalance[] | null | undefined): SolanaTokenBalance[] =>
    (list ?? []).flatMap((b) =>
      b.owner === undefined || !/^[0-9]+$/.test(b.uiTokenAmount.amount)
        ? []
        : [
            {
              accountIndex: b.accountIndex,
              mint: b.mint,
              owner: b.owner,
              amount: BigInt(b.uiTokenAmount.amount),
            },
          ],
    );
  return async (signature) => {
    const parsed = await connection.getParsedTransaction(signature, {
      commitment,
      maxSupportedTransactionVersion: 0,
    });
    if (parsed === null) return undefined;
    const meta = parsed.meta;
    return {
      failed: meta === null || meta.err !== null,
      // An answer without its message names no fee payer: none of its transfers then counts as the sender's own.
      feePayer: parsed.transaction?.message?.accountKeys?.[0]?.pubkey.toBase58() ?? "",
      blockTime: parsed.blockTime ?? undefined,
      preTokenBalances: balances(meta?.preTokenBalances),
      postTokenBalances: balances(meta?.postTokenBalances),
    };
  };
}

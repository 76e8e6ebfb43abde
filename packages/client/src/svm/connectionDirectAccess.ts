import { type Connection, SendTransactionError, type SignatureStatus } from "@solana/web3.js";
import { encodeBase58 } from "@tollgate/shared";
import { abortableSleep } from "../request/abortableSleep.js";
import { untilAborted } from "../request/untilAborted.js";
import type { SvmConfirmParameters, SvmDirectAccess } from "./svmWallet.js";

/** Parameters of `createConnectionDirectAccess`. */
export type CreateConnectionDirectAccessParameters = Readonly<{
  /** A `@solana/web3.js` connection to the cluster the payments go to. */
  connection: Pick<Connection, "sendRawTransaction" | "getSignatureStatuses" | "isBlockhashValid">;
  /**
   * The commitment a transfer must reach before the wallet presents it; match what the server asks.
   * @default "confirmed"
   */
  commitment?: "confirmed" | "finalized";
  /**
   * How often to poll the signature status while waiting.
   * @default 500
   */
  pollingIntervalMs?: number;
}>;

const rank = { processed: 0, confirmed: 1, finalized: 2 } as const;
/** How many refused sends to remember until their confirmation is asked. */
const maxRemembered = 1024;

/**
 * The direct lane's chain access over JSON-RPC: sends with preflight, then polls `getSignatureStatuses` until
 * the transfer reaches the commitment, or until its blockhash has expired without it landing (then it never
 * will). A send the node refused at preflight (a JSON-RPC error: it forwarded nothing) fails at once, unless the
 * chain already has that transaction. Polling needs no websocket endpoint, so it works behind any HTTP RPC
 * provider.
 *
 * @example
 * ```ts
 * import { Connection, Keypair } from "@solana/web3.js";
 * import { createConnectionDirectAccess, createSvmWallet } from "@tollgate/client/svm";
 * const connection = new Connection("https://api.mainnet-beta.solana.com", "confirmed");
 * const wallet = createSvmWallet({
 *   keypair: Keypair.fromSecretKey(secretKey),
 *   rpc: connection,
 *   direct: createConnectionDirectAccess({ connection }),
 * });
 * ```
 */
export function createConnectionDirectAccess(
  parameters: CreateConnectionDirectAccessParameters,
): SvmDirectAccess {
  const { connection, commitment = "confirmed", pollingIntervalMs = 500 } = parameters;

  const reached = (status: SignatureStatus) =>
    rank[status.confirmationStatus ?? (status.confirmations === null ? "finalized" : "processed")] >=
    rank[commitment];

  async function statusOf(
    signature: string,
    signal: AbortSignal | undefined,
  ): Promise<SignatureStatus | null> {
    const { value } = await untilAborted(
      connection.getSignatureStatuses([signature], { searchTransactionHistory: true }),
      signal,
    );
    return value[0] ?? null;
  }

  /** Signatures whose send the node refused at preflight for a reason other than "already processed". */
  const refused = new Set<string>();

  return Object.freeze({
    async sendTransaction(transaction) {
      try {
        return await connection.sendRawTransaction(transaction.serialize(), {
          skipPreflight: false,
          preflightCommitment: commitment,
        });
      } catch (error) {
        const first = transaction.signatures[0];
        // Not definitive: the chain already has it, or a lagging node does not know its blockhash yet while an
        // earlier copy may still land. Those are left to polling until the blockhash expires.
        const undecided =
          error instanceof SendTransactionError &&
          /AlreadyProcessed|already been processed|BlockhashNotFound|blockhash not found/i.test(
            error.transactionError.message,
          );
        if (error instanceof SendTransactionError && !undecided && first !== undefined) {
          if (refused.size >= maxRemembered) refused.clear();
          refused.add(encodeBase58(first));
        }
        throw error;
      }
    },
    async confirm({ signature, recentBlockhash, signal }: SvmConfirmParameters): Promise<boolean> {
      for (;;) {
        signal?.throwIfAborted();
        const status = await statusOf(signature, signal);
        if (status !== null && reached(status)) return status.err === null;
        if (status === null && refused.delete(signature)) return false;
        if (status === null) {
          const { value: valid } = await untilAborted(
            connection.isBlockhashValid(recentBlockhash, { commitment }),
            signal,
          );
          // Expired: it can no longer land. One more look closes the race with a last-moment landing.
          if (!valid) {
            const last = await statusOf(signature, signal);
            if (last === null) return false;
            if (reached(last)) return last.err === null;
          }
        }
        await abortableSleep(pollingIntervalMs, signal);
      }
    },
  });
}

import type { SolanaTransactionReader } from "@tollgate/server/svm";
import type { SolanaBank } from "./solanaBank.js";

/** Parameters of `createBankTransactionReader`. */
export type CreateBankTransactionReaderParameters = Readonly<{ bank: SolanaBank }>;

/**
 * The direct lane's transaction reader over the bank: what `getParsedTransaction` would say of a transaction
 * processed through `bank.processTransaction` (failed or not, fee payer, block time, token balances with owner and mint).
 * Pass it to `createSvmDirectChain` of `@tollgate/server/svm`.
 *
 * @example
 * ```ts
 * import { createSvmDirectChain } from "@tollgate/server/svm";
 * import { createBankTransactionReader, startSolanaBank } from "@tollgate/testing";
 * const bank = await startSolanaBank();
 * const chain = createSvmDirectChain({ network: bank.network.caip2, read: createBankTransactionReader({ bank }) });
 * ```
 */
export function createBankTransactionReader(
  parameters: CreateBankTransactionReaderParameters,
): SolanaTransactionReader {
  const { bank } = parameters;
  return async (signature) => {
    const recorded = bank.getRecordedTransaction(signature);
    if (recorded === undefined) return undefined;
    return {
      failed: recorded.err !== null,
      feePayer: recorded.feePayer,
      blockTime: Number(recorded.blockTime),
      preTokenBalances: recorded.preTokenBalances,
      postTokenBalances: recorded.postTokenBalances,
    };
  };
}

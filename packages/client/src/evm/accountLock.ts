import { createKeyLock } from "../request/createKeyLock.js";

/** One queue per `<chainId>:<address>` (lower case), for the whole process. */
const accountLock = createKeyLock();

/**
 * The send lock of an EVM account on one chain, shared by every wallet of that account in this process: each task
 * that sends a transaction from the account (a direct transfer, a `cancelAuthorization`) runs from choosing its nonce
 * until the node has the transaction, one at a time, so the next one takes the nonce the node counts past it.
 *
 * @example
 * ```ts
 * await withAccountLock({ chainId: 84532, address: from }, async () => {
 *   const request = await prepareTransactionRequest(client, { account, to, data });
 *   await sendRawTransaction(client, { serializedTransaction: await account.signTransaction(request) });
 * });
 * ```
 * @throws whatever `task` throws
 */
export function withAccountLock<T>(
  account: Readonly<{ chainId: number; address: string }>,
  task: () => Promise<T>,
): Promise<T> {
  return accountLock(`${account.chainId}:${account.address.toLowerCase()}`, task);
}

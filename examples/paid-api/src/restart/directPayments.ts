import { directBindingMessage } from "@tollgate/shared";
import { type EvmChain, evmPayeeAccounts, evmPayerAccounts } from "@tollgate/testing";
import { createWalletClient, type Hex, http } from "viem";
import type { ReferenceServer } from "./referenceServer.js";

/** Who pays the reference server's direct lane in the process tests (it holds USDC and ETH for gas). */
export const directSender = evmPayerAccounts[1];
/** Where the reference server's direct lane is paid (`X402_BASE_PAYMENT_ADDRESS`). */
export const directPayee = evmPayeeAccounts[1].address;
/** The network of every direct transfer here (Base Sepolia on anvil). */
export const directNetwork = "eip155:84532";

/** A mined transfer and the sender's binding signature over it. */
export type DirectTransfer = Readonly<{ tx: Hex; signature: Hex }>;

/** Parameters of `createDirectPayments`. */
export type CreateDirectPaymentsParameters = Readonly<{
  /** The chain, read at each call (the tests start it in `beforeAll`). */
  evm: () => EvmChain;
  /** The origin every binding names: servers listen on a new port each start, the binding stays valid. */
  origin: string;
  /** The `q` of the `/v1/search` request that presents a transfer (names the scenario in the server's log). */
  query: string;
}>;

/**
 * Real direct payments of the reference server, for tests that run it as a child process: `transfer` mines a USDC
 * transfer from `directSender` to `directPayee` and signs its binding; `payDirect` presents it on `/v1/search`.
 *
 * @example
 * ```ts
 * const { transfer, payDirect } = createDirectPayments({ evm: () => evm, origin, query: "restart" });
 * const response = await payDirect(server, await transfer(1_000_000n));
 * ```
 */
export function createDirectPayments(parameters: CreateDirectPaymentsParameters): Readonly<{
  transfer: (amount: bigint) => Promise<DirectTransfer>;
  payDirect: (server: ReferenceServer, paid: DirectTransfer) => Promise<Response>;
}> {
  const { evm, origin, query } = parameters;
  return {
    async transfer(amount) {
      const chain = evm();
      const wallet = createWalletClient({
        account: directSender,
        chain: chain.chain,
        transport: http(chain.rpcUrl),
      });
      const receipt = await wallet.writeContractSync({
        address: chain.token,
        abi: chain.abi,
        functionName: "transfer",
        args: [directPayee, amount],
      });
      const tx = receipt.transactionHash;
      const message = directBindingMessage({ network: directNetwork, tx, origin });
      return { tx, signature: await directSender.signMessage({ message }) };
    },
    payDirect: (server, paid) =>
      fetch(`${server.url}/v1/search?q=${query}`, {
        headers: {
          "x-payment-tx": paid.tx,
          "x-payment-chain": directNetwork,
          "x-payment-tx-sig": paid.signature,
        },
      }),
  };
}

import { type ServedFetch, serveFetch } from "@tollgate/server";
import { createExactEvmScheme, createViemEvmChain } from "@tollgate/server/evm";
import {
  type CreateFacilitatorParameters,
  createFacilitator,
  type Facilitator,
  type FacilitatorScheme,
} from "@tollgate/server/facilitator";
import { createExactSvmScheme } from "@tollgate/server/svm";
import type { EvmChain } from "../evm/evmChain.js";
import { createBankSolanaChain } from "../svm/bankSolanaChain.js";
import type { SolanaBank } from "../svm/solanaBank.js";

/** Parameters of `startLocalFacilitator`. */
export type StartLocalFacilitatorParameters = Readonly<{
  /** A running test EVM chain (`startEvmChain`); its facilitator account settles and pays gas. */
  evm?: EvmChain;
  /** A running Solana bank (`startSolanaBank`); its fee payer co-signs and pays fees. */
  bank?: SolanaBank;
  /** Further schemes. */
  schemes?: readonly FacilitatorScheme[];
  /**
   * Loopback port; 0 picks a free one.
   * @default 0
   */
  port?: number;
  /** Options passed through to `createFacilitator` (guard, timeouts, onEvent, …). */
  options?: Omit<CreateFacilitatorParameters, "schemes">;
}>;

/** Our facilitator serving on loopback over the kit's chains. */
export type LocalFacilitator = Readonly<{
  /** `http://127.0.0.1:<port>`: give it to any x402 server as its facilitator URL. */
  url: string;
  facilitator: Facilitator;
  served: ServedFetch;
  /** Stops listening. Idempotent. */
  close(): Promise<void>;
}>;

/**
 * Starts Tollgate's facilitator on a loopback port, settling on the kit's test chains: the stand-in for PayAI
 * (or any facilitator) in offline tests and demos. Standard x402 servers (`@x402/express`, `x402-express`)
 * accept its URL unchanged.
 *
 * @example
 * ```ts
 * import { startEvmChain, startLocalFacilitator } from "@tollgate/testing";
 * const evm = await startEvmChain();
 * const local = await startLocalFacilitator({ evm });
 * // paymentMiddleware(payTo, routes, { url: local.url }) …
 * await local.close();
 * await evm.stop();
 * ```
 */
export async function startLocalFacilitator(
  parameters: StartLocalFacilitatorParameters,
): Promise<LocalFacilitator> {
  const { evm, bank, schemes = [], port = 0, options = {} } = parameters;
  const all: FacilitatorScheme[] = [...schemes];
  if (evm) {
    all.unshift(
      createExactEvmScheme({
        chains: [
          createViemEvmChain({
            publicClient: evm.publicClient,
            walletClient: evm.walletClient,
            pollingIntervalMs: 10,
          }),
        ],
      }),
    );
  }
  if (bank) all.push(createExactSvmScheme({ chains: [createBankSolanaChain({ bank })] }));
  const facilitator = createFacilitator({ ...options, schemes: all });
  const served = await serveFetch({ fetch: facilitator.fetch, port });
  return Object.freeze({ url: served.url, facilitator, served, close: () => served.close() });
}

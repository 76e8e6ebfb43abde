import { cancelAuthorizationTypes, eip3009LifeAbi, TollgateError } from "@tollgate/shared";
import {
  type Address,
  type Chain,
  type Client,
  encodeFunctionData,
  getAddress,
  type Hex,
  type LocalAccount,
  parseSignature,
  type Transport,
} from "viem";
import {
  getBlock,
  prepareTransactionRequest,
  readContract,
  sendRawTransaction,
  simulateContract,
  waitForTransactionReceipt,
} from "viem/actions";
import type { ExactProofParameters, ExactProofState } from "../wallet.js";
import type { EvmSigner } from "./evmWallet.js";

/** Parameters of `createAuthorizationLife`. */
export type CreateAuthorizationLifeParameters = Readonly<{
  /** The payer: signs the `CancelAuthorization` (and, to send it, the transaction). */
  account: EvmSigner;
  /** Chain access to read `authorizationState` and the latest block. */
  reader: Client<Transport, Chain>;
  /** Chain access to send `cancelAuthorization` (the payer pays gas); without it nothing is cancelled. */
  sender: Client<Transport, Chain> | undefined;
}>;

/** How an EVM wallet tells and ends the life of the EIP-3009 authorizations it signed. */
export type AuthorizationLife = Readonly<{
  checkExactProof(parameters: ExactProofParameters): Promise<ExactProofState>;
  cancelExactProof?(parameters: ExactProofParameters): Promise<Exclude<ExactProofState, "live">>;
}>;

function chainFailed(network: string, operation: string, cause: unknown): TollgateError {
  return new TollgateError("CHAIN__CALL_FAILED", { context: { network, operation }, cause });
}

/**
 * Reads and ends the life of EIP-3009 authorizations on chain (only those of the reader's own chain: any other is
 * `live`, and cannot be cancelled here). An authorization is `settled` when its nonce is
 * used (and this wallet did not cancel it), `dead` when the latest block's timestamp reached its `validBefore` with
 * the nonce unused (no later block can include it), else `live`. `cancelExactProof` signs `CancelAuthorization`
 * with the authorization's own EIP-712 domain (kept as the proof's `laneData`), simulates, sends and waits for one
 * confirmation; a cancellation that the chain refuses because the nonce was used means the proof `settled`.
 *
 * @example
 * ```ts
 * import { createPublicClient, http } from "viem";
 * import { baseSepolia } from "viem/chains";
 * const life = createAuthorizationLife({
 *   account, reader: createPublicClient({ chain: baseSepolia, transport: http(rpcUrl) }), sender: undefined,
 * });
 * await life.checkExactProof({ network, asset, claim: nonce, validBefore, laneData: undefined });
 * ```
 * @throws `CHAIN__CALL_FAILED` (a read or the cancellation failed), `CLIENT__WALLET_FAILED` (the domain is unknown or
 *   signing failed)
 */
export function createAuthorizationLife(parameters: CreateAuthorizationLifeParameters): AuthorizationLife {
  const { account, reader, sender } = parameters;
  const authorizer = getAddress(account.address);
  /** Nonces this wallet cancelled: `authorizationState` says "used" for those too, yet they moved nothing. */
  const cancelled = new Set<string>();

  async function used(client: Client<Transport, Chain>, p: ExactProofParameters, blockNumber?: bigint) {
    return readContract(client, {
      address: getAddress(p.asset),
      abi: eip3009LifeAbi,
      functionName: "authorizationState",
      args: [authorizer, p.claim as Hex],
      ...(blockNumber === undefined ? {} : { blockNumber }),
    });
  }

  async function checkExactProof(p: ExactProofParameters): Promise<ExactProofState> {
    // Another chain's nonce cannot be read here: what this chain says about it proves nothing.
    if (p.network !== `eip155:${reader.chain.id}`) return "live";
    try {
      const block = await getBlock(reader, { blockTag: "latest" });
      if (await used(reader, p, block.number)) {
        return cancelled.has(p.claim.toLowerCase()) ? "dead" : "settled";
      }
      // EIP-3009 takes an authorization only while block.timestamp < validBefore, and no later block is older.
      return p.validBefore !== undefined && block.timestamp >= BigInt(p.validBefore) ? "dead" : "live";
    } catch (cause) {
      throw chainFailed(p.network, "authorization_state", cause);
    }
  }

  async function cancelExactProof(p: ExactProofParameters): Promise<Exclude<ExactProofState, "live">> {
    const client = sender as Client<Transport, Chain>;
    const signTransaction = account.signTransaction;
    const name = p.laneData?.eip712Name;
    const version = p.laneData?.eip712Version;
    const onChain = p.network === `eip155:${client.chain.id}` && client.chain.id === reader.chain.id;
    if (signTransaction === undefined || name === undefined || version === undefined || !onChain) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: p.network, operation: "cancel_authorization" },
      });
    }
    const state = await checkExactProof(p);
    if (state !== "live") return state;
    const asset: Address = getAddress(p.asset);
    const nonce = p.claim as Hex;
    let signature: Hex;
    try {
      signature = await account.signTypedData({
        domain: { name, version, chainId: client.chain.id, verifyingContract: asset },
        types: cancelAuthorizationTypes,
        primaryType: "CancelAuthorization",
        message: { authorizer, nonce },
      });
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: p.network, operation: "cancel_authorization" },
        cause,
      });
    }
    const { r, s, v, yParity } = parseSignature(signature);
    const args = [authorizer, nonce, Number(v ?? BigInt(yParity + 27)), r, s] as const;
    try {
      // Simulated first: a nonce the server used meanwhile reverts here, before any gas is spent.
      await simulateContract(client, {
        account: authorizer,
        address: asset,
        abi: eip3009LifeAbi,
        functionName: "cancelAuthorization",
        args,
      });
    } catch (cause) {
      const after = await checkExactProof(p);
      if (after !== "live") return after;
      throw chainFailed(p.network, "cancel_authorization", cause);
    }
    let status: "success" | "reverted";
    try {
      const request = await prepareTransactionRequest(client, {
        account: account as LocalAccount,
        chain: client.chain,
        to: asset,
        data: encodeFunctionData({ abi: eip3009LifeAbi, functionName: "cancelAuthorization", args }),
      });
      const raw = await signTransaction(request as Parameters<typeof signTransaction>[0]);
      const hash = await sendRawTransaction(client, { serializedTransaction: raw });
      ({ status } = await waitForTransactionReceipt(client, {
        hash,
        pollingInterval: client.pollingInterval,
      }));
    } catch (cause) {
      const after = await checkExactProof(p).catch(() => "live" as const);
      if (after !== "live") return after;
      throw chainFailed(p.network, "cancel_authorization", cause);
    }
    if (status === "success") {
      cancelled.add(p.claim.toLowerCase());
      return "dead";
    }
    // Reverted in its block: the server's settlement came first.
    const after = await checkExactProof(p);
    if (after !== "live") return after;
    throw chainFailed(p.network, "cancel_authorization", new Error("cancelAuthorization reverted"));
  }

  return Object.freeze({
    checkExactProof,
    ...(sender === undefined || account.signTransaction === undefined ? {} : { cancelExactProof }),
  });
}

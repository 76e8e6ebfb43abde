import {
  type DirectOffer,
  defaultNetworkRegistry,
  directBindingMessage,
  erc20TransferFunction,
  type FacilitatorOffer,
  type NetworkRegistry,
  TollgateError,
  transferWithAuthorizationTypes,
} from "@tollgate/shared";
import {
  type Address,
  type Chain,
  type Client,
  encodeFunctionData,
  getAddress,
  type Hex,
  isAddress,
  keccak256,
  type LocalAccount,
  parseTransaction,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  type Transport,
  toHex,
} from "viem";
import {
  getBlockNumber,
  getTransaction,
  getTransactionCount,
  getTransactionReceipt,
  prepareTransactionRequest,
  sendRawTransaction,
} from "viem/actions";
import { abortableSleep } from "../request/abortableSleep.js";
import { untilAborted } from "../request/untilAborted.js";
import type {
  CreateExactPaymentParameters,
  ExactPayment,
  PayingWallet,
  PrepareDirectTransferParameters,
  PreparedDirectTransfer,
  SendDirectTransferParameters,
  SentDirectTransfer,
} from "../wallet.js";
import { withAccountLock } from "./accountLock.js";
import { createAuthorizationLife } from "./authorizationLife.js";

/**
 * The signer an EVM wallet needs: an address and EIP-712 signing for the facilitator lane, and transaction and
 * EIP-191 message signing for the direct lane. A viem `LocalAccount` (`privateKeyToAccount`) is one.
 */
export type EvmSigner = Pick<LocalAccount, "address" | "signTypedData"> &
  Partial<Pick<LocalAccount, "signMessage" | "signTransaction">>;

/** Parameters of `createEvmWallet`. */
export type CreateEvmWalletParameters = Readonly<{
  /** Signs EIP-3009 authorizations: a viem account (`privateKeyToAccount`) or any signer of that shape. */
  account: EvmSigner;
  /**
   * CAIP-2 networks this wallet pays on.
   * @default ["eip155:*"] (any EVM network)
   */
  networks?: readonly string[];
  /**
   * Where the EIP-712 domain comes from when an offer's `extra` lacks `name`/`version` (only for the registry's
   * own USDC of that network).
   * @default defaultNetworkRegistry
   */
  registry?: Pick<NetworkRegistry, "find">;
  /**
   * Chain access for the direct lane: a viem client (e.g. `createPublicClient({ chain, transport: http(rpcUrl) })`)
   * on the chain to pay on. The payer then needs ETH for gas. Without it, the wallet pays the facilitator lane only.
   * @default undefined (no direct lane)
   */
  direct?: Client<Transport, Chain>;
  /**
   * Read-only chain access (a viem client on the chain to pay on) to tell when an authorization a server refused can
   * no longer settle (`authorizationState`, the latest block's time), so that it stops counting against the budgets
   * and its request. With `direct` as well, a refused authorization can be cancelled on chain (`cancelAuthorization`,
   * the payer paying gas) when a second payment for the same request would otherwise exceed `maxPerRequest`.
   * @default direct (undefined without it: a refused authorization counts as spent)
   */
  reader?: Client<Transport, Chain>;
  /**
   * How long `sendDirectTransfer` waits for a transfer's confirmations before it gives up with `CHAIN__TIMEOUT` (the
   * transfer stays pending: the same request waits for it again). The caller's signal ends the wait sooner.
   * @default 180_000 (viem's default for receipts)
   */
  confirmationTimeoutMs?: number;
  /** The clock of that timeout, milliseconds. @default Date.now */
  now?: () => number;
  /**
   * Source of the 32-byte authorization nonces.
   * @default crypto.getRandomValues
   */
  randomBytes?: (length: number) => Uint8Array;
}>;

const erc20TransferAbi = [erc20TransferFunction] as const;

const defaultRandomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

/** The most a prepared transaction can cost: its gas limit times its max fee (or price) per gas. */
function maxFeeOf(
  request: Readonly<{ gas?: bigint; maxFeePerGas?: bigint; gasPrice?: bigint }>,
): bigint | undefined {
  const perGas = request.maxFeePerGas ?? request.gasPrice;
  return request.gas === undefined || perGas === undefined ? undefined : request.gas * perGas;
}

/** Refused broadcasts of a transfer the node does not have, in a row, before the wait reports it as pending. */
const maxRefusedBroadcasts = 3;

/** The v1 reference clients (x402 1.2.0) start an authorization's validity 10 minutes in the past. */
const v1ValidAfterSkewSeconds = 600;

/**
 * A wallet that pays facilitator-lane `exact` offers on EVM networks with EIP-3009 `TransferWithAuthorization`
 * signatures (the payer needs no ETH: the facilitator sends the transaction). v2 offers are signed with
 * `validAfter = 0`, v1 offers with `now − 600` like the v1 reference clients; both with
 * `validBefore = now + min(maxTimeoutSeconds, the policy's maxAuthorizationSeconds)`, `value = amount` and a random
 * 32-byte nonce. With `reader` (or `direct`) it also tells when a refused authorization is dead, and with `direct`
 * it can cancel one on chain.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createEvmWallet } from "@tollgate/client/evm";
 * import { privateKeyToAccount } from "viem/accounts";
 * const wallet = createEvmWallet({ account: privateKeyToAccount(process.env.AGENT_KEY as `0x${string}`) });
 * const payingFetch = createPayingFetch({ wallets: [wallet] });
 * const response = await payingFetch("https://api.example.com/v1/search?q=x402");
 * ```
 * @throws `CLIENT__WALLET_FAILED` (from `createExactPayment`, when signing fails)
 */
export function createEvmWallet(parameters: CreateEvmWalletParameters): PayingWallet {
  const {
    account,
    networks = ["eip155:*"],
    registry = defaultNetworkRegistry,
    randomBytes = defaultRandomBytes,
    direct,
    reader = direct,
    confirmationTimeoutMs = 180_000,
    now = Date.now,
  } = parameters;
  const from = getAddress(account.address);
  const life =
    reader === undefined ? undefined : createAuthorizationLife({ account, reader, sender: direct });

  function chainIdOf(network: string): number | undefined {
    // CAIP-2 spells a chain id without leading zeros: `eip155:084532` is not a network this wallet signs for.
    const match = /^eip155:([1-9][0-9]{0,14})$/.exec(network);
    if (match === null) return undefined;
    const id = Number(match[1]);
    return Number.isSafeInteger(id) && id > 0 ? id : undefined;
  }

  function domainOf(offer: FacilitatorOffer): { name: string; version: string } | undefined {
    const { name, version } = offer.extra as { name?: unknown; version?: unknown };
    if (typeof name === "string" && typeof version === "string" && name !== "" && version !== "") {
      return { name, version };
    }
    const usdc = registry.find(offer.network)?.usdc;
    if (usdc?.eip712 && usdc.address.toLowerCase() === offer.asset.toLowerCase()) return usdc.eip712;
    return undefined;
  }

  function checkExactOffer(offer: FacilitatorOffer): string | undefined {
    if (offer.scheme !== "exact") return "scheme_unsupported";
    if (chainIdOf(offer.network) === undefined) return "network_unsupported";
    const method = (offer.extra as { assetTransferMethod?: unknown }).assetTransferMethod;
    if (method !== undefined && method !== "eip3009") return "asset_transfer_method_unsupported";
    if (!isAddress(offer.payTo, { strict: false })) return "payee_invalid";
    if (!isAddress(offer.asset, { strict: false })) return "asset_invalid";
    if (domainOf(offer) === undefined) return "eip712_domain_missing";
    if (offer.amount >= 1n << 256n) return "amount_invalid";
    return undefined;
  }

  async function createExactPayment(p: CreateExactPaymentParameters): Promise<ExactPayment> {
    const { offer, nowSeconds, maxLifetimeSeconds = offer.maxTimeoutSeconds } = p;
    const reason = checkExactOffer(offer);
    const chainId = chainIdOf(offer.network);
    const domain = domainOf(offer);
    if (reason !== undefined || chainId === undefined || domain === undefined) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "sign" },
        cause: new Error(reason ?? "offer not payable"),
      });
    }
    const nonce: Hex = toHex(randomBytes(32));
    const validAfter = offer.x402Version === 1 ? Math.max(0, nowSeconds - v1ValidAfterSkewSeconds) : 0;
    // A short life: a server that refuses this authorization (and may still hold it) can settle it only until then.
    const validBefore =
      nowSeconds + Math.max(0, Math.floor(Math.min(offer.maxTimeoutSeconds, maxLifetimeSeconds)));
    const to: Address = getAddress(offer.payTo);
    let signature: Hex;
    try {
      signature = await account.signTypedData({
        domain: {
          name: domain.name,
          version: domain.version,
          chainId,
          verifyingContract: getAddress(offer.asset),
        },
        types: transferWithAuthorizationTypes,
        primaryType: "TransferWithAuthorization",
        message: {
          from,
          to,
          value: offer.amount,
          validAfter: BigInt(validAfter),
          validBefore: BigInt(validBefore),
          nonce,
        },
      });
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "sign" },
        cause,
      });
    }
    return {
      payload: {
        signature,
        authorization: {
          from,
          to,
          value: offer.amount.toString(),
          validAfter: String(validAfter),
          validBefore: String(validBefore),
          nonce,
        },
      },
      validBefore,
      claim: nonce,
      // The domain, to sign a CancelAuthorization for this very authorization later.
      laneData: { eip712Name: domain.name, eip712Version: domain.version },
    };
  }

  function checkDirectOffer(offer: DirectOffer): string | undefined {
    if (direct === undefined) return "direct_lane_not_configured";
    if (chainIdOf(offer.network) !== direct.chain.id) return "network_unsupported";
    if (account.signTransaction === undefined) return "account_cannot_send";
    if (offer.bindingRequired && account.signMessage === undefined) return "account_cannot_sign_binding";
    if (!isAddress(offer.payTo, { strict: false })) return "payee_invalid";
    if (!isAddress(offer.asset, { strict: false })) return "asset_invalid";
    return undefined;
  }

  async function prepareDirectTransfer(p: PrepareDirectTransferParameters): Promise<PreparedDirectTransfer> {
    const { offer, amount, origin, record, signal } = p;
    const reason = checkDirectOffer(offer);
    const signTransaction = account.signTransaction;
    if (reason !== undefined || direct === undefined || signTransaction === undefined) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "transfer" },
        cause: new Error(reason ?? "offer not payable"),
      });
    }
    const network = `eip155:${direct.chain.id}`;
    // From choosing the nonce until the node has the transaction, no other transfer of this account is prepared.
    return withAccountLock({ chainId: direct.chain.id, address: from }, async () => {
      // A call that gave up while waiting for the lock prepares nothing.
      if (signal?.aborted === true) {
        throw new TollgateError("CLIENT__WALLET_FAILED", {
          context: { network: offer.network, operation: "transfer" },
          cause: signal.reason,
        });
      }
      let prepared: PreparedDirectTransfer;
      try {
        // The previous transfer of this account is in the node's pool by now, so the pending count is past it. (A node
        // behind a load balancer that lags may count one short: then the two share a nonce, and the one that does not
        // land is told apart as replaced, never paid twice.)
        const nonce = await untilAborted(
          getTransactionCount(direct, { address: from, blockTag: "pending" }),
          signal,
        );
        const request = await untilAborted(
          prepareTransactionRequest(direct, {
            account: account as LocalAccount,
            chain: direct.chain,
            to: getAddress(offer.asset),
            nonce,
            data: encodeFunctionData({
              abi: erc20TransferAbi,
              functionName: "transfer",
              args: [getAddress(offer.payTo), amount],
            }),
          }),
          signal,
        );
        const raw = await signTransaction(request as Parameters<typeof signTransaction>[0]);
        const tx = keccak256(raw).toLowerCase();
        const bindingSignature =
          account.signMessage === undefined
            ? undefined
            : await account.signMessage({ message: directBindingMessage({ network, tx, origin }) });
        prepared = {
          tx,
          network,
          raw,
          maxFee: maxFeeOf(request),
          ...(bindingSignature === undefined ? {} : { bindingSignature }),
        };
      } catch (cause) {
        throw new TollgateError("CLIENT__WALLET_FAILED", {
          context: { network: offer.network, operation: "transfer" },
          cause,
        });
      }
      if (record === undefined) return prepared;
      // Recorded first (its failure is the caller's, thrown unchanged), then broadcast under the same lock.
      await record(prepared);
      await sendRawTransaction(direct, { serializedTransaction: prepared.raw as Hex }).catch(
        // Not decided here: the transfer is recorded, and `sendDirectTransfer` broadcasts it again and tells a
        // landed, pending, replaced or dropped transfer apart.
        () => undefined,
      );
      return prepared;
    });
  }

  async function sendDirectTransfer(p: SendDirectTransferParameters): Promise<SentDirectTransfer> {
    const { network, raw, tx, confirmations, signal } = p;
    if (direct === undefined) {
      throw new TollgateError("CLIENT__WALLET_FAILED", { context: { network, operation: "broadcast" } });
    }
    const hash = tx as Hex;
    let nonce: number;
    try {
      nonce = parseTransaction(raw as Hex).nonce ?? 0;
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network, operation: "broadcast" },
        cause,
      });
    }
    const call = async <T>(operation: string, run: () => Promise<T>): Promise<T> => {
      try {
        return await untilAborted(run(), signal);
      } catch (cause) {
        if (signal?.aborted === true) throw signal.reason;
        throw new TollgateError("CHAIN__CALL_FAILED", { context: { network, operation }, cause });
      }
    };
    const receiptOf = () =>
      call("get_receipt", () =>
        getTransactionReceipt(direct, { hash }).catch((error: unknown) => {
          if (error instanceof TransactionReceiptNotFoundError) return undefined;
          throw error;
        }),
      );
    const broadcast = () =>
      untilAborted(sendRawTransaction(direct, { serializedTransaction: raw as Hex }), signal).then(
        () => undefined,
        (error: unknown) => {
          if (signal?.aborted === true) throw signal.reason;
          // The node has it already (a re-send): as good as accepted.
          if (/already known|known transaction|already imported/i.test(String(error))) return undefined;
          // "nonce too low", "replacement underpriced", an RPC failure: the loop below reads the chain to decide.
          return error;
        },
      );
    const required = BigInt(Math.max(1, confirmations));
    const deadline = now() + confirmationTimeoutMs;
    let broadcastError = (await receiptOf()) === undefined ? await broadcast() : undefined;
    /** Broadcasts the node refused in a row while it did not have the transfer. */
    let refused = 0;
    for (;;) {
      signal?.throwIfAborted();
      if (now() > deadline) {
        throw new TollgateError("CHAIN__TIMEOUT", {
          context: { network, operation: "wait_for_receipt", timeoutMs: confirmationTimeoutMs },
        });
      }
      const receipt = await receiptOf();
      if (receipt !== undefined) {
        if (receipt.status !== "success") {
          throw new TollgateError("CLIENT__WALLET_FAILED", {
            context: { network, operation: "transfer_reverted" },
          });
        }
        const head = await call("get_block_number", () => getBlockNumber(direct, { cacheTime: 0 }));
        if (head - receipt.blockNumber + 1n >= required) {
          return { fee: receipt.gasUsed * receipt.effectiveGasPrice };
        }
      } else {
        const mined = await call("get_transaction_count", () =>
          getTransactionCount(direct, { address: from, blockTag: "latest" }),
        );
        if (mined > nonce && (await receiptOf()) === undefined) {
          // Another transaction of this nonce landed: this one can never land, and moved nothing.
          throw new TollgateError("CLIENT__WALLET_FAILED", {
            context: { network, operation: "transfer_replaced" },
            ...(broadcastError === undefined ? {} : { cause: broadcastError }),
          });
        }
        const known = await call("get_transaction", () =>
          getTransaction(direct, { hash }).catch((error: unknown) => {
            if (error instanceof TransactionNotFoundError) return undefined;
            throw error;
          }),
        );
        if (known === undefined) {
          // The node does not have it and keeps refusing it (no ETH for gas, say): it may still land once the
          // cause is gone, so it is pending, and the caller hears of it now rather than after a long wait.
          if (broadcastError !== undefined && ++refused >= maxRefusedBroadcasts) {
            throw new TollgateError("CHAIN__CALL_FAILED", {
              context: { network, operation: "send_transaction" },
              cause: broadcastError,
            });
          }
          // Dropped from the node's pool (or never accepted) while its nonce is still free: broadcast it again.
          broadcastError = await broadcast();
        } else {
          refused = 0;
        }
      }
      await abortableSleep(direct.pollingInterval, signal);
    }
  }

  return Object.freeze({
    family: "evm" as const,
    address: from,
    networks,
    checkExactOffer,
    createExactPayment,
    ...(life === undefined ? {} : life),
    ...(direct === undefined ? {} : { checkDirectOffer, prepareDirectTransfer, sendDirectTransfer }),
  });
}

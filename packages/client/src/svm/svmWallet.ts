import {
  createTransferCheckedInstruction,
  getAssociatedTokenAddressSync,
  TOKEN_2022_PROGRAM_ID,
  TOKEN_PROGRAM_ID,
} from "@solana/spl-token";
import {
  ComputeBudgetProgram,
  type Keypair,
  PublicKey,
  TransactionInstruction,
  TransactionMessage,
  VersionedTransaction,
} from "@solana/web3.js";
import {
  type DirectOffer,
  defaultNetworkRegistry,
  directBindingMessage,
  encodeBase58,
  exactSvmExtraSchema,
  type FacilitatorOffer,
  type NetworkRegistry,
  TollgateError,
} from "@tollgate/shared";
import { createKeyLock } from "../request/createKeyLock.js";
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

/** The chain access a Solana wallet needs: a recent blockhash. A web3.js `Connection` is one. */
export type SvmBlockhashSource = Readonly<{
  getLatestBlockhash(): Promise<Readonly<{ blockhash: string }>>;
}>;

/**
 * The chain access the direct lane needs: broadcasting a signed transaction and waiting for it.
 * `createConnectionDirectAccess` builds one over a `@solana/web3.js` `Connection`; tests may build one over
 * the kit's Solana bank.
 */
export type SvmDirectAccess = Readonly<{
  /**
   * Broadcasts a fully signed transaction and resolves its base58 signature. Sending a transaction the chain
   * already has may throw: `confirm` then decides.
   */
  sendTransaction(transaction: VersionedTransaction): Promise<string>;
  /**
   * Waits until the transaction reaches the required commitment: `true` when it succeeded, `false` when it landed
   * and failed or can no longer land (its `recentBlockhash` expired). Throws when it cannot tell (RPC failure)
   * and with the signal's reason when `signal` aborts.
   */
  confirm(parameters: SvmConfirmParameters): Promise<boolean>;
}>;

/** Parameters of `SvmDirectAccess.confirm`. */
export type SvmConfirmParameters = Readonly<{
  /** Base58 signature of the transaction (its id). */
  signature: string;
  /** The blockhash the transaction was built on: once it expires, the transaction can no longer land. */
  recentBlockhash: string;
  signal?: AbortSignal;
}>;

/** A mint the wallet can pay with: its decimals and token program. */
export type SvmMintInfo = Readonly<{ decimals: number; tokenProgram: "token" | "token-2022" }>;

/** Parameters of `createSvmWallet`. */
export type CreateSvmWalletParameters = Readonly<{
  /** The payer: owner of the source token account. Its key never leaves the process. */
  keypair: Keypair;
  /** Where the recent blockhash comes from: `new Connection(rpcUrl)` or any object of that shape. */
  rpc: SvmBlockhashSource;
  /**
   * CAIP-2 networks this wallet pays on.
   * @default ["solana:*"]
   */
  networks?: readonly string[];
  /**
   * Mints besides the registry's USDC, by base58 address.
   * @default {}
   */
  mints?: Readonly<Record<string, SvmMintInfo>>;
  /** Where the USDC mint of each network comes from. @default defaultNetworkRegistry */
  registry?: Pick<NetworkRegistry, "find">;
  /**
   * Compute unit limit of the payment transaction.
   * @default 20_000
   */
  computeUnitLimit?: number;
  /**
   * Compute unit price in micro-lamports (facilitators refuse more than 5 lamports per unit).
   * @default 1
   */
  computeUnitPriceMicroLamports?: number;
  /**
   * Chain access for the direct lane (the payer sends the transfer itself, pays its fee and so needs SOL).
   * Without it, the wallet pays the facilitator lane only.
   * @default undefined (no direct lane)
   */
  direct?: SvmDirectAccess;
  /**
   * Source of the random nonce that makes each direct transfer a distinct transaction.
   * @default crypto.getRandomValues
   */
  randomBytes?: (length: number) => Uint8Array;
}>;

const memoProgramId = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/** A blockhash lasts 150 slots (about a minute); after this long a transaction built on it cannot land. */
const blockhashLifetimeSeconds = 180;
const maxU64 = (1n << 64n) - 1n;
/** The base fee of each signature a transaction requires. */
const lamportsPerSignature = 5000n;
const defaultRandomBytes = (length: number): Uint8Array => crypto.getRandomValues(new Uint8Array(length));

/**
 * One send at a time per paying account and network, for the whole process: transfers from one account sent at once
 * touch the same writable accounts, and a node may refuse the later ones in preflight ("Account in use") although
 * each is valid. Only the hand-over to the node is serialised; confirmations are awaited side by side.
 */
const accountSendLock = createKeyLock();

/** Signs a message with the keypair's ed25519 key through WebCrypto. */
async function signEd25519(keypair: Keypair, message: Uint8Array): Promise<Uint8Array> {
  const base64url = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64url");
  const key = await crypto.subtle.importKey(
    "jwk",
    {
      kty: "OKP",
      crv: "Ed25519",
      d: base64url(keypair.secretKey.subarray(0, 32)),
      x: base64url(keypair.publicKey.toBytes()),
    },
    { name: "Ed25519" },
    false,
    ["sign"],
  );
  return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, message));
}

function publicKeyOf(value: string): PublicKey | undefined {
  try {
    return new PublicKey(value);
  } catch {
    // Not base58 of 32 bytes: the offer is refused with a reason, not an exception.
    return undefined;
  }
}

/**
 * A wallet that pays facilitator-lane `exact` offers on Solana with a partially signed v0 transaction whose fee
 * payer is the facilitator's (`extra.feePayer`): SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked from the
 * payer's associated token account to the payee's. Exactly these 3 instructions on v1 offers (legacy facilitators
 * accept nothing else); on v2 offers a Memo follows only to carry `extra.memo`. The payer needs no SOL.
 *
 * With `direct`, it also pays direct-lane offers: a v0 transaction whose fee payer is the payer itself (it needs
 * SOL) with SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked of the amount from the payer's associated
 * token account to the payee's, and a Memo with a random nonce; `X-PAYMENT-TX` is its base58 signature and
 * `X-PAYMENT-TX-SIG` the base58 ed25519 signature by the payer of `directBindingMessage`.
 *
 * @example
 * ```ts
 * import { createPayingFetch } from "@tollgate/client";
 * import { createSvmWallet } from "@tollgate/client/svm";
 * import { Connection, Keypair } from "@solana/web3.js";
 * const wallet = createSvmWallet({
 *   keypair: Keypair.fromSecretKey(secret),
 *   rpc: new Connection("https://api.devnet.solana.com"),
 * });
 * const payingFetch = createPayingFetch({ wallets: [wallet] });
 * ```
 * @throws `CLIENT__WALLET_FAILED` (from `createExactPayment` and `prepareDirectTransfer`, when the blockhash cannot
 * be read or signing fails; from `sendDirectTransfer`, when the transfer failed on chain), `CHAIN__CALL_FAILED`
 * (from `sendDirectTransfer`, when it cannot tell whether the transfer landed)
 */
export function createSvmWallet(parameters: CreateSvmWalletParameters): PayingWallet {
  const {
    keypair,
    rpc,
    networks = ["solana:*"],
    mints = {},
    registry = defaultNetworkRegistry,
    computeUnitLimit = 20_000,
    computeUnitPriceMicroLamports = 1,
    direct,
    randomBytes = defaultRandomBytes,
  } = parameters;
  const owner = keypair.publicKey;

  function mintOf(offer: Readonly<{ asset: string; network: string }>): SvmMintInfo | undefined {
    const configured = mints[offer.asset];
    if (configured !== undefined) return configured;
    const usdc = registry.find(offer.network)?.usdc;
    return usdc?.address === offer.asset ? { decimals: usdc.decimals, tokenProgram: "token" } : undefined;
  }

  const programIdOf = (mint: SvmMintInfo) =>
    mint.tokenProgram === "token-2022" ? TOKEN_2022_PROGRAM_ID : TOKEN_PROGRAM_ID;

  async function latestBlockhash(network: string, signal: AbortSignal | undefined): Promise<string> {
    try {
      return (await untilAborted(rpc.getLatestBlockhash(), signal)).blockhash;
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network, operation: "get_latest_blockhash" },
        cause,
      });
    }
  }

  function checkExactOffer(offer: FacilitatorOffer): string | undefined {
    if (offer.scheme !== "exact") return "scheme_unsupported";
    if (!offer.network.startsWith("solana:")) return "network_unsupported";
    const extra = exactSvmExtraSchema.safeParse(offer.extra);
    if (!extra.success) return "fee_payer_missing";
    const feePayer = publicKeyOf(extra.data.feePayer);
    if (feePayer === undefined) return "fee_payer_invalid";
    if (feePayer.equals(owner)) return "fee_payer_is_payer";
    if (publicKeyOf(offer.payTo) === undefined) return "payee_invalid";
    if (publicKeyOf(offer.asset) === undefined) return "asset_invalid";
    if (mintOf(offer) === undefined) return "mint_unknown";
    if (offer.amount > maxU64) return "amount_invalid";
    if (offer.x402Version === 1 && extra.data.memo !== undefined) return "memo_unsupported_v1";
    return undefined;
  }

  async function createExactPayment(p: CreateExactPaymentParameters): Promise<ExactPayment> {
    const { offer, nowSeconds } = p;
    const reason = checkExactOffer(offer);
    const mint = mintOf(offer);
    const extra = exactSvmExtraSchema.safeParse(offer.extra);
    if (reason !== undefined || mint === undefined || !extra.success) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "sign" },
        cause: new Error(reason ?? "offer not payable"),
      });
    }
    const programId = programIdOf(mint);
    const mintKey = new PublicKey(offer.asset);
    const payee = new PublicKey(offer.payTo);
    const source = getAssociatedTokenAddressSync(mintKey, owner, true, programId);
    const destination = getAssociatedTokenAddressSync(mintKey, payee, true, programId);
    const instructions: TransactionInstruction[] = [
      ComputeBudgetProgram.setComputeUnitLimit({ units: computeUnitLimit }),
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: computeUnitPriceMicroLamports }),
      createTransferCheckedInstruction(
        source,
        mintKey,
        destination,
        owner,
        offer.amount,
        mint.decimals,
        [],
        programId,
      ),
    ];
    if (offer.x402Version === 2 && extra.data.memo !== undefined) {
      instructions.push(
        new TransactionInstruction({
          programId: memoProgramId,
          keys: [],
          data: Buffer.from(extra.data.memo, "utf8"),
        }),
      );
    }
    const blockhash = await latestBlockhash(offer.network, p.signal);
    try {
      const message = new TransactionMessage({
        payerKey: new PublicKey(extra.data.feePayer),
        recentBlockhash: blockhash,
        instructions,
      }).compileToV0Message();
      const transaction = new VersionedTransaction(message);
      transaction.sign([keypair]);
      const digest = await crypto.subtle.digest("SHA-256", message.serialize());
      return {
        payload: { transaction: Buffer.from(transaction.serialize()).toString("base64") },
        validBefore: nowSeconds + blockhashLifetimeSeconds,
        claim: Buffer.from(digest).toString("hex"),
      };
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "sign" },
        cause,
      });
    }
  }

  function checkDirectOffer(offer: DirectOffer): string | undefined {
    if (direct === undefined) return "direct_lane_not_configured";
    if (!offer.network.startsWith("solana:")) return "network_unsupported";
    const payee = publicKeyOf(offer.payTo);
    if (payee === undefined) return "payee_invalid";
    if (payee.equals(owner)) return "payee_is_payer";
    if (publicKeyOf(offer.asset) === undefined) return "asset_invalid";
    if (mintOf(offer) === undefined) return "mint_unknown";
    if (offer.amount > maxU64 || offer.minAmount > maxU64) return "amount_invalid";
    return undefined;
  }

  async function prepareDirectTransfer(p: PrepareDirectTransferParameters): Promise<PreparedDirectTransfer> {
    const { offer, amount, origin } = p;
    const reason = checkDirectOffer(offer);
    const mint = mintOf(offer);
    if (reason !== undefined || mint === undefined || amount <= 0n || amount > maxU64) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "transfer" },
        cause: new Error(reason ?? "amount_invalid"),
      });
    }
    const programId = programIdOf(mint);
    const mintKey = new PublicKey(offer.asset);
    const payee = new PublicKey(offer.payTo);
    const blockhash = await latestBlockhash(offer.network, p.signal);
    try {
      const message = new TransactionMessage({
        payerKey: owner,
        recentBlockhash: blockhash,
        instructions: [
          ComputeBudgetProgram.setComputeUnitLimit({ units: computeUnitLimit }),
          ComputeBudgetProgram.setComputeUnitPrice({ microLamports: computeUnitPriceMicroLamports }),
          createTransferCheckedInstruction(
            getAssociatedTokenAddressSync(mintKey, owner, true, programId),
            mintKey,
            getAssociatedTokenAddressSync(mintKey, payee, true, programId),
            owner,
            amount,
            mint.decimals,
            [],
            programId,
          ),
          // Two equal payments on one blockhash would otherwise be the same transaction, paying once.
          new TransactionInstruction({
            programId: memoProgramId,
            keys: [],
            data: Buffer.from(`tollgate:${Buffer.from(randomBytes(8)).toString("hex")}`, "utf8"),
          }),
        ],
      }).compileToV0Message();
      const transaction = new VersionedTransaction(message);
      transaction.sign([keypair]);
      const signature = transaction.signatures[0];
      if (signature === undefined) throw new Error("transaction not signed");
      const tx = encodeBase58(signature);
      const network = offer.network;
      const binding = await signEd25519(
        keypair,
        new TextEncoder().encode(directBindingMessage({ network, tx, origin })),
      );
      return {
        tx,
        network,
        raw: Buffer.from(transaction.serialize()).toString("base64"),
        bindingSignature: encodeBase58(binding),
        maxFee: feeOf(transaction),
      };
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "transfer" },
        cause,
      });
    }
  }

  /** The fee Solana charges the transaction: 5000 lamports per signature and the priority fee of its unit limit. */
  function feeOf(transaction: VersionedTransaction): bigint {
    const priority =
      (BigInt(computeUnitLimit) * BigInt(computeUnitPriceMicroLamports) + 999_999n) / 1_000_000n;
    return BigInt(transaction.message.header.numRequiredSignatures) * lamportsPerSignature + priority;
  }

  async function sendDirectTransfer(p: SendDirectTransferParameters): Promise<SentDirectTransfer> {
    const { network, raw, tx, signal } = p;
    if (direct === undefined) {
      throw new TollgateError("CLIENT__WALLET_FAILED", { context: { network, operation: "broadcast" } });
    }
    let transaction: VersionedTransaction;
    try {
      transaction = VersionedTransaction.deserialize(Buffer.from(raw, "base64"));
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network, operation: "broadcast" },
        cause,
      });
    }
    let sendError: unknown;
    try {
      const account = `${network}:${keypair.publicKey.toBase58()}`;
      await untilAborted(
        accountSendLock(account, () => direct.sendTransaction(transaction)),
        signal,
      );
    } catch (cause) {
      // Already on chain (a re-send after a restart or a lost answer) is fine: the confirmation decides.
      sendError = cause;
    }
    let succeeded: boolean;
    try {
      succeeded = await direct.confirm({
        signature: tx,
        recentBlockhash: transaction.message.recentBlockhash,
        ...(signal === undefined ? {} : { signal }),
      });
    } catch (cause) {
      throw new TollgateError("CHAIN__CALL_FAILED", {
        context: { network, operation: sendError === undefined ? "confirm_transaction" : "send_transaction" },
        cause: sendError ?? cause,
      });
    }
    if (!succeeded) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network, operation: "transfer_failed" },
        ...(sendError === undefined ? {} : { cause: sendError }),
      });
    }
    return { fee: feeOf(transaction) };
  }

  return Object.freeze({
    family: "svm" as const,
    address: owner.toBase58(),
    networks,
    checkExactOffer,
    createExactPayment,
    ...(direct === undefined ? {} : { checkDirectOffer, prepareDirectTransfer, sendDirectTransfer }),
  });
}

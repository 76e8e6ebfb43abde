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
  defaultNetworkRegistry,
  exactSvmExtraSchema,
  type FacilitatorOffer,
  type NetworkRegistry,
  TollgateError,
} from "@tollgate/shared";
import type { CreateExactPaymentParameters, ExactPayment, PayingWallet } from "../wallet.js";

/** The chain access a Solana wallet needs: a recent blockhash. A web3.js `Connection` is one. */
export type SvmBlockhashSource = Readonly<{
  getLatestBlockhash(): Promise<Readonly<{ blockhash: string }>>;
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
}>;

const memoProgramId = new PublicKey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/** A blockhash lasts 150 slots (about a minute); after this long a transaction built on it cannot land. */
const blockhashLifetimeSeconds = 180;
const maxU64 = (1n << 64n) - 1n;

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
 * @throws `CLIENT__WALLET_FAILED` (from `createExactPayment`, when the blockhash cannot be read or signing fails)
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
  } = parameters;
  const owner = keypair.publicKey;

  function mintOf(offer: FacilitatorOffer): SvmMintInfo | undefined {
    const configured = mints[offer.asset];
    if (configured !== undefined) return configured;
    const usdc = registry.find(offer.network)?.usdc;
    return usdc?.address === offer.asset ? { decimals: usdc.decimals, tokenProgram: "token" } : undefined;
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
    const programId = mint.tokenProgram === "token-2022" ? TOKEN_2022_PROGRAM_ID : TOKEN_PROGRAM_ID;
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
    let blockhash: string;
    try {
      ({ blockhash } = await rpc.getLatestBlockhash());
    } catch (cause) {
      throw new TollgateError("CLIENT__WALLET_FAILED", {
        context: { network: offer.network, operation: "get_latest_blockhash" },
        cause,
      });
    }
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

  return Object.freeze({
    family: "svm" as const,
    address: owner.toBase58(),
    networks,
    checkExactOffer,
    createExactPayment,
  });
}

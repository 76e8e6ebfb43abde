import { VersionedTransaction } from "@solana/web3.js";
import {
  createNetworkRegistry,
  exactSvmPayloadSchema,
  type NetworkRegistry,
  type RefusalReason,
  TollgateError,
} from "@tollgate/shared";
import { invalidConfig } from "../config/invalidConfig.js";
import { type FacilitatorPaymentPolicy, resolvePaymentPolicy } from "../facilitator/paymentPolicy.js";
import type {
  FacilitatorPayment,
  FacilitatorScheme,
  SchemeCallContext,
  SettleOutcome,
  VerifyOutcome,
} from "../facilitator/scheme.js";
import { withChainTimeout } from "../internal/deadline.js";
import { sha256Hex } from "../internal/hash.js";
import { encodeBase58 } from "./base58.js";
import { verifyEd25519 } from "./ed25519.js";
import {
  decodePaymentTransaction,
  isEmptySignature,
  messageBytesOf,
  type PaymentInstruction,
  type PaymentTransaction,
} from "./paymentTransaction.js";
import {
  associatedTokenAddress,
  computeBudgetProgramId,
  decodeMint,
  decodeTokenAccount,
  instructionLayout,
  isSolanaAddress,
  isTokenProgram,
  lighthouseProgramId,
  memoProgramId,
} from "./programs.js";
import type { SolanaChain, SolanaSendOutcome } from "./solanaChain.js";

/**
 * Parameters of `createExactSvmScheme`: the chains, what it settles (`assets`, `minAmount`, `payees`) and what the
 * fee payer may pay per settlement.
 */
export type CreateExactSvmSchemeParameters = FacilitatorPaymentPolicy &
  Readonly<{
    /** One chain per Solana network to settle on, each with the fee payer keys it signs for. */
    chains: readonly SolanaChain[];
    /**
     * Highest accepted `SetComputeUnitPrice`, in micro-lamports per compute unit (the fee payer pays it).
     * @default 5_000_000 (5 lamports per CU, as `@x402/svm` 2.27)
     */
    maxComputeUnitPriceMicroLamports?: number | bigint;
    /**
     * The most lamports the fee payer pays for one settlement: the transaction's signatures × `lamportsPerSignature`
     * plus its priority fee, ⌈compute unit limit × price / 10⁶⌉. Above it: `svm_fee_too_high`, before any chain call.
     * The price cap alone does not bound the fee: a 1,400,000 CU limit at 5 lamports per CU costs 7,000,000 lamports.
     * The default fits two signatures and 15,000 lamports of priority fee (a 20,000 CU limit up to 0.75 lamport per
     * CU; standard clients send 20,000 CU at 1 micro-lamport: 10,001 lamports in all).
     * @default 25_000n
     */
    maxFeeLamports?: bigint;
    /**
     * The cluster's base fee per signature, in lamports (used to bound the fee).
     * @default 5_000n
     */
    lamportsPerSignature?: bigint;
    /**
     * Finds the registry's USDC mint of each network (the default `assets`).
     * @default createNetworkRegistry()
     */
    registry?: Pick<NetworkRegistry, "find">;
    /**
     * Deadline of each chain call (signing, reads, simulation, sending), in milliseconds.
     * @default 10_000
     */
    chainCallTimeoutMs?: number;
    /**
     * How long to wait for a sent settlement to be confirmed, in milliseconds; past it the answer is
     * `svm_confirmation_timed_out` (`settlement_pending` on the v2 wire) with the signature as `transaction`.
     * @default 30_000
     */
    confirmTimeoutMs?: number;
  }>;

/** The `TransferChecked` of a payment, decoded. */
type Transfer = Readonly<{
  programId: string;
  source: string;
  mint: string;
  destination: string;
  authority: string;
  amount: bigint;
  decimals: number;
}>;

/** A payment that passed every check that needs no chain. */
type Checked = Readonly<{
  chain: SolanaChain;
  decoded: PaymentTransaction;
  feePayer: string;
  payTo: string;
  transfer: Transfer;
  /** The transfer's authority: who pays. */
  payer: string;
}>;

type Refusal = Readonly<{ ok: false; reason: RefusalReason; payer?: string; message?: string }>;

const refuse = (reason: RefusalReason, details: { payer?: string; message?: string } = {}): Refusal => ({
  ok: false,
  reason,
  ...details,
});

const isRefusal = (value: Checked | Refusal): value is Refusal => "ok" in value;

const dataView = (data: Uint8Array) => new DataView(data.buffer, data.byteOffset, data.byteLength);

/** Whether `ix` is the Compute Budget instruction with this discriminator and exact data size. */
function isComputeBudget(
  ix: PaymentInstruction | undefined,
  layout: Readonly<{ discriminator: number; size: number }>,
): ix is PaymentInstruction {
  return (
    ix !== undefined &&
    ix.programId === computeBudgetProgramId &&
    ix.data.length === layout.size &&
    ix.data[0] === layout.discriminator
  );
}

/** Decodes an SPL Token / Token-2022 `TransferChecked`; `undefined` for anything else. */
function decodeTransferChecked(ix: PaymentInstruction | undefined): Transfer | undefined {
  const { discriminator, size } = instructionLayout.transferChecked;
  if (ix === undefined || !isTokenProgram(ix.programId)) return undefined;
  if (ix.data.length !== size || ix.data[0] !== discriminator) return undefined;
  const [source, mint, destination, authority] = ix.accounts;
  const decimals = ix.data[9];
  if (!source || !mint || !destination || !authority || decimals === undefined) return undefined;
  return {
    programId: ix.programId,
    source,
    mint,
    destination,
    authority,
    amount: dataView(ix.data).getBigUint64(1, true),
    decimals,
  };
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * The `exact` scheme on Solana for our facilitator: the payer's partially signed transaction (SetComputeUnitLimit,
 * SetComputeUnitPrice, TransferChecked to the payee's associated token account, then optionally Memo or Lighthouse)
 * is checked offline in a fixed order, then against chain state (mint decimals, source balance, destination
 * account) and a simulation, and settled by co-signing as the fee payer named in `extra.feePayer`. The fee payer
 * may appear in no instruction, so it pays only the transaction fee.
 *
 * Offline checks, in order (refusal keys of `refusalReasons`): scheme `exact` (`unsupported_scheme`); paid
 * network = required (`svm_network_mismatch`); a chain for it (`unsupported_network`); `extra.feePayer` present
 * (`svm_missing_fee_payer`) and ours (`svm_fee_payer_not_managed`); `extra.memo`, `asset`, `payTo` well formed
 * (`invalid_payment_requirements`); the operator's policy: an accepted asset (`asset_not_accepted`), payee
 * (`payee_not_accepted`) and amount (`amount_below_minimum`); payload shape (`invalid_payload`); the transaction decodes, canonical, no
 * lookup tables (`svm_transaction_undecodable`); account 0 = `extra.feePayer` (`svm_fee_payer_not_managed`) with
 * an empty signature slot (`svm_signature_invalid`); 3–7 instructions for v2, 3–6 for v1
 * (`svm_instructions_length`); SetComputeUnitLimit (`svm_compute_limit_instruction`); SetComputeUnitPrice
 * (`svm_compute_price_instruction`) within the cap (`svm_compute_price_too_high`); the whole fee (signatures and
 * limit × price) within `maxFeeLamports` (`svm_fee_too_high`); TransferChecked
 * (`svm_no_transfer_instruction`) whose authority is no fee payer of ours (`svm_fee_payer_transferring_funds`);
 * the fee payer in no instruction (`svm_fee_payer_in_instruction_accounts`); mint = `asset`
 * (`svm_mint_mismatch`); destination = ATA(`payTo`, mint) (`svm_recipient_mismatch`); amount = required
 * (`svm_amount_mismatch`); further instructions only Memo or Lighthouse (`svm_unknown_instruction`); with
 * `extra.memo`, exactly one Memo (`svm_memo_count`) carrying it (`svm_memo_mismatch`); every other required
 * signature valid (`svm_signature_invalid`).
 * On chain: the mint's decimals = the transfer's (`svm_amount_mismatch`); the source token account exists
 * (`svm_sender_account_missing`), holds the mint (`svm_mint_mismatch`), is not owned by a fee payer of ours
 * (`svm_fee_payer_transferring_funds`) and holds enough (`svm_insufficient_balance`); the destination exists
 * (`svm_receiver_account_missing`) and is the payee's account of the mint (`svm_recipient_mismatch`); the
 * co-signed transaction simulates (`svm_simulation_failed`).
 * Settle runs the same checks, lets the send's preflight be the simulation, and confirms: a failed transaction
 * is `svm_transaction_failed`, no confirmation in time `svm_confirmation_timed_out`, both with the signature.
 *
 * @example
 * ```ts
 * import { Connection, Keypair } from "@solana/web3.js";
 * import { createFacilitator } from "@tollgate/server/facilitator";
 * import { createConnectionSolanaChain, createExactSvmScheme } from "@tollgate/server/svm";
 * const chain = createConnectionSolanaChain({
 *   connection: new Connection(rpcUrl),
 *   network: "solana:5eykt4UsFv8P8NJdTREpY1vzqKqZKvdp",
 *   feePayer: Keypair.fromSecretKey(secretKey),
 * });
 * const facilitator = createFacilitator({ schemes: [createExactSvmScheme({ chains: [chain] })] });
 * ```
 * What it protects its operator from: the fee payer pays only for the configured assets (by default the registry's
 * USDC mint), never for a zero amount, only above `minAmount` and, with `payees`, only for those payees, and never
 * more than `maxFeeLamports` per settlement; it appears in no instruction, so it pays nothing but that fee. What it
 * cannot prevent: a payer who empties the source account between the simulation and the landing makes one settlement
 * fail on chain, and a failed transaction's fee (at most `maxFeeLamports`) is still charged.
 *
 * @throws `SERVER__INVALID_CONFIG` when two chains share a network, a chain has no fee payer, a limit is not
 * positive, or the payment policy is malformed (see `FacilitatorPaymentPolicy`).
 */
export function createExactSvmScheme(parameters: CreateExactSvmSchemeParameters): FacilitatorScheme {
  const {
    chains,
    maxComputeUnitPriceMicroLamports = 5_000_000,
    maxFeeLamports = 25_000n,
    lamportsPerSignature = 5_000n,
    registry = createNetworkRegistry(),
    chainCallTimeoutMs = 10_000,
    confirmTimeoutMs = 30_000,
  } = parameters;
  const maxPrice = BigInt(maxComputeUnitPriceMicroLamports);
  const invalid = invalidConfig;
  if (maxPrice < 0n) throw invalid("maxComputeUnitPriceMicroLamports", "must not be negative");
  if (typeof maxFeeLamports !== "bigint" || maxFeeLamports <= 0n)
    throw invalid("maxFeeLamports", "must be a positive bigint");
  if (typeof lamportsPerSignature !== "bigint" || lamportsPerSignature < 0n)
    throw invalid("lamportsPerSignature", "must be a non-negative bigint");
  if (!(chainCallTimeoutMs > 0)) throw invalid("chainCallTimeoutMs", "must be positive");
  if (!(confirmTimeoutMs > 0)) throw invalid("confirmTimeoutMs", "must be positive");
  const byNetwork = new Map<string, SolanaChain>();
  for (const chain of chains) {
    if (byNetwork.has(chain.network)) throw invalid("chains", `two chains serve ${chain.network}`);
    if (chain.feePayers.length === 0)
      throw invalid("chains", `the chain of ${chain.network} has no fee payer`);
    byNetwork.set(chain.network, chain);
  }
  const withinPolicy = resolvePaymentPolicy({
    policy: parameters,
    networks: [...byNetwork.keys()],
    registry,
    normalise: (address) => (isSolanaAddress(address) ? address : undefined),
  });
  /** Mint decimals never change: remembered by network, token program and mint. */
  const mintDecimals = new Map<string, number>();

  function checkOffline(payment: FacilitatorPayment): Checked | Refusal {
    const { requirement } = payment;
    if (requirement.scheme !== "exact" || payment.paidScheme !== "exact") return refuse("unsupported_scheme");
    if (payment.paidNetwork !== requirement.network) return refuse("svm_network_mismatch");
    const chain = byNetwork.get(requirement.network);
    if (!chain) return refuse("unsupported_network");
    const feePayer = requirement.extra.feePayer;
    if (typeof feePayer !== "string" || feePayer === "") return refuse("svm_missing_fee_payer");
    if (!chain.feePayers.includes(feePayer)) return refuse("svm_fee_payer_not_managed");
    const memo = requirement.extra.memo;
    if (memo !== undefined && (typeof memo !== "string" || Buffer.byteLength(memo, "utf8") > 256)) {
      return refuse("invalid_payment_requirements", { message: "extra.memo" });
    }
    if (!isSolanaAddress(requirement.asset) || !isSolanaAddress(requirement.payTo)) {
      return refuse("invalid_payment_requirements", { message: "asset or payTo is not a Solana address" });
    }
    // Before any chain call: the fee payer pays for what follows.
    const outsidePolicy = withinPolicy(requirement);
    if (outsidePolicy !== undefined) return refuse(outsidePolicy);
    const payload = exactSvmPayloadSchema.safeParse(payment.payload);
    if (!payload.success) return refuse("invalid_payload");
    const decoded = decodePaymentTransaction(payload.data.transaction);
    if ("ok" in decoded) return refuse("svm_transaction_undecodable", { message: decoded.message });

    const { accountKeys, instructions, transaction, messageBytes } = decoded;
    if (accountKeys[0] !== feePayer) {
      return refuse("svm_fee_payer_not_managed", {
        message: "the transaction's fee payer is not extra.feePayer",
      });
    }
    if (!isEmptySignature(transaction.signatures[0])) {
      return refuse("svm_signature_invalid", { message: "the fee payer's signature slot is not empty" });
    }
    const maxInstructions = payment.x402Version === 1 ? 6 : 7;
    if (instructions.length < 3 || instructions.length > maxInstructions)
      return refuse("svm_instructions_length");
    const [limitIx, priceIx, transferIx] = instructions;
    if (!isComputeBudget(limitIx, instructionLayout.setComputeUnitLimit)) {
      return refuse("svm_compute_limit_instruction");
    }
    if (!isComputeBudget(priceIx, instructionLayout.setComputeUnitPrice)) {
      return refuse("svm_compute_price_instruction");
    }
    const microLamportsPerUnit = dataView(priceIx.data).getBigUint64(1, true);
    if (microLamportsPerUnit > maxPrice) return refuse("svm_compute_price_too_high");
    // What the fee payer pays: every signature, and the priority fee rounded up, as the runtime charges it.
    const units = BigInt(dataView(limitIx.data).getUint32(1, true));
    const fee =
      BigInt(decoded.requiredSignatures) * lamportsPerSignature +
      (units * microLamportsPerUnit + 999_999n) / 1_000_000n;
    if (fee > maxFeeLamports) {
      return refuse("svm_fee_too_high", { message: `${fee} lamports, over the limit of ${maxFeeLamports}` });
    }
    const transfer = decodeTransferChecked(transferIx);
    if (!transfer) return refuse("svm_no_transfer_instruction");
    const payer = transfer.authority;
    if (chain.feePayers.includes(transfer.authority))
      return refuse("svm_fee_payer_transferring_funds", { payer });
    if (instructions.some((ix) => ix.programId === feePayer || ix.accounts.includes(feePayer))) {
      return refuse("svm_fee_payer_in_instruction_accounts", { payer });
    }
    if (transfer.mint !== requirement.asset) return refuse("svm_mint_mismatch", { payer });
    if (
      transfer.destination !== associatedTokenAddress(requirement.payTo, transfer.mint, transfer.programId)
    ) {
      return refuse("svm_recipient_mismatch", { payer });
    }
    if (transfer.amount !== requirement.amount) return refuse("svm_amount_mismatch", { payer });
    const optional = instructions.slice(3);
    if (optional.some((ix) => ix.programId !== memoProgramId && ix.programId !== lighthouseProgramId)) {
      return refuse("svm_unknown_instruction", { payer });
    }
    if (typeof memo === "string" && memo !== "") {
      const memos = optional.filter((ix) => ix.programId === memoProgramId);
      if (memos.length !== 1) return refuse("svm_memo_count", { payer });
      if (!Buffer.from(memo, "utf8").equals(memos[0]?.data ?? new Uint8Array())) {
        return refuse("svm_memo_mismatch", { payer });
      }
    }
    const keys = transaction.message.staticAccountKeys;
    for (let i = 1; i < decoded.requiredSignatures; i++) {
      const signature = transaction.signatures[i];
      const key = keys[i];
      if (signature === undefined || key === undefined || isEmptySignature(signature)) {
        return refuse("svm_signature_invalid", { payer, message: `missing signature of ${accountKeys[i]}` });
      }
      if (!verifyEd25519(key.toBytes(), messageBytes, signature)) {
        return refuse("svm_signature_invalid", { payer, message: `bad signature of ${accountKeys[i]}` });
      }
    }
    return { chain, decoded, feePayer, payTo: requirement.payTo, transfer, payer };
  }

  const timed = <T>(chain: SolanaChain, operation: string, signal: AbortSignal, run: () => Promise<T>) =>
    withChainTimeout(run, { network: chain.network, operation, timeoutMs: chainCallTimeoutMs, signal });

  /** The checks that read chain state: mint decimals, the source and the destination token accounts. */
  async function checkAccounts(checked: Checked, signal: AbortSignal): Promise<Refusal | undefined> {
    const { chain, transfer, payer, payTo } = checked;
    const mintKey = `${chain.network}|${transfer.programId}|${transfer.mint}`;
    const knownDecimals = mintDecimals.get(mintKey);
    const addresses = [transfer.source, transfer.destination];
    if (knownDecimals === undefined) addresses.push(transfer.mint);
    const accounts = await timed(chain, "getAccounts", signal, () => chain.getAccounts(addresses));
    const [source = null, destination = null, mint = null] = accounts;

    let decimals = knownDecimals;
    if (decimals === undefined) {
      decimals = mint?.programId === transfer.programId ? decodeMint(mint.data)?.decimals : undefined;
      if (decimals === undefined) return refuse("svm_mint_mismatch", { payer, message: "no such mint" });
      mintDecimals.set(mintKey, decimals);
    }
    if (decimals !== transfer.decimals) {
      return refuse("svm_amount_mismatch", { payer, message: `the mint has ${decimals} decimals` });
    }

    const from = source?.programId === transfer.programId ? decodeTokenAccount(source.data) : undefined;
    if (!from) return refuse("svm_sender_account_missing", { payer });
    if (from.mint !== transfer.mint) return refuse("svm_mint_mismatch", { payer });
    if (chain.feePayers.includes(from.owner)) return refuse("svm_fee_payer_transferring_funds", { payer });
    if (from.amount < transfer.amount) return refuse("svm_insufficient_balance", { payer });

    if (destination === null) return refuse("svm_receiver_account_missing", { payer });
    const to =
      destination.programId === transfer.programId ? decodeTokenAccount(destination.data) : undefined;
    if (!to || to.mint !== transfer.mint || to.owner !== payTo)
      return refuse("svm_recipient_mismatch", { payer });
    return undefined;
  }

  /** The payer's transaction with our fee payer signature in slot 0. */
  async function coSign(checked: Checked, signal: AbortSignal): Promise<VersionedTransaction> {
    const { chain, decoded, feePayer } = checked;
    const signature = await timed(chain, "signAsFeePayer", signal, () =>
      chain.signAsFeePayer(decoded.messageBytes, feePayer),
    );
    if (signature.length !== 64) {
      throw new TollgateError("CHAIN__CALL_FAILED", {
        context: { network: chain.network, operation: "signAsFeePayer" },
      });
    }
    return new VersionedTransaction(decoded.transaction.message, [
      signature,
      ...decoded.transaction.signatures.slice(1),
    ]);
  }

  async function verify(payment: FacilitatorPayment, context: SchemeCallContext): Promise<VerifyOutcome> {
    const checked = checkOffline(payment);
    if (isRefusal(checked)) return checked;
    const { chain, payer } = checked;
    // The reads and the simulation are independent: run them together, and let a read's precise reason win.
    const [accounts, simulation] = await Promise.allSettled([
      checkAccounts(checked, context.signal),
      coSign(checked, context.signal).then((signed) =>
        timed(chain, "simulate", context.signal, () => chain.simulate(signed)),
      ),
    ]);
    if (accounts.status === "rejected") throw accounts.reason;
    if (accounts.value) return accounts.value;
    if (simulation.status === "rejected") throw simulation.reason;
    if (!simulation.value.ok) {
      return refuse("svm_simulation_failed", { payer, message: simulation.value.error });
    }
    return { ok: true, payer };
  }

  async function settle(payment: FacilitatorPayment, context: SchemeCallContext): Promise<SettleOutcome> {
    const checked = checkOffline(payment);
    if (isRefusal(checked)) return checked;
    const { chain, payer } = checked;
    let signed: VersionedTransaction;
    try {
      const refusal = await checkAccounts(checked, context.signal);
      if (refusal) return refusal;
      signed = await coSign(checked, context.signal);
    } catch (error) {
      // Nothing was sent: a refusal without a transaction releases the claim, so the payment can be retried
      // (a re-sent transaction is the same transaction: the chain lands it at most once).
      return refuse("unexpected_settle_error", { payer, message: messageOf(error) });
    }
    // The fee payer's signature is the transaction id, known before anything is sent.
    const transaction = encodeBase58(signed.signatures[0] ?? new Uint8Array(64));
    let sent: SolanaSendOutcome;
    try {
      sent = await timed(chain, "send", context.signal, () => chain.send(signed));
    } catch (error) {
      // It may have gone out: report it pending under its signature, so its status can be checked later.
      return {
        ok: false,
        reason: "svm_confirmation_timed_out",
        payer,
        transaction,
        message: messageOf(error),
      };
    }
    if (!sent.ok) {
      // Refused before broadcast. Already processed means an earlier settlement of this very transaction landed.
      return sent.alreadyProcessed
        ? { ok: false, reason: "duplicate_settlement", payer, transaction }
        : refuse("svm_simulation_failed", { payer, message: sent.error });
    }
    try {
      const confirmation = await withChainTimeout(
        () => chain.confirm(transaction, { timeoutMs: confirmTimeoutMs }),
        {
          network: chain.network,
          operation: "confirm",
          timeoutMs: confirmTimeoutMs + 1_000,
          signal: context.signal,
        },
      );
      if (confirmation.status === "confirmed") return { ok: true, payer, transaction };
      if (confirmation.status === "failed") {
        return {
          ok: false,
          reason: "svm_transaction_failed",
          payer,
          transaction,
          message: confirmation.error,
        };
      }
      return { ok: false, reason: "svm_confirmation_timed_out", payer, transaction };
    } catch (error) {
      // Sent, outcome unknown: pending under its signature.
      return {
        ok: false,
        reason: "svm_confirmation_timed_out",
        payer,
        transaction,
        message: messageOf(error),
      };
    }
  }

  return Object.freeze({
    scheme: "exact",
    networks: Object.freeze(chains.map((chain) => chain.network)),
    signers: Object.freeze({ "solana:*": [...new Set(chains.flatMap((chain) => chain.feePayers))] }),
    supportedExtra(network: string) {
      const feePayer = byNetwork.get(network)?.feePayers[0];
      return feePayer === undefined ? undefined : { feePayer };
    },
    settlementKey(payment: FacilitatorPayment): string | undefined {
      const parsed = exactSvmPayloadSchema.safeParse(payment.payload);
      if (!parsed.success) return undefined;
      const message = messageBytesOf(Buffer.from(parsed.data.transaction, "base64"));
      return message === undefined ? undefined : `${payment.requirement.network}:${sha256Hex(message)}`;
    },
    verify,
    settle,
  });
}

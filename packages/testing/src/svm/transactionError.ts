/**
 * A Solana `TransactionError` variant name, as `getSignatureStatuses` names it in JSON (`"AlreadyProcessed"`,
 * `{ "InstructionError": [2, …] }`), or `"Unknown"` for a message this table does not know.
 */
export type SvmTransactionErrorName =
  | "AccountInUse"
  | "AccountLoadedTwice"
  | "AccountNotFound"
  | "ProgramAccountNotFound"
  | "InsufficientFundsForFee"
  | "InvalidAccountForFee"
  | "AlreadyProcessed"
  | "BlockhashNotFound"
  | "InstructionError"
  | "CallChainTooDeep"
  | "MissingSignatureForFee"
  | "InvalidAccountIndex"
  | "SignatureFailure"
  | "InvalidProgramForExecution"
  | "SanitizeFailure"
  | "UnsupportedVersion"
  | "InvalidWritableAccount"
  | "TooManyAccountLocks"
  | "AddressLookupTableNotFound"
  | "InvalidAddressLookupTableOwner"
  | "InvalidAddressLookupTableData"
  | "InvalidAddressLookupTableIndex"
  | "InvalidRentPayingAccount"
  | "DuplicateInstruction"
  | "InsufficientFundsForRent"
  | "Unknown";

/**
 * A transaction error of the bank, by stable variant name, with the bank's own message kept as data.
 *
 * @example
 * ```ts
 * if (!result.ok) expect(result.error.name).toBe("SignatureFailure");
 * ```
 */
export type SvmTransactionError = Readonly<{
  /** The `TransactionError` variant: assert on this, not on `message`. */
  name: SvmTransactionErrorName;
  /** Index of the failing instruction, for `InstructionError`. */
  instructionIndex?: number;
  /** The bank's message (the error's `Display` text), e.g. `Error processing Instruction 2: custom program error: 0x1`. */
  message: string;
}>;

/** `Display` texts of solana-sdk's `TransactionError` that bankrun returns as `result` strings. */
const exactMessages: ReadonlyMap<string, SvmTransactionErrorName> = new Map([
  ["Account in use", "AccountInUse"],
  ["Account loaded twice", "AccountLoadedTwice"],
  ["Attempt to debit an account but found no record of a prior credit.", "AccountNotFound"],
  ["Attempt to load a program that does not exist", "ProgramAccountNotFound"],
  ["Insufficient funds for fee", "InsufficientFundsForFee"],
  ["This account may not be used to pay transaction fees", "InvalidAccountForFee"],
  ["This transaction has already been processed", "AlreadyProcessed"],
  ["Blockhash not found", "BlockhashNotFound"],
  ["Loader call chain is too deep", "CallChainTooDeep"],
  ["Transaction requires a fee but has no signature present", "MissingSignatureForFee"],
  ["Transaction contains an invalid account reference", "InvalidAccountIndex"],
  ["Transaction did not pass signature verification", "SignatureFailure"],
  ["This program may not be used for executing instructions", "InvalidProgramForExecution"],
  ["Transaction failed to sanitize accounts offsets correctly", "SanitizeFailure"],
  ["Transaction version is unsupported", "UnsupportedVersion"],
  ["Transaction loads a writable account that cannot be written", "InvalidWritableAccount"],
  ["Transaction locked too many accounts", "TooManyAccountLocks"],
  ["Transaction loads an address table account that doesn't exist", "AddressLookupTableNotFound"],
  ["Transaction loads an address table account with an invalid owner", "InvalidAddressLookupTableOwner"],
  ["Transaction loads an address table account with invalid data", "InvalidAddressLookupTableData"],
  ["Transaction address table lookup uses an invalid index", "InvalidAddressLookupTableIndex"],
  ["Transaction leaves an account with a lower balance than rent-exempt minimum", "InvalidRentPayingAccount"],
]);

/**
 * Names a bankrun transaction error message by its `TransactionError` variant, so tests can assert a code.
 *
 * @example
 * ```ts
 * import { parseSvmTransactionError } from "@tollgate/testing";
 * parseSvmTransactionError("This transaction has already been processed").name; // "AlreadyProcessed"
 * parseSvmTransactionError("Error processing Instruction 2: custom program error: 0x1").instructionIndex; // 2
 * ```
 */
export function parseSvmTransactionError(message: string): SvmTransactionError {
  const exact = exactMessages.get(message);
  if (exact !== undefined) return { name: exact, message };
  const instruction = /^Error processing Instruction (\d+): /.exec(message);
  if (instruction) return { name: "InstructionError", instructionIndex: Number(instruction[1]), message };
  if (/^Transaction contains a duplicate instruction \(\d+\)/.test(message)) {
    return { name: "DuplicateInstruction", message };
  }
  if (/^Transaction results in an account \(\d+\) with insufficient funds for rent/.test(message)) {
    return { name: "InsufficientFundsForRent", message };
  }
  return { name: "Unknown", message };
}

import { PublicKey, TransactionMessage, VersionedTransaction } from "@solana/web3.js";
import { type ServedFetch, serveFetch } from "@tollgate/server";
import { createBankSolanaChain } from "./bankSolanaChain.js";
import { encodeBase58 } from "./base58.js";
import type { RecordedTokenBalance, RecordedTransaction } from "./recordedTransaction.js";
import type { SolanaBank } from "./solanaBank.js";
import { parseSvmTransactionError, type SvmTransactionError } from "./transactionError.js";

/** One JSON-RPC call the node received. */
export type SolanaRpcCall = Readonly<{ method: string; params: readonly unknown[] }>;

/** Parameters of `startSolanaRpc`. */
export type StartSolanaRpcParameters = Readonly<{
  /** The in-process bank from `startSolanaBank` that answers the calls. */
  bank: SolanaBank;
  /**
   * Sees every call first. What it returns replaces the bank's answer: a JSON-RPC answer (`{ result }` or
   * `{ error }`, sent with the call's id) or a whole HTTP `Response`; `undefined` lets the bank answer. For
   * outages, slow nodes and odd answers in tests.
   * @default none
   */
  intercept?: (
    call: SolanaRpcCall,
  ) => SolanaRpcAnswer | Response | undefined | Promise<SolanaRpcAnswer | Response | undefined>;
  /**
   * Loopback port to listen on.
   * @default 0 (a free port)
   */
  port?: number;
}>;

/** A Solana JSON-RPC node on loopback, backed by the bank. */
export type SolanaRpc = Readonly<{
  /** `http://127.0.0.1:<port>`: give it to `new Connection(url)`. */
  url: string;
  /** Stops listening and closes open connections. */
  close(): Promise<void>;
}>;

/** The methods the node answers, as a Solana RPC node does (the subset Tollgate and typical clients call). */
export const solanaRpcMethods = [
  "getLatestBlockhash",
  "isBlockhashValid",
  "getBlockHeight",
  "getSlot",
  "getBalance",
  "getAccountInfo",
  "getMultipleAccounts",
  "simulateTransaction",
  "sendTransaction",
  "getSignatureStatuses",
  "getSignaturesForAddress",
  "getTransaction",
] as const;

/** A JSON-RPC answer without its envelope: a result or an error. */
export type SolanaRpcAnswer =
  | Readonly<{ result: unknown }>
  | Readonly<{ error: Readonly<{ code: number; message: string; data?: unknown }> }>;

/** A transaction error in the JSON shape RPC nodes give it (`"AlreadyProcessed"`, `{ InstructionError: [2, { Custom: 1 }] }`). */
function errorJson(error: SvmTransactionError): unknown {
  if (error.name !== "InstructionError") return error.name;
  const custom = /custom program error: 0x([0-9a-f]+)/i.exec(error.message);
  return {
    InstructionError: [
      error.instructionIndex ?? 0,
      custom?.[1] === undefined ? "GenericError" : { Custom: Number.parseInt(custom[1], 16) },
    ],
  };
}

function tokenBalancesJson(balances: readonly RecordedTokenBalance[]) {
  return balances.map((b) => ({
    accountIndex: b.accountIndex,
    mint: b.mint,
    owner: b.owner,
    programId: b.programId,
    uiTokenAmount: {
      amount: b.amount.toString(),
      decimals: b.decimals,
      uiAmount: null,
      uiAmountString: formatUnits(b.amount, b.decimals),
    },
  }));
}

/** `amount` atomic units as a decimal string with `decimals` places, trailing zeros trimmed. */
function formatUnits(amount: bigint, decimals: number): string {
  const scale = 10n ** BigInt(decimals);
  const fraction = (amount % scale).toString().padStart(decimals, "0").replace(/0+$/, "");
  return fraction === "" ? (amount / scale).toString() : `${amount / scale}.${fraction}`;
}

/** `getTransaction`'s answer for a recorded transaction, in `json`, `jsonParsed` or `base64` encoding. */
function transactionJson(recorded: RecordedTransaction, encoding: string): unknown {
  const transaction = VersionedTransaction.deserialize(recorded.wire);
  const message = transaction.message;
  const staticKeys = message.staticAccountKeys.length;
  const lookups = message.addressTableLookups;
  const writableLoaded = lookups.reduce((n, l) => n + l.writableIndexes.length, 0);
  const loaded = recorded.accountKeys.slice(staticKeys);
  const meta = {
    err: recorded.err === null ? null : errorJson(recorded.err),
    status: recorded.err === null ? { Ok: null } : { Err: errorJson(recorded.err) },
    fee: 5000 * message.header.numRequiredSignatures,
    preBalances: recorded.preBalances.map(Number),
    postBalances: recorded.postBalances.map(Number),
    innerInstructions: [],
    logMessages: [...recorded.logMessages],
    preTokenBalances: tokenBalancesJson(recorded.preTokenBalances),
    postTokenBalances: tokenBalancesJson(recorded.postTokenBalances),
    rewards: [],
    loadedAddresses: { writable: loaded.slice(0, writableLoaded), readonly: loaded.slice(writableLoaded) },
    computeUnitsConsumed: Number(recorded.computeUnitsConsumed),
  };
  const parsedBody = () => ({
    signatures: [...recorded.signatures],
    message: {
      accountKeys: recorded.accountKeys.map((pubkey, i) => ({
        pubkey,
        signer: i < message.header.numRequiredSignatures,
        writable: message.isAccountWritable(i),
        source: i < staticKeys ? "transaction" : "lookupTable",
      })),
      recentBlockhash: message.recentBlockhash,
      // Partially decoded, as a node gives instructions of programs it has no parser for.
      instructions: recorded.instructions.map((ix) => ({
        programId: ix.programId,
        accounts: [...ix.accounts],
        data: encodeBase58(ix.data),
        stackHeight: null,
      })),
    },
  });
  const body =
    encoding === "base64"
      ? [Buffer.from(recorded.wire).toString("base64"), "base64"]
      : encoding === "jsonParsed"
        ? parsedBody()
        : {
            signatures: [...recorded.signatures],
            message: {
              accountKeys: message.staticAccountKeys.map((key) => key.toBase58()),
              header: message.header,
              recentBlockhash: message.recentBlockhash,
              instructions: message.compiledInstructions.map((ix) => ({
                programIdIndex: ix.programIdIndex,
                accounts: [...ix.accountKeyIndexes],
                data: encodeBase58(ix.data),
                stackHeight: null,
              })),
              ...(message.version === 0
                ? {
                    addressTableLookups: lookups.map((l) => ({
                      accountKey: l.accountKey.toBase58(),
                      writableIndexes: [...l.writableIndexes],
                      readonlyIndexes: [...l.readonlyIndexes],
                    })),
                  }
                : {}),
            },
          };
  return {
    slot: Number(recorded.slot),
    blockTime: Number(recorded.blockTime),
    version: message.version,
    transaction: body,
    meta,
  };
}

/** Reads `params[index]` as an options object. */
function optionsAt(params: readonly unknown[], index: number): Record<string, unknown> {
  const value = params[index];
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
}

/**
 * Starts a Solana JSON-RPC node on loopback whose state is the bank's, so code written against a real
 * `@solana/web3.js` `Connection` (a production RPC adapter, a wallet) runs offline on real transactions.
 * Sends preflight like a node (signatures checked), land at once, and are recorded for `getTransaction` and
 * `getSignaturesForAddress`. Answers the methods in `solanaRpcMethods`; others get JSON-RPC error -32601.
 * There is no websocket endpoint: confirm by polling `getSignatureStatuses`.
 *
 * @example
 * ```ts
 * import { Connection } from "@solana/web3.js";
 * import { startSolanaBank, startSolanaRpc } from "@tollgate/testing";
 * const bank = await startSolanaBank();
 * const rpc = await startSolanaRpc({ bank });
 * const connection = new Connection(rpc.url, "confirmed");
 * await connection.getLatestBlockhash();
 * await rpc.close();
 * ```
 */
export async function startSolanaRpc(parameters: StartSolanaRpcParameters): Promise<SolanaRpc> {
  const { bank, intercept, port = 0 } = parameters;
  const chain = createBankSolanaChain({ bank });
  const { banksClient } = bank;

  const context = async () => ({ slot: Number(await banksClient.getSlot()) });
  const decode = (base64: unknown) => VersionedTransaction.deserialize(Buffer.from(String(base64), "base64"));
  const accountJson = (account: Awaited<ReturnType<typeof banksClient.getAccount>>) =>
    account === null
      ? null
      : {
          data: [Buffer.from(account.data).toString("base64"), "base64"],
          executable: account.executable,
          lamports: Number(account.lamports),
          owner: account.owner.toBase58(),
          rentEpoch: 0,
          space: account.data.length,
        };

  async function answer(call: SolanaRpcCall): Promise<SolanaRpcAnswer> {
    const { params } = call;
    switch (call.method) {
      case "getLatestBlockhash": {
        const { blockhash, lastValidBlockHeight } = await bank.latestBlockhash();
        return {
          result: {
            context: await context(),
            value: { blockhash, lastValidBlockHeight: Number(lastValidBlockHeight) },
          },
        };
      }
      case "isBlockhashValid": {
        // As a node decides it: the bank prices a message on that blockhash only while the blockhash is live.
        const message = new TransactionMessage({
          payerKey: bank.feePayer.publicKey,
          recentBlockhash: String(params[0]),
          instructions: [],
        }).compileToLegacyMessage();
        const fee = await banksClient.getFeeForMessage(message).catch(() => null);
        return { result: { context: await context(), value: fee !== null } };
      }
      case "getBlockHeight":
        return { result: Number(await banksClient.getBlockHeight()) };
      case "getSlot":
        return { result: Number(await banksClient.getSlot()) };
      case "getBalance":
        return {
          result: { context: await context(), value: Number(await bank.lamports(String(params[0]))) },
        };
      case "getAccountInfo":
        return {
          result: {
            context: await context(),
            value: accountJson(await banksClient.getAccount(new PublicKey(String(params[0])))),
          },
        };
      case "getMultipleAccounts": {
        const addresses = Array.isArray(params[0]) ? (params[0] as unknown[]).map(String) : [];
        const accounts = await Promise.all(addresses.map((a) => banksClient.getAccount(new PublicKey(a))));
        return { result: { context: await context(), value: accounts.map(accountJson) } };
      }
      case "simulateTransaction": {
        const simulation = await chain.simulate(decode(params[0]));
        return {
          result: {
            context: await context(),
            value: {
              err: simulation.ok ? null : errorJson(parseSvmTransactionError(simulation.error)),
              logs: [...simulation.logs],
              accounts: null,
              unitsConsumed: 0,
              returnData: null,
            },
          },
        };
      }
      case "sendTransaction": {
        const sent = await chain.send(decode(params[0]));
        if (sent.ok) return { result: sent.signature };
        const error = parseSvmTransactionError(sent.error);
        return {
          error: {
            code: -32002,
            message: `Transaction simulation failed: ${sent.error}`,
            data: { err: errorJson(error), logs: [] },
          },
        };
      }
      case "getSignatureStatuses": {
        const signatures = Array.isArray(params[0]) ? (params[0] as unknown[]).map(String) : [];
        const value = await Promise.all(
          signatures.map(async (signature) => {
            const recorded = bank.getRecordedTransaction(signature);
            if (recorded === undefined) return null;
            const err = recorded.err === null ? null : errorJson(recorded.err);
            return {
              slot: Number(recorded.slot),
              confirmations: null,
              err,
              status: err === null ? { Ok: null } : { Err: err },
              confirmationStatus: "finalized",
            };
          }),
        );
        return { result: { context: await context(), value } };
      }
      case "getSignaturesForAddress": {
        const address = String(params[0]);
        const { limit = 1000, before, until } = optionsAt(params, 1);
        const newestFirst = [...bank.recordedTransactions()].reverse();
        const start = before === undefined ? 0 : newestFirst.findIndex((t) => t.signature === before) + 1;
        const end = until === undefined ? -1 : newestFirst.findIndex((t) => t.signature === until);
        const window = newestFirst.slice(start, end === -1 ? undefined : end);
        const result = window
          .filter((t) => t.accountKeys.includes(address))
          .slice(0, Math.min(Number(limit), 1000))
          .map((t) => ({
            signature: t.signature,
            slot: Number(t.slot),
            err: t.err === null ? null : errorJson(t.err),
            memo: null,
            blockTime: Number(t.blockTime),
            confirmationStatus: "finalized",
          }));
        return { result };
      }
      case "getTransaction": {
        const recorded = bank.getRecordedTransaction(String(params[0]));
        const { encoding = "json", maxSupportedTransactionVersion } = optionsAt(params, 1);
        if (recorded === undefined) return { result: null };
        if (encoding !== "json" && encoding !== "base64" && encoding !== "jsonParsed") {
          return {
            error: { code: -32602, message: `Invalid params: unsupported encoding ${String(encoding)}` },
          };
        }
        const version = VersionedTransaction.deserialize(recorded.wire).version;
        if (version === 0 && maxSupportedTransactionVersion === undefined) {
          return {
            error: {
              code: -32015,
              message:
                'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
            },
          };
        }
        return { result: transactionJson(recorded, String(encoding)) };
      }
      default:
        return { error: { code: -32601, message: "Method not found" } };
    }
  }

  const served: ServedFetch = await serveFetch({
    port,
    fetch: async (request) => {
      let call: { id?: unknown; method?: unknown; params?: unknown };
      try {
        call = (await request.json()) as typeof call;
      } catch {
        return Response.json({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Parse error" } });
      }
      const parsed: SolanaRpcCall = {
        method: String(call.method),
        params: Array.isArray(call.params) ? call.params : [],
      };
      const id = call.id ?? null;
      const intercepted = await intercept?.(parsed);
      if (intercepted instanceof Response) return intercepted;
      if (intercepted !== undefined) return Response.json({ jsonrpc: "2.0", id, ...intercepted });
      try {
        return Response.json({ jsonrpc: "2.0", id, ...(await answer(parsed)) });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return Response.json({ jsonrpc: "2.0", id, error: { code: -32602, message } });
      }
    },
  });
  return Object.freeze({ url: served.url, close: () => served.close() });
}

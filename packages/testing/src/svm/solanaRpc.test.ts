import { Connection, Keypair, SendTransactionError } from "@solana/web3.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveSvmTestKeypair } from "../keys.js";
import { type SolanaBank, startSolanaBank } from "./solanaBank.js";
import { type SolanaRpc, type SolanaRpcCall, startSolanaRpc } from "./solanaRpc.js";

/**
 * The kit's JSON-RPC node, driven by a real `@solana/web3.js` `Connection`: every answer must pass web3.js's own
 * response validation, and each reflects the bank's state after a real transfer.
 */
const payer = deriveSvmTestKeypair({ label: "solana-rpc/payer" });
const payee = deriveSvmTestKeypair({ label: "solana-rpc/payee" }).publicKey;

let bank: SolanaBank;
let rpc: SolanaRpc;
let connection: Connection;
const calls: SolanaRpcCall[] = [];
let outage = false;

beforeAll(async () => {
  bank = await startSolanaBank({
    payers: [payer.publicKey],
    payees: [payee],
    lamportsForPayers: { [payer.publicKey.toBase58()]: 1_000_000_000n },
  });
  rpc = await startSolanaRpc({
    bank,
    intercept: (call) => {
      calls.push(call);
      return outage ? { error: { code: -32005, message: "Node is behind" } } : undefined;
    },
  });
  connection = new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true });
});

afterAll(async () => {
  await rpc?.close();
});

/** A transfer the payer signs and pays the fee of (a blockhash read through the Connection is no different). */
const transfer = (amount: bigint) => bank.signedTransfer({ from: payer, to: payee, amount });

describe("startSolanaRpc under a web3.js Connection", () => {
  it("sends a transfer, reports its status, and serves it back by signature and by address", async () => {
    const lamportsBefore = await connection.getBalance(payer.publicKey);
    expect(BigInt(lamportsBefore)).toBe(await bank.lamports(payer.publicKey));
    const tokenBefore = await bank.tokenBalance(payee);

    const amount = 10_000n;
    const transaction = await transfer(amount);
    const signature = await connection.sendRawTransaction(transaction.serialize());
    expect(await bank.tokenBalance(payee)).toBe(tokenBefore + amount);

    const { value: statuses } = await connection.getSignatureStatuses([signature, "1".repeat(64)]);
    expect(statuses[0]).toMatchObject({ err: null, confirmationStatus: "finalized" });
    expect(statuses[1]).toBeNull();
    expect(await connection.getBalance(payer.publicKey)).toBeLessThan(lamportsBefore);

    const json = await connection.getTransaction(signature, { maxSupportedTransactionVersion: 0 });
    expect(json?.meta?.err).toBeNull();
    expect(json?.transaction.signatures).toEqual([signature]);
    expect(json?.transaction.message.serialize()).toEqual(transaction.message.serialize());

    const parsed = await connection.getParsedTransaction(signature, { maxSupportedTransactionVersion: 0 });
    const payeeBalance = (side: "pre" | "post") =>
      parsed?.meta?.[side === "pre" ? "preTokenBalances" : "postTokenBalances"]?.find(
        (b) => b.owner === payee.toBase58(),
      )?.uiTokenAmount.amount;
    expect(BigInt(payeeBalance("post") ?? "0") - BigInt(payeeBalance("pre") ?? "0")).toBe(amount);
    expect(parsed?.transaction.message.accountKeys[0]).toMatchObject({ signer: true, writable: true });

    const listed = await connection.getSignaturesForAddress(payer.publicKey, { limit: 5 });
    expect(listed[0]).toMatchObject({ signature, err: null });
    const second = await connection.sendRawTransaction((await transfer(1n)).serialize());
    const newest = await connection.getSignaturesForAddress(payer.publicKey, { limit: 1 });
    expect(newest.map((s) => s.signature)).toEqual([second]);
    const older = await connection.getSignaturesForAddress(payer.publicKey, { before: second, limit: 1 });
    expect(older.map((s) => s.signature)).toEqual([signature]);
  });

  it("refuses a transaction with a bad signature and a replay at preflight, as a node does", async () => {
    const forged = await transfer(5n);
    // One flipped bit: the signature no longer matches the message.
    forged.signatures[0]?.set([(forged.signatures[0][0] ?? 0) ^ 1], 0);
    await expect(connection.sendRawTransaction(forged.serialize())).rejects.toBeInstanceOf(
      SendTransactionError,
    );
    const transaction = await transfer(5n);
    await connection.sendRawTransaction(transaction.serialize());
    const replay = connection.sendRawTransaction(transaction.serialize());
    await expect(replay).rejects.toBeInstanceOf(SendTransactionError);
    await expect(replay).rejects.toMatchObject({ transactionError: { message: expect.any(String) } });
  });

  it("says whether a blockhash is still valid", async () => {
    const { blockhash } = await connection.getLatestBlockhash();
    expect((await connection.isBlockhashValid(blockhash)).value).toBe(true);
    expect((await connection.isBlockhashValid(Keypair.generate().publicKey.toBase58())).value).toBe(false);
  });

  it("lets a test replace answers, and answers an unknown method with -32601", async () => {
    calls.length = 0;
    outage = true;
    try {
      await expect(connection.getLatestBlockhash()).rejects.toThrow(/Node is behind/);
    } finally {
      outage = false;
    }
    expect(calls.map((c) => c.method)).toEqual(["getLatestBlockhash"]);
    const unknown = await fetch(rpc.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 7, method: "getVoteAccounts", params: [] }),
    });
    expect(await unknown.json()).toEqual({
      jsonrpc: "2.0",
      id: 7,
      error: { code: -32601, message: "Method not found" },
    });
  });
});

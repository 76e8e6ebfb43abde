import { Connection, VersionedTransaction } from "@solana/web3.js";
import { encodeBase58 } from "@tollgate/shared";
import {
  deriveSvmTestKeypair,
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
} from "@tollgate/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createConnectionDirectAccess } from "./connectionDirectAccess.js";

/**
 * The direct lane's JSON-RPC access against the kit's node over the bank: what it concludes when a send lands,
 * is refused, is lost by the node, or is sent twice.
 */
const payer = deriveSvmTestKeypair({ label: "connection-direct-access/payer" });
const payee = deriveSvmTestKeypair({ label: "connection-direct-access/payee" }).publicKey;

let bank: SolanaBank;
let rpc: SolanaRpc;
/** How the node misbehaves: accept sends and drop them; say every blockhash has expired. */
const node = { dropSends: false, expired: false, refuseSends: "", statusPolls: 0 };

beforeAll(async () => {
  bank = await startSolanaBank({
    payers: [payer.publicKey],
    payees: [payee],
    lamportsForPayers: { [payer.publicKey.toBase58()]: 1_000_000_000n },
  });
  rpc = await startSolanaRpc({
    bank,
    intercept: ({ method, params }) => {
      if (method === "getSignatureStatuses") node.statusPolls++;
      if (method === "sendTransaction" && node.refuseSends !== "") {
        const message = `Transaction simulation failed: ${node.refuseSends}`;
        return { error: { code: -32002, message, data: { err: node.refuseSends, logs: [] } } };
      }
      if (method === "sendTransaction" && node.dropSends) {
        const transaction = VersionedTransaction.deserialize(Buffer.from(String(params[0]), "base64"));
        return { result: encodeBase58(transaction.signatures[0] ?? new Uint8Array()) };
      }
      if (method === "isBlockhashValid" && node.expired) {
        return { result: { context: { slot: 1 }, value: false } };
      }
      return undefined;
    },
  });
});

afterAll(async () => {
  await rpc?.close();
  Object.assign(node, { dropSends: false, expired: false, refuseSends: "" });
});

const access = () =>
  createConnectionDirectAccess({
    connection: new Connection(rpc.url, { commitment: "confirmed", disableRetryOnRateLimit: true }),
    pollingIntervalMs: 5,
  });

async function transfer(): Promise<{ transaction: VersionedTransaction; signature: string }> {
  const transaction = await bank.signedTransfer({ from: payer, to: payee, amount: 1_000n });
  return { transaction, signature: encodeBase58(transaction.signatures[0] ?? new Uint8Array()) };
}

const confirmOf = (p: { transaction: VersionedTransaction; signature: string }, signal?: AbortSignal) => ({
  signature: p.signature,
  recentBlockhash: p.transaction.message.recentBlockhash,
  ...(signal === undefined ? {} : { signal }),
});

describe("createConnectionDirectAccess", () => {
  it("confirms a transfer that landed, also after a second send of it is refused as already processed", async () => {
    const direct = access();
    const paid = await transfer();
    expect(await direct.sendTransaction(paid.transaction)).toBe(paid.signature);
    expect(await direct.confirm(confirmOf(paid))).toBe(true);
    await expect(direct.sendTransaction(paid.transaction)).rejects.toThrow();
    expect(await direct.confirm(confirmOf(paid))).toBe(true);
    expect(bank.getRecordedTransaction(paid.signature)?.err).toBeNull();
  });

  it("says false for a transaction the node lost once its blockhash has expired", async () => {
    const direct = access();
    const lost = await transfer();
    node.dropSends = true;
    try {
      expect(await direct.sendTransaction(lost.transaction)).toBe(lost.signature);
    } finally {
      node.dropSends = false;
    }
    node.expired = true;
    try {
      expect(await direct.confirm(confirmOf(lost))).toBe(false);
    } finally {
      node.expired = false;
    }
    expect(bank.getRecordedTransaction(lost.signature)).toBeUndefined();
  });

  it("keeps polling while the blockhash is valid, and stops with the signal's reason when aborted", async () => {
    const direct = access();
    const lost = await transfer();
    node.dropSends = true;
    try {
      await direct.sendTransaction(lost.transaction);
    } finally {
      node.dropSends = false;
    }
    node.statusPolls = 0;
    const controller = new AbortController();
    const waiting = direct.confirm(confirmOf(lost, controller.signal));
    while (node.statusPolls < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error("caller gave up"));
    await expect(waiting).rejects.toThrow("caller gave up");
  });

  it("fails at once a send the node refused, but waits out a lagging node's unknown blockhash", async () => {
    const direct = access();
    const refused = await transfer();
    node.refuseSends = "Attempt to debit an account but found no record of a prior credit.";
    try {
      await expect(direct.sendTransaction(refused.transaction)).rejects.toThrow();
    } finally {
      node.refuseSends = "";
    }
    node.statusPolls = 0;
    expect(await direct.confirm(confirmOf(refused))).toBe(false);
    expect(node.statusPolls).toBe(1);

    // An earlier copy may still land while this node does not know the blockhash: keep polling.
    const lagging = await transfer();
    node.refuseSends = "Blockhash not found";
    try {
      await expect(direct.sendTransaction(lagging.transaction)).rejects.toThrow();
    } finally {
      node.refuseSends = "";
    }
    node.statusPolls = 0;
    const controller = new AbortController();
    const waiting = direct.confirm(confirmOf(lagging, controller.signal));
    while (node.statusPolls < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error("caller gave up"));
    await expect(waiting).rejects.toThrow("caller gave up");
  });
});

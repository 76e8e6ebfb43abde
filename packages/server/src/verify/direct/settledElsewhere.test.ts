// One on-chain transfer pays for one thing, whichever lane presents it. A facilitator settles an x402 payment by
// submitting the payer's signed authorization (EVM: EIP-3009 transferWithAuthorization; Solana: the payer's
// transfer with the facilitator as fee payer), and the receipt names that transaction: presented back as
// X-PAYMENT-TX with the payer's own binding, it must not pay a second time, on this server (whatever its store
// says) or on another server of the same payee (which never saw the settlement).
import { Connection, type Keypair } from "@solana/web3.js";
import { directBindingMessage, tokenHeaderNames } from "@tollgate/shared";
import {
  createBankSolanaChain,
  evmPayerAccounts,
  type SolanaBank,
  type SolanaRpc,
  startSolanaBank,
  startSolanaRpc,
  svmPayeeKeypairs,
  svmPayerKeypairs,
  type EvmChain as TestEvmChain,
} from "@tollgate/testing";
import { createWalletClient, type Hex, http, parseEther, toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  closeAll,
  heldSettleFacilitator,
  ourFacilitator,
  payee,
  paymentRequiredOf,
  receiptOf,
  serve,
  signPayment,
  startChain,
} from "../../../test/fixtures.js";
import { svmPaymentSignature } from "../../../test/svmFixtures.js";
import { createEvmDirectChain } from "../../evm/evmDirectChain.js";
import { createEvmSettlementCheck } from "../../evm/settlementCheck.js";
import { transferWithAuthorizationTypes } from "../../evm/usdcAbi.js";
import { createFacilitator, type Facilitator } from "../../facilitator/createFacilitator.js";
import { type CreatePaywallParameters, createPaywall, type Paywall } from "../../paywall.js";
import { createMemoryStore, type MemoryStore } from "../../store/memory.js";
import { encodeBase58 } from "../../svm/base58.js";
import { keypairSigner } from "../../svm/ed25519.js";
import { createExactSvmScheme } from "../../svm/exactSvmScheme.js";
import { createSvmDirectChain } from "../../svm/svmDirectChain.js";
import { transferClaimKey } from "../transferClaimKey.js";

const errorOf = async (response: Response) => ((await response.json()) as { error: string }).error;
const paywalls: Paywall[] = [];

afterAll(async () => {
  await Promise.all(paywalls.map((p) => p.close()));
  await closeAll();
});

describe("a facilitator settlement presented on the direct lane, EVM (anvil)", () => {
  let evm: TestEvmChain;
  let facilitatorUrl: string;
  const payer = evmPayerAccounts[1];
  const relayer = evmPayerAccounts[2];
  const network = "eip155:84532";

  beforeAll(async () => {
    evm = await startChain({
      ethForPayers: { [payer.address]: parseEther("1"), [relayer.address]: parseEther("1") },
    });
    facilitatorUrl = (await serve(ourFacilitator(evm).fetch)).url;
  });
  afterAll(() => evm?.stop());

  /** A paywall whose direct payee is its facilitator payee (as the README's quick start writes it). */
  async function server(parameters: Partial<CreatePaywallParameters> = {}) {
    const store = createMemoryStore();
    let runs = 0;
    const paywall = createPaywall({
      routes: { "GET /dear": "$1", "GET /cheap": "$0.01" },
      networks: ["base-sepolia"],
      payTo: payee,
      facilitators: [{ url: facilitatorUrl, name: "primary" }],
      direct: {
        networks: [{ chain: createEvmDirectChain({ publicClient: evm.publicClient }), payTo: payee }],
      },
      store,
      ...parameters,
    });
    paywalls.push(paywall);
    const { url } = await serve(
      paywall.fetch(() => {
        runs++;
        return Response.json({ content: "paid" });
      }),
    );
    return { url, store, runs: () => runs };
  }

  /** Pays `path` through the facilitator lane; returns the response and the receipt's transaction. */
  async function payByFacilitator(url: string, path: string) {
    const requirement = paymentRequiredOf(await fetch(`${url}${path}`)).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const header = await signPayment({ evm, payer, requirement });
    const response = await fetch(`${url}${path}`, { headers: { "payment-signature": header } });
    return { response, transaction: String(receiptOf(response)?.transaction ?? "") as Hex };
  }

  /** Presents `tx` on the direct lane with the payer's binding for `url`'s origin. */
  async function payDirect(url: string, path: string, tx: Hex) {
    const signature = await payer.signMessage({
      message: directBindingMessage({ network, tx, origin: new URL(url).origin }),
    });
    return fetch(`${url}${path}`, {
      headers: { "x-payment-tx": tx, "x-payment-chain": network, "x-payment-tx-sig": signature },
    });
  }

  it("is served once: the direct lane refuses the settlement's transaction here and on another server", async () => {
    const here = await server();
    const elsewhere = await server({ facilitators: [], store: createMemoryStore() });
    const before = await evm.balanceOf(payee);
    const { response, transaction } = await payByFacilitator(here.url, "/dear");
    expect(response.status).toBe(200);
    expect(transaction).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await evm.balanceOf(payee)).toBe(before + 1_000_000n);

    // Here the settlement's claim answers; another server of the payee reads what the transaction is.
    const again = await payDirect(here.url, "/dear", transaction);
    expect(again.status).toBe(402);
    expect(await errorOf(again)).toBe("replayed_payment");
    const other = await payDirect(elsewhere.url, "/dear", transaction);
    expect(other.status).toBe(402);
    expect(await errorOf(other)).toBe("direct_tx_relayed");
    expect([here.runs(), elsewhere.runs()]).toEqual([1, 0]);
    // The settled transaction is claimed under the direct lane's own key as well.
    expect(
      await here.store.getClaim(transferClaimKey({ network, family: "evm", transaction })),
    ).toMatchObject({ state: "settled" });
  });

  it("credits no token for a settlement below the direct minimum", async () => {
    const here = await server();
    const { response, transaction } = await payByFacilitator(here.url, "/cheap");
    expect(response.status).toBe(200);
    const again = await payDirect(here.url, "/cheap", transaction);
    expect(await errorOf(again)).toBe("replayed_payment");
    expect(again.headers.get(tokenHeaderNames.token)).toBeNull();
    const elsewhere = await server({ facilitators: [], store: createMemoryStore() });
    expect(await errorOf(await payDirect(elsewhere.url, "/cheap", transaction))).toBe("direct_tx_relayed");
    expect(again.headers.get(tokenHeaderNames.token)).toBeNull();
    expect(here.runs()).toBe(1);
  });

  it("refuses a settlement the chain check found after a lost /settle answer", async () => {
    const proxy = await heldSettleFacilitator(ourFacilitator(evm));
    const here = await server({
      facilitators: [{ url: proxy.url, name: "held", settleTimeoutMs: 200 }],
      settlementChecks: { [network]: createEvmSettlementCheck({ publicClient: evm.publicClient }) },
    });
    const requirement = paymentRequiredOf(await fetch(`${here.url}/dear`)).accepts[0];
    if (requirement === undefined) throw new Error("no requirement");
    const header = await signPayment({ evm, payer, requirement });
    const pending = await fetch(`${here.url}/dear`, { headers: { "payment-signature": header } });
    expect(await errorOf(pending)).toBe("settlement_pending");
    await proxy.release();
    const served = await fetch(`${here.url}/dear`, { headers: { "payment-signature": header } });
    expect(served.status).toBe(200);
    // The handler ran for the first attempt too, whose answer was discarded unpaid: count from here.
    const runs = here.runs();
    // The receipt names no transaction; the payer finds it on chain all the same.
    const block = await evm.publicClient.getBlock({ includeTransactions: false });
    const transaction = block.transactions[0] as Hex;
    const again = await payDirect(here.url, "/dear", transaction);
    expect(await errorOf(again)).toBe("direct_tx_relayed");
    expect(here.runs()).toBe(runs);
  });

  it("refuses the payer's own EIP-3009 transaction and a transferFrom someone else sent; takes a plain transfer", async () => {
    const here = await server({ facilitators: [] });
    const wallet = (account: typeof payer) =>
      createWalletClient({ account, chain: evm.chain, transport: http(evm.rpcUrl) });
    // An authorization the payer signed and submitted itself: it could also be presented on the facilitator lane.
    const message = {
      from: payer.address,
      to: payee,
      value: 1_000_000n,
      validAfter: 0n,
      validBefore: BigInt(Math.floor(Date.now() / 1000) + 600),
      nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
    };
    const signature = await payer.signTypedData({
      domain: evm.eip712Domain,
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message,
    });
    const ownAuthorization = await wallet(payer).writeContractSync({
      address: evm.token,
      abi: evm.abi,
      functionName: "transferWithAuthorization",
      args: [
        message.from,
        message.to,
        message.value,
        message.validAfter,
        message.validBefore,
        message.nonce,
        signature,
      ],
    });
    expect(await errorOf(await payDirect(here.url, "/dear", ownAuthorization.transactionHash))).toBe(
      "direct_tx_relayed",
    );
    // A pull by an approved relayer (the shape of a Permit2-style settlement): the payer did not send it.
    await wallet(payer).writeContractSync({
      address: evm.token,
      abi: evm.abi,
      functionName: "approve",
      args: [relayer.address, 1_000_000n],
    });
    const pulled = await wallet(relayer).writeContractSync({
      address: evm.token,
      abi: evm.abi,
      functionName: "transferFrom",
      args: [payer.address, payee, 1_000_000n],
    });
    expect(await errorOf(await payDirect(here.url, "/dear", pulled.transactionHash))).toBe(
      "direct_tx_relayed",
    );
    const plain = await wallet(payer).writeContractSync({
      address: evm.token,
      abi: evm.abi,
      functionName: "transfer",
      args: [payee, 1_000_000n],
    });
    expect((await payDirect(here.url, "/dear", plain.transactionHash)).status).toBe(200);
    expect(here.runs()).toBe(1);
  });
});

describe("a facilitator settlement presented on the direct lane, Solana (bank)", () => {
  let bank: SolanaBank;
  let rpc: SolanaRpc;
  let facilitator: Facilitator;
  const payer = svmPayerKeypairs[2];
  const svmPayee = svmPayeeKeypairs[1].publicKey.toBase58();
  const devnet = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";

  beforeAll(async () => {
    bank = await startSolanaBank({ lamportsForPayers: { [payer.publicKey.toBase58()]: 1_000_000_000n } });
    facilitator = createFacilitator({
      schemes: [createExactSvmScheme({ chains: [createBankSolanaChain({ bank })] })],
    });
    rpc = await startSolanaRpc({ bank });
  });
  afterAll(() => rpc?.close());

  async function server(selfSettle: Facilitator | undefined, store: MemoryStore = createMemoryStore()) {
    let runs = 0;
    // The production reader (and settlement check), over the kit's JSON-RPC view of the bank.
    const connection = new Connection(rpc.url, "confirmed");
    const paywall = createPaywall({
      routes: { "GET /dear": "$1", "GET /cheap": "$0.01" },
      networks: ["solana-devnet"],
      payTo: { "solana-devnet": svmPayee },
      ...(selfSettle === undefined ? {} : { selfSettle }),
      direct: {
        networks: [{ chain: createSvmDirectChain({ network: devnet, connection }), payTo: svmPayee }],
      },
      store,
    });
    paywalls.push(paywall);
    await paywall.ready();
    const app = paywall.fetch(() => {
      runs++;
      return Response.json({ content: "paid" });
    });
    const get = (path: string, headers: Record<string, string> = {}) =>
      app(new Request(`http://api.test${path}`, { headers }));
    return { get, store, runs: () => runs };
  }

  const direct = (tx: string, signer: Keypair = payer) => ({
    "x-payment-tx": tx,
    "x-payment-chain": "solana-devnet",
    "x-payment-tx-sig": encodeBase58(
      keypairSigner(signer)(
        new TextEncoder().encode(directBindingMessage({ network: devnet, tx, origin: "http://api.test" })),
      ),
    ),
  });

  it("is served once: the direct lane refuses the settlement's signature here and on another server", async () => {
    for (const path of ["/dear", "/cheap"]) {
      const here = await server(facilitator);
      const elsewhere = await server(undefined);
      const requirement = paymentRequiredOf(await here.get(path)).accepts[0];
      if (requirement === undefined) throw new Error("no requirement");
      const before = await bank.tokenBalance(svmPayee);
      const paid = await here.get(path, {
        "payment-signature": await svmPaymentSignature({ bank, payer, requirement }),
      });
      expect(paid.status).toBe(200);
      expect(await bank.tokenBalance(svmPayee)).toBe(before + BigInt(requirement.amount));
      const transaction = String(receiptOf(paid)?.transaction ?? "");
      expect(transaction).not.toBe("");

      const again = await here.get(path, direct(transaction));
      expect(again.status).toBe(402);
      expect(await errorOf(again)).toBe("replayed_payment");
      expect(again.headers.get(tokenHeaderNames.token)).toBeNull();
      expect(await errorOf(await elsewhere.get(path, direct(transaction)))).toBe("direct_tx_relayed");
      expect([here.runs(), elsewhere.runs()]).toEqual([1, 0]);
      expect(
        await here.store.getClaim(transferClaimKey({ network: devnet, family: "svm", transaction })),
      ).toMatchObject({ state: "settled" });
    }
  });

  it("still takes a transfer the payer sent and paid the fee for", async () => {
    const here = await server(undefined);
    const transfer = await bank.signedTransfer({
      from: payer,
      to: svmPayeeKeypairs[1].publicKey,
      amount: 1_000_000n,
    });
    const result = await bank.processTransaction(transfer);
    if (!result.ok) throw new Error("transfer failed");
    expect((await here.get("/dear", direct(result.signature))).status).toBe(200);
    expect(here.runs()).toBe(1);
  });
});

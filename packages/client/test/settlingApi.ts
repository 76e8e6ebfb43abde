import { decodeHeaderJson, encodeHeaderJson, exactEvmPayloadSchema } from "@tollgate/shared";
import type { EvmChain } from "@tollgate/testing";
import { type Loopback, serveLoopback } from "./loopback.js";

/** One authorization the API settled on chain: the money left the payer's wallet. */
export type SettledPayment = Readonly<{
  header: "PAYMENT-SIGNATURE" | "X-PAYMENT";
  /** The `network` the proof names (the `accepted` requirement's, or the v1 payload's). */
  network: string;
  value: bigint;
  nonce: string;
  transaction: string;
}>;

/** A running API that settles every proof it receives on anvil, whatever it offered. */
export type SettlingApi = Loopback & Readonly<{ settled: SettledPayment[]; unpaid: { count: number } }>;

function paid(transaction: string, network: string, payer: string): Response {
  return new Response(JSON.stringify({ paid: true }), {
    status: 200,
    headers: {
      "content-type": "application/json",
      "PAYMENT-RESPONSE": encodeHeaderJson({
        header: "PAYMENT-RESPONSE",
        value: { success: true, transaction, network, payer },
      }),
    },
  });
}

/** Parameters of `startSettlingApi`. */
export type SettlingApiParameters = Readonly<{
  evm: EvmChain;
  /** v2 requirements for the `PAYMENT-REQUIRED` header, sent verbatim. @default none (no header) */
  accepts?: readonly unknown[];
  /** The 402's JSON body, sent verbatim. @default {} */
  body?: unknown;
}>;

/**
 * A hostile (or merely careless) paid API for the client's tests: it answers 402 with exactly the offers it is
 * given, and settles every EIP-3009 authorization it receives on anvil itself (`transferWithAuthorization`, gas
 * paid by the kit's facilitator account), whatever network or price its offer named. What it settles is what left
 * the wallet; tests count that, not what the client believes.
 */
export async function startSettlingApi(parameters: SettlingApiParameters): Promise<SettlingApi> {
  const { evm, accepts, body = {} } = parameters;
  const settled: SettledPayment[] = [];
  const unpaid = { count: 0 };
  // One settling transaction at a time: they all come from the facilitator account.
  let queue: Promise<unknown> = Promise.resolve();
  const loopback = await serveLoopback(async (request) => {
    const signature = request.headers.get("payment-signature");
    const xPayment = request.headers.get("x-payment");
    await request.arrayBuffer();
    if (signature === null && xPayment === null) {
      unpaid.count += 1;
      const headers = new Headers({ "content-type": "application/json" });
      if (accepts !== undefined) {
        headers.set(
          "PAYMENT-REQUIRED",
          encodeHeaderJson({
            header: "PAYMENT-REQUIRED",
            value: { x402Version: 2, resource: { url: request.url }, accepts },
          }),
        );
      }
      return new Response(JSON.stringify(body), { status: 402, headers });
    }
    const header = signature !== null ? "PAYMENT-SIGNATURE" : "X-PAYMENT";
    // Read without our wire schemas: a hostile server takes whatever it is sent, and so settles it.
    const json = decodeHeaderJson({ header, value: (signature ?? xPayment) as string }) as {
      accepted?: { network?: string };
      network?: string;
      payload?: unknown;
    };
    const network = String(json.accepted?.network ?? json.network);
    const { authorization: a, signature: sig } = exactEvmPayloadSchema.parse(json.payload);
    // A proof sent again (the same Idempotency-Key) gets the answer of its first settlement, as a real server replays.
    const earlier = settled.find((p) => p.nonce === a.nonce);
    if (earlier !== undefined) return paid(earlier.transaction, network, a.from);
    const run = queue.then(() =>
      evm.walletClient.writeContractSync({
        address: evm.token,
        abi: evm.abi,
        functionName: "transferWithAuthorization",
        args: [
          a.from as `0x${string}`,
          a.to as `0x${string}`,
          BigInt(a.value),
          BigInt(a.validAfter),
          BigInt(a.validBefore),
          a.nonce as `0x${string}`,
          sig as `0x${string}`,
        ],
      }),
    );
    queue = run.catch(() => undefined);
    const receipt = await run;
    settled.push({
      header,
      network,
      value: BigInt(a.value),
      nonce: a.nonce,
      transaction: receipt.transactionHash,
    });
    return paid(receipt.transactionHash, network, a.from);
  });
  return { ...loopback, settled, unpaid };
}

import {
  decodeHeaderJson,
  encodeHeaderJson,
  isTollgateError,
  type PaymentRequirementsV2,
  paymentPayloadV1Schema,
  paymentPayloadV2Schema,
  type TollgateError,
  transferWithAuthorizationTypes,
} from "@tollgate/shared";
import { verifyTypedData } from "viem";
import { type Loopback, serveLoopback } from "./loopback.js";

/** Base Sepolia's USDC, as the registry has it. */
export const baseSepoliaUsdc = "0x036CbD53842c5426634e7929541eC2318f3dCF7e";
export const payee = "0x00000000000000000000000000000000000000a1";

/** A v2 requirement on Base Sepolia USDC. */
export function requirement(overrides: Partial<PaymentRequirementsV2> = {}): PaymentRequirementsV2 {
  return {
    scheme: "exact",
    network: "eip155:84532",
    amount: "10000",
    asset: baseSepoliaUsdc,
    payTo: payee,
    maxTimeoutSeconds: 60,
    extra: { name: "USDC", version: "2" },
    ...overrides,
  };
}

/**
 * A hybrid 402 offering only a direct transfer of 10000 Base Sepolia USDC to `payee` (no binding), its chain
 * proof in the header named `chainHeader`.
 */
export function directOffer402(parameters: Readonly<{ chainHeader?: string }> = {}): Response {
  const { chainHeader = "X-PAYMENT-CHAIN" } = parameters;
  const option = {
    provider: "direct",
    type: "direct_transfer",
    priority: 2,
    networks: [
      {
        network: "eip155:84532",
        asset: baseSepoliaUsdc,
        payTo: payee,
        amount: "10000",
        min_amount: "10000",
        confirmations: 1,
        max_age_seconds: 600,
        binding_required: false,
      },
    ],
    headers: { tx: "X-PAYMENT-TX", chain: chainHeader, signature: "X-PAYMENT-TX-SIG" },
  };
  return Response.json(
    { x402Version: 1, error: "payment_required", accepts: [], payment_options: [option] },
    { status: 402 },
  );
}

/**
 * A 402 refusal as an x402 v2 server sends it after its facilitator refused a proof: `error` and the
 * requirements in `PAYMENT-REQUIRED`, `{}` as the body, and `Retry-After` when given.
 */
export function refusal402(
  parameters: Readonly<{
    error: string;
    /** @default [requirement()] */
    accepts?: PaymentRequirementsV2[];
    /** @default "http://127.0.0.1/r" */
    resourceUrl?: string;
    retryAfter?: string;
  }>,
): Response {
  const { error, accepts = [requirement()], resourceUrl = "http://127.0.0.1/r", retryAfter } = parameters;
  return new Response("{}", {
    status: 402,
    headers: {
      "PAYMENT-REQUIRED": encodeHeaderJson({
        header: "PAYMENT-REQUIRED",
        value: { x402Version: 2, error, resource: { url: resourceUrl }, accepts },
      }),
      ...(retryAfter === undefined ? {} : { "Retry-After": retryAfter }),
    },
  });
}

/** The `TollgateError` that `promise` rejects with; throws when it resolves or rejects with anything else. */
export async function failure(promise: Promise<unknown>): Promise<TollgateError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isTollgateError(error)) throw new Error(`expected a TollgateError, got ${String(error)}`);
  return error;
}

/** A payment the fake API accepted: its decoded header, with the EIP-712 signature checked. */
export type AcceptedPayment = Readonly<{
  header: "PAYMENT-SIGNATURE" | "X-PAYMENT";
  amount: bigint;
  nonce: string;
  idempotencyKey: string | null;
  body: string;
  payload: Record<string, unknown>;
}>;

/** A running fake paid API. */
export type PaidApi = Loopback & Readonly<{ payments: AcceptedPayment[]; state: { unpaid: number } }>;

/** Parameters of `startPaidApi`. */
export type PaidApiParameters = Readonly<{
  /** v2 requirements for the `PAYMENT-REQUIRED` header. @default [requirement()] */
  accepts?: readonly unknown[];
  /** A JSON body for the 402 (v1 or hybrid). @default {} */
  body?: unknown;
  /** Whether to send the v2 header. @default true */
  header?: boolean;
  /** Answer a paid request; default 200 with a PAYMENT-RESPONSE. */
  onPaid?: (payment: AcceptedPayment, request: Request) => Response | Promise<Response>;
}>;

/**
 * A paid API for client tests: answers 402 with the given offers, and accepts any proof whose EIP-3009 signature
 * recovers to its `from` (it settles nothing; the end-to-end tests settle on anvil).
 */
export async function startPaidApi(parameters: PaidApiParameters = {}): Promise<PaidApi> {
  const { accepts = [requirement()], body = {}, header = true, onPaid } = parameters;
  const payments: AcceptedPayment[] = [];
  const state = { unpaid: 0 };
  const loopback = await serveLoopback(async (request) => {
    const signature = request.headers.get("payment-signature");
    const xPayment = request.headers.get("x-payment");
    const text = await request.text();
    if (signature === null && xPayment === null) {
      state.unpaid += 1;
      const headers = new Headers({ "content-type": "application/json" });
      if (header) {
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
    const name = signature !== null ? "PAYMENT-SIGNATURE" : "X-PAYMENT";
    const json = decodeHeaderJson({ header: name, value: (signature ?? xPayment) as string });
    const decoded =
      name === "PAYMENT-SIGNATURE" ? paymentPayloadV2Schema.parse(json) : paymentPayloadV1Schema.parse(json);
    const payload = decoded.payload as {
      signature: `0x${string}`;
      authorization: Record<string, string>;
    };
    const a = payload.authorization;
    const accepted =
      "accepted" in decoded ? (decoded.accepted as { extra: unknown; asset: string }) : undefined;
    const extra = accepted
      ? (accepted.extra as { name: string; version: string })
      : { name: "USDC", version: "2" };
    const asset = accepted ? accepted.asset : baseSepoliaUsdc;
    const valid = await verifyTypedData({
      address: a.from as `0x${string}`,
      domain: {
        name: extra.name,
        version: extra.version,
        chainId: 84532,
        verifyingContract: asset as `0x${string}`,
      },
      types: transferWithAuthorizationTypes,
      primaryType: "TransferWithAuthorization",
      message: {
        from: a.from as `0x${string}`,
        to: a.to as `0x${string}`,
        value: BigInt(a.value as string),
        validAfter: BigInt(a.validAfter as string),
        validBefore: BigInt(a.validBefore as string),
        nonce: a.nonce as `0x${string}`,
      },
      signature: payload.signature,
    });
    if (!valid) return new Response("bad signature", { status: 400 });
    const payment: AcceptedPayment = {
      header: name,
      amount: BigInt(a.value as string),
      nonce: a.nonce as string,
      idempotencyKey: request.headers.get("idempotency-key"),
      body: text,
      payload: payload as unknown as Record<string, unknown>,
    };
    payments.push(payment);
    if (onPaid) return onPaid(payment, request);
    return new Response(JSON.stringify({ paid: true }), {
      status: 200,
      headers: {
        "content-type": "application/json",
        "PAYMENT-RESPONSE": encodeHeaderJson({
          header: "PAYMENT-RESPONSE",
          value: {
            success: true,
            transaction: `0x${"ab".repeat(32)}`,
            network: "eip155:84532",
            payer: a.from,
          },
        }),
      },
    });
  });
  return { ...loopback, payments, state };
}

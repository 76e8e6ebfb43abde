import { readFileSync } from "node:fs";
import type {
  PaymentPayload,
  PaymentRequired,
  SettleRequest,
  SettleResponse,
  VerifyRequest,
  VerifyResponse,
} from "@x402/core/types";
import type {
  PaymentPayload as PaymentPayloadV1,
  PaymentRequirements as PaymentRequirementsV1,
} from "x402/types";

// Golden wire samples produced by the reference SDKs (@x402/* 2.27.0, x402 / x402-express 1.2.0) with
// `node packages/shared/scripts/golden.mjs`. `peerSchemas.test.ts` proves each one parses with the SDKs' own
// schemas and that each header decodes, with the SDKs' own decoders, to the stored value. Use them to feed our
// own schemas and codecs. Timestamps are relative to a frozen clock (`meta.value.now`), so an EIP-3009
// authorization here is expired for any verifier that reads the real clock.

/** The fixed inputs behind every sample: the frozen clock, key labels and addresses, assets. */
export type GoldenMeta = {
  nowMs: number;
  /** Unix seconds of the frozen clock. */
  now: number;
  randomness: string;
  keys: { evm: string; svm: string };
  evm: {
    payer: GoldenKey;
    unfundedPayer: GoldenKey;
    payee: GoldenKey;
    facilitator: GoldenKey;
    assets: Record<string, { address: string; name: string }>;
  };
  svm: {
    payer: GoldenKey;
    payee: GoldenKey;
    feePayer: GoldenKey;
    mint: string;
    mintAuthority: GoldenKey;
    recentBlockhash: string;
    lastValidBlockHeight: number;
  };
  publicOrigin: string;
  solanaRpcMethodsCalled: string[];
};
type GoldenKey = { label: string; address: string };

// v1 values are typed with x402 1.2.0's own types (v1 network names); @x402/core's v1 types declare `network` as
// a CAIP-2 template literal, which "base-sepolia" does not satisfy. Reasons are plain strings: the @x402/*
// facilitators answer v1 requests with reason names that x402 1.2.0's ErrorReasons enum does not list.
/** `GET /supported`; @x402/core types `network` as CAIP-2, but the v1 kinds carry v1 names ("base-sepolia"). */
type Supported = {
  kinds: { x402Version: number; scheme: string; network: string; extra?: Record<string, unknown> }[];
  extensions: string[];
  signers: Record<string, string[]>;
};
/** The 402 body x402-express 1.2.0 sends; after a failed verify it adds `payer`. */
type V1Body = { x402Version: 1; error?: string; accepts: PaymentRequirementsV1[]; payer?: string };
type V1FacilitatorRequest = {
  x402Version: number;
  paymentPayload: PaymentPayloadV1;
  paymentRequirements: PaymentRequirementsV1;
};
type V1VerifyResponse = { isValid: boolean; invalidReason?: string; invalidMessage?: string; payer?: string };
type V1SettleResponse = {
  success: boolean;
  errorReason?: string;
  errorMessage?: string;
  payer?: string;
  transaction: string;
  network: string;
};
type H<V> = { header: string; value: V };
type B<V> = { value: V };

/** Every fixture, by name (its path under `fixtures/` without `.json`), with the type of its value. */
export type GoldenShapes = {
  meta: B<GoldenMeta>;
  "v2/supported": B<Supported>;
  "v2/payment-required.evm": H<PaymentRequired>;
  "v2/payment-required.base": H<PaymentRequired>;
  "v2/payment-required.svm": H<PaymentRequired>;
  "v2/payment-required.verify-failed": H<PaymentRequired>;
  "v2/payment-signature.evm": H<PaymentPayload>;
  "v2/payment-signature.base": H<PaymentPayload>;
  "v2/payment-signature.svm": H<PaymentPayload>;
  "v2/payment-response.evm": H<SettleResponse>;
  "v2/payment-response.svm": H<SettleResponse>;
  "v2/payment-response.failure": H<SettleResponse>;
  "v2/verify-request.evm": B<VerifyRequest>;
  "v2/verify-request.svm": B<VerifyRequest>;
  "v2/settle-request.evm": B<SettleRequest>;
  "v2/settle-request.svm": B<SettleRequest>;
  "v2/verify-response.evm": B<VerifyResponse>;
  "v2/verify-response.svm": B<VerifyResponse>;
  "v2/verify-response.invalid": B<VerifyResponse>;
  "v2/settle-response.evm": B<SettleResponse>;
  "v2/settle-response.svm": B<SettleResponse>;
  "v2/settle-response.failure": B<SettleResponse>;
  "v1/payment-required.body.evm": B<V1Body>;
  "v1/payment-required.body.base": B<V1Body>;
  "v1/payment-required.body.svm": B<V1Body>;
  "v1/payment-required.body.verify-failed": B<V1Body>;
  "v1/payment-required.body.settle-failed": B<V1Body>;
  "v1/payment-required.body.malformed": B<V1Body>;
  "v1/x-payment.evm": H<PaymentPayloadV1>;
  "v1/x-payment.base": H<PaymentPayloadV1>;
  "v1/x-payment.svm": H<PaymentPayloadV1>;
  "v1/x-payment.evm.x402-core": H<PaymentPayloadV1>;
  "v1/x-payment.svm.x402-core": H<PaymentPayloadV1>;
  "v1/x-payment-response.evm": H<V1SettleResponse>;
  "v1/x-payment-response.svm": H<V1SettleResponse>;
  "v1/verify-request.evm": B<V1FacilitatorRequest>;
  "v1/verify-request.svm": B<V1FacilitatorRequest>;
  "v1/settle-request.evm": B<V1FacilitatorRequest>;
  "v1/settle-request.svm": B<V1FacilitatorRequest>;
  "v1/verify-response.evm": B<V1VerifyResponse>;
  "v1/verify-response.svm": B<V1VerifyResponse>;
  "v1/verify-response.invalid": B<V1VerifyResponse>;
  "v1/settle-response.evm": B<V1SettleResponse>;
  "v1/settle-response.svm": B<V1SettleResponse>;
  "v1/settle-response.failure": B<V1SettleResponse>;
};

export type GoldenName = keyof GoldenShapes;

/** A fixture file: `{ producedBy, header?, notes?, value }`; `header` is there exactly for header-borne values. */
export type GoldenFixture<N extends GoldenName = GoldenName> = {
  /** `package@version` and the function(s) that produced the value. */
  producedBy: string;
  /** What the generator observed about the wire shape (key order, instruction list, HTTP status, ...). */
  notes?: string[];
} & GoldenShapes[N];

/** Whether each fixture carries the exact header string it was decoded from. */
export const goldenCatalog = {
  meta: "body",
  "v2/supported": "body",
  "v2/payment-required.evm": "header",
  "v2/payment-required.base": "header",
  "v2/payment-required.svm": "header",
  "v2/payment-required.verify-failed": "header",
  "v2/payment-signature.evm": "header",
  "v2/payment-signature.base": "header",
  "v2/payment-signature.svm": "header",
  "v2/payment-response.evm": "header",
  "v2/payment-response.svm": "header",
  "v2/payment-response.failure": "header",
  "v2/verify-request.evm": "body",
  "v2/verify-request.svm": "body",
  "v2/settle-request.evm": "body",
  "v2/settle-request.svm": "body",
  "v2/verify-response.evm": "body",
  "v2/verify-response.svm": "body",
  "v2/verify-response.invalid": "body",
  "v2/settle-response.evm": "body",
  "v2/settle-response.svm": "body",
  "v2/settle-response.failure": "body",
  "v1/payment-required.body.evm": "body",
  "v1/payment-required.body.base": "body",
  "v1/payment-required.body.svm": "body",
  "v1/payment-required.body.verify-failed": "body",
  "v1/payment-required.body.settle-failed": "body",
  "v1/payment-required.body.malformed": "body",
  "v1/x-payment.evm": "header",
  "v1/x-payment.base": "header",
  "v1/x-payment.svm": "header",
  "v1/x-payment.evm.x402-core": "header",
  "v1/x-payment.svm.x402-core": "header",
  "v1/x-payment-response.evm": "header",
  "v1/x-payment-response.svm": "header",
  "v1/verify-request.evm": "body",
  "v1/verify-request.svm": "body",
  "v1/settle-request.evm": "body",
  "v1/settle-request.svm": "body",
  "v1/verify-response.evm": "body",
  "v1/verify-response.svm": "body",
  "v1/verify-response.invalid": "body",
  "v1/settle-response.evm": "body",
  "v1/settle-response.svm": "body",
  "v1/settle-response.failure": "body",
} as const satisfies Record<GoldenName, "header" | "body">;

/** Every fixture name. */
export const goldenNames = Object.keys(goldenCatalog) as GoldenName[];

/** Names of the fixtures whose value travels in a header (`PAYMENT-*`, `X-PAYMENT*`). */
export type GoldenHeaderName = {
  [N in GoldenName]: (typeof goldenCatalog)[N] extends "header" ? N : never;
}[GoldenName];

/** The fixtures directory, as a file URL. */
export const goldenDir = new URL("./fixtures/", import.meta.url);

/**
 * Reads one golden fixture. Each call parses the file again, so callers may mutate what they get.
 *
 * @example
 * ```ts
 * const { header, value } = loadGolden("v2/payment-required.evm");
 * expect(ourDecodePaymentRequired(header)).toEqual(value);
 * ```
 */
export function loadGolden<N extends GoldenName>(name: N): GoldenFixture<N> {
  const text = readFileSync(new URL(`${name}.json`, goldenDir), "utf8");
  return JSON.parse(text) as GoldenFixture<N>;
}

import { readdirSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { VersionedTransaction } from "@solana/web3.js";
import { x402Client, x402HTTPClient } from "@x402/core/client";
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  decodePaymentSignatureHeader,
  encodePaymentRequiredHeader,
  encodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  HTTPFacilitatorClient,
} from "@x402/core/http";
import {
  PaymentPayloadV1Schema,
  PaymentPayloadV2Schema,
  PaymentRequiredV1Schema,
  PaymentRequiredV2Schema,
  PaymentRequirementsV1Schema,
  PaymentRequirementsV2Schema,
} from "@x402/core/schemas";
import { x402ResourceServer } from "@x402/core/server";
import type { PaymentPayload } from "@x402/core/types";
import { authorizationTypes } from "@x402/evm";
import { decodeTransactionFromPayload, getTokenPayerFromTransaction } from "@x402/svm";
import { verifyTypedData } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exact } from "x402/schemes";
import { decodeXPaymentResponse } from "x402/shared";
import {
  ErrorReasons,
  PaymentPayloadSchema,
  PaymentRequirementsSchema,
  SettleRequestSchema,
  SettleResponseSchema,
  settleResponseFromHeader,
  VerifyRequestSchema,
  VerifyResponseSchema,
  x402ResponseSchema,
} from "x402/types";
import { type GoldenName, goldenCatalog, goldenDir, goldenNames, loadGolden } from "./fixtures.js";

// Proves the golden fixtures are genuine: each parses with the reference SDKs' OWN schemas (@x402/core 2.27.0's
// zod schemas and HTTPFacilitatorClient's response checks, x402 1.2.0's x402/types schemas) and each header
// decodes with the SDKs' own decoders to the stored value (and re-encodes to the same bytes).

const meta = loadGolden("meta").value;
const chainIds: Record<string, number> = {
  "eip155:84532": 84532,
  "eip155:8453": 8453,
  "base-sepolia": 84532,
  base: 8453,
};
const getter = (headers: Record<string, string>) => (name: string) => headers[name] ?? null;
const httpClient = new x402HTTPClient(new x402Client());
/** Drops `undefined` members, as JSON would. */
const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

function fixtureFiles(dir: URL, prefix = ""): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? fixtureFiles(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`)
      : [`${prefix}${entry.name.replace(/\.json$/, "")}`],
  );
}

async function expectValidEip3009Signature(
  payload: Record<string, unknown>,
  network: string,
  extra: Record<string, unknown>,
  asset: string,
) {
  const { signature, authorization } = payload as {
    signature: `0x${string}`;
    authorization: Record<string, string>;
  };
  const from = authorization.from as `0x${string}`;
  const valid = await verifyTypedData({
    address: from,
    domain: {
      name: extra.name as string,
      version: extra.version as string,
      chainId: chainIds[network],
      verifyingContract: asset as `0x${string}`,
    },
    types: authorizationTypes,
    primaryType: "TransferWithAuthorization",
    message: {
      from,
      to: authorization.to as `0x${string}`,
      value: BigInt(authorization.value as string),
      validAfter: BigInt(authorization.validAfter as string),
      validBefore: BigInt(authorization.validBefore as string),
      nonce: authorization.nonce as `0x${string}`,
    },
    signature,
  });
  expect(valid).toBe(true);
}

function solanaTransaction(base64: string) {
  const tx = VersionedTransaction.deserialize(Buffer.from(base64, "base64"));
  const keys = tx.message.staticAccountKeys.map((k) => k.toBase58());
  return {
    version: tx.version,
    feePayer: keys[0],
    emptySignatures: tx.signatures.map((s) => s.every((b) => b === 0)),
    programs: tx.message.compiledInstructions.map((ix) => keys[ix.programIdIndex]),
    payer: getTokenPayerFromTransaction(decodeTransactionFromPayload({ transaction: base64 })),
  };
}

describe("golden fixtures: catalogue", () => {
  it("lists exactly the files on disk, each with producedBy and a header where the catalogue says so", () => {
    expect(fixtureFiles(goldenDir).sort()).toEqual([...goldenNames].sort());
    for (const name of goldenNames) {
      const fixture = loadGolden(name) as { producedBy: unknown; header?: unknown; value: unknown };
      expect(typeof fixture.producedBy, name).toBe("string");
      expect(fixture.value, name).toBeDefined();
      expect(typeof fixture.header === "string", name).toBe(goldenCatalog[name] === "header");
    }
    expect(fileURLToPath(goldenDir)).toMatch(/golden[/\\]fixtures[/\\]$/);
  });
});

describe("golden fixtures: x402 v2 (@x402/core 2.27.0)", () => {
  const nets = ["evm", "base", "svm"] as const;

  it.each([...nets, "verify-failed"] as const)(
    "payment-required.%s: PaymentRequiredV2Schema, header codec",
    (net) => {
      const { header, value } = loadGolden(`v2/payment-required.${net}`);
      expect(PaymentRequiredV2Schema.safeParse(value).success).toBe(true);
      for (const requirement of value.accepts)
        expect(PaymentRequirementsV2Schema.safeParse(requirement).success).toBe(true);
      expect(decodePaymentRequiredHeader(header)).toEqual(value);
      expect(httpClient.getPaymentRequiredResponse(getter({ "PAYMENT-REQUIRED": header }))).toEqual(value);
      expect(encodePaymentRequiredHeader(value)).toBe(header);
    },
  );

  it("payment-required.svm carries the facilitator's fee payer from /supported", () => {
    const { value } = loadGolden("v2/payment-required.svm");
    const kind = loadGolden("v2/supported").value.kinds.find(
      (k) => k.x402Version === 2 && k.network === value.accepts[0]?.network,
    );
    expect(value.accepts[0]?.extra.feePayer).toBe(meta.svm.feePayer.address);
    expect(kind?.extra?.feePayer).toBe(meta.svm.feePayer.address);
  });

  it.each(nets)(
    "payment-signature.%s: PaymentPayloadV2Schema, header codec, accepted matches the 402",
    async (net) => {
      const { header, value } = loadGolden(`v2/payment-signature.${net}`);
      const required = loadGolden(`v2/payment-required.${net}`).value;
      expect(PaymentPayloadV2Schema.safeParse(value).success).toBe(true);
      expect(decodePaymentSignatureHeader(header)).toEqual(value);
      expect(encodePaymentSignatureHeader(value)).toBe(header);
      expect(httpClient.encodePaymentSignatureHeader(value)).toEqual({ "PAYMENT-SIGNATURE": header });
      // The resource server's own matching (deep equality of the core fields, superset on extra).
      expect(new x402ResourceServer().findMatchingRequirements(required.accepts, value)).toEqual(
        required.accepts[0],
      );
      if (net === "svm") {
        const tx = solanaTransaction(value.payload.transaction as string);
        expect(tx).toMatchObject({
          version: 0,
          feePayer: meta.svm.feePayer.address,
          payer: meta.svm.payer.address,
        });
        expect(tx.emptySignatures).toEqual([true, false]);
        // SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked, Memo(random nonce)
        expect(tx.programs).toEqual([
          "ComputeBudget111111111111111111111111111111",
          "ComputeBudget111111111111111111111111111111",
          "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
          "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
        ]);
      } else {
        const authorization = value.payload.authorization as Record<string, string>;
        expect(authorization.validAfter).toBe("0");
        expect(BigInt(authorization.validBefore ?? "")).toBe(
          BigInt(meta.now + value.accepted.maxTimeoutSeconds),
        );
        await expectValidEip3009Signature(
          value.payload,
          value.accepted.network,
          value.accepted.extra,
          value.accepted.asset,
        );
      }
    },
  );

  it.each(["evm", "svm", "failure"] as const)(
    "payment-response.%s: header codec, x402HTTPClient reads it",
    (net) => {
      const { header, value } = loadGolden(`v2/payment-response.${net}`);
      expect(decodePaymentResponseHeader(header)).toEqual(value);
      expect(encodePaymentResponseHeader(value)).toBe(header);
      expect(httpClient.getPaymentSettleResponse(getter({ "PAYMENT-RESPONSE": header }))).toEqual(value);
      expect(
        httpClient.parsePaymentResult({
          status: value.success ? 200 : 402,
          getHeader: getter({ "PAYMENT-RESPONSE": header }),
          body: {},
        }).paymentStatus,
      ).toBe(value.success ? "settled" : "settle_failed");
    },
  );

  it.each(["verify", "settle"] as const)("%s-request.*: what HTTPFacilitatorClient POSTs", (kind) => {
    for (const net of ["evm", "svm"] as const) {
      const { value } = loadGolden(`v2/${kind}-request.${net}`);
      expect(Object.keys(value)).toEqual(["x402Version", "paymentPayload", "paymentRequirements"]);
      expect(value.x402Version).toBe(2);
      expect(PaymentPayloadV2Schema.safeParse(value.paymentPayload).success).toBe(true);
      expect(PaymentRequirementsV2Schema.safeParse(value.paymentRequirements).success).toBe(true);
      expect(value.paymentPayload).toEqual(loadGolden(`v2/payment-signature.${net}`).value);
      expect(value.paymentRequirements).toEqual(loadGolden(`v2/payment-required.${net}`).value.accepts[0]);
    }
  });
});

describe("golden fixtures: x402 v1 (x402 1.2.0, x402-express 1.2.0)", () => {
  const bodies = ["evm", "base", "svm", "verify-failed", "settle-failed", "malformed"] as const;

  it.each(bodies)(
    "payment-required.body.%s: every accepts entry parses with x402/types PaymentRequirementsSchema",
    (net) => {
      const { value } = loadGolden(`v1/payment-required.body.${net}`);
      expect(PaymentRequiredV1Schema.safeParse(value).success).toBe(true);
      for (const requirement of value.accepts) {
        // What x402-fetch 1.2.0 does with each entry of a 402 body.
        expect(PaymentRequirementsSchema.safeParse(requirement).success).toBe(true);
        expect(PaymentRequirementsV1Schema.safeParse(requirement).success).toBe(true);
      }
      expect(httpClient.getPaymentRequiredResponse(getter({}), value)).toEqual(value);
      // x402/types' own x402ResponseSchema types `error` as its ErrorReasons enum, which lists none of the strings
      // x402-express 1.2.0 itself puts there; without `error` the body parses.
      expect((ErrorReasons as readonly string[]).includes(value.error ?? "")).toBe(false);
      expect(x402ResponseSchema.safeParse(value).success).toBe(false);
      const { error: _error, ...rest } = value;
      expect(x402ResponseSchema.safeParse(rest).success).toBe(true);
    },
  );

  it("payment-required.body.svm carries the /supported fee payer of the solana-devnet v1 kind", () => {
    const { value } = loadGolden("v1/payment-required.body.svm");
    const kind = loadGolden("v2/supported").value.kinds.find(
      (k) => k.x402Version === 1 && k.network === "solana-devnet",
    );
    expect(value.accepts[0]?.extra?.feePayer).toBe(kind?.extra?.feePayer);
  });

  const payments = ["evm", "base", "svm", "evm.x402-core", "svm.x402-core"] as const;
  it.each(payments)(
    "x-payment.%s: x402 decodePayment + PaymentPayloadSchema, @x402/core codec",
    async (name) => {
      const { header, value } = loadGolden(`v1/x-payment.${name}`);
      expect(exact.evm.decodePayment(header)).toEqual(value);
      expect(PaymentPayloadSchema.safeParse(value).success).toBe(true);
      expect(PaymentPayloadV1Schema.safeParse(value).success).toBe(true);
      expect(decodePaymentSignatureHeader(header)).toEqual(value);
      expect(exact.evm.encodePayment(value)).toBe(header);
      // @x402/core types its parameter as the v2 payload; at run time it switches on x402Version.
      expect(httpClient.encodePaymentSignatureHeader(value as unknown as PaymentPayload)).toEqual({
        "X-PAYMENT": header,
      });
      const net = name.split(".")[0] as "evm" | "base" | "svm";
      const requirement = loadGolden(`v1/payment-required.body.${net}`).value.accepts[0];
      if (!requirement) throw new Error("no requirement");
      if ("transaction" in value.payload) {
        const tx = solanaTransaction(value.payload.transaction);
        expect(tx).toMatchObject({
          version: 0,
          feePayer: requirement.extra?.feePayer,
          payer: meta.svm.payer.address,
        });
        // x402 1.2.0 builds exactly 3 instructions; @x402/svm's v1 class adds a Memo (4), which x402 1.2.0's own
        // facilitator refuses (invalid_exact_svm_payload_transaction_instructions_length).
        expect(tx.programs.length).toBe(name === "svm" ? 3 : 4);
      } else {
        const { authorization } = value.payload;
        expect(BigInt(authorization.validAfter)).toBe(BigInt(meta.now - 600));
        expect(BigInt(authorization.validBefore)).toBe(BigInt(meta.now + requirement.maxTimeoutSeconds));
        await expectValidEip3009Signature(
          value.payload,
          value.network,
          requirement.extra ?? {},
          requirement.asset,
        );
      }
    },
  );

  it.each(["evm", "svm"] as const)(
    "x-payment-response.%s: decodeXPaymentResponse, SettleResponseSchema",
    (net) => {
      const { header, value } = loadGolden(`v1/x-payment-response.${net}`);
      expect(decodeXPaymentResponse(header)).toEqual(value);
      expect(settleResponseFromHeader(header)).toEqual(value);
      expect(SettleResponseSchema.safeParse(value).success).toBe(true);
      expect(httpClient.getPaymentSettleResponse(getter({ "X-PAYMENT-RESPONSE": header }))).toEqual(value);
      expect(value).toEqual(loadGolden(`v1/settle-response.${net}`).value);
    },
  );

  it.each(["evm", "svm"] as const)(
    "verify-request / settle-request .%s: x402/types Verify/SettleRequestSchema",
    (net) => {
      const verify = loadGolden(`v1/verify-request.${net}`).value;
      const settle = loadGolden(`v1/settle-request.${net}`).value;
      for (const [schema, body] of [
        [VerifyRequestSchema, verify],
        [SettleRequestSchema, settle],
      ] as const) {
        expect(Object.keys(body)).toEqual(["x402Version", "paymentPayload", "paymentRequirements"]);
        expect(body.x402Version).toBe(1);
        expect(schema.safeParse(body).success).toBe(true);
        expect(body.paymentPayload).toEqual(loadGolden(`v1/x-payment.${net}`).value);
        expect(body.paymentRequirements).toEqual(
          loadGolden(`v1/payment-required.body.${net}`).value.accepts[0],
        );
      }
    },
  );

  it("verify/settle responses: x402/types schemas accept the successes, not @x402/*'s v1 reason names", () => {
    for (const net of ["evm", "svm"] as const) {
      expect(VerifyResponseSchema.safeParse(loadGolden(`v1/verify-response.${net}`).value).success).toBe(
        true,
      );
      expect(SettleResponseSchema.safeParse(loadGolden(`v1/settle-response.${net}`).value).success).toBe(
        true,
      );
    }
    const invalid = loadGolden("v1/verify-response.invalid").value;
    const failed = loadGolden("v1/settle-response.failure").value;
    expect(VerifyResponseSchema.safeParse(invalid).success).toBe(false);
    expect(SettleResponseSchema.safeParse(failed).success).toBe(false);
    expect(VerifyResponseSchema.safeParse({ ...invalid, invalidReason: "insufficient_funds" }).success).toBe(
      true,
    );
  });
});

describe("golden fixtures: facilitator answers parse with HTTPFacilitatorClient's own response schemas", () => {
  let server: http.Server;
  let url = "";
  let answer: unknown = null;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
  });

  const payment = loadGolden("v2/verify-request.evm").value;
  const verifyNames: GoldenName[] = [
    "v2/verify-response.evm",
    "v2/verify-response.svm",
    "v2/verify-response.invalid",
    "v1/verify-response.evm",
    "v1/verify-response.svm",
    "v1/verify-response.invalid",
  ];
  const settleNames: GoldenName[] = [
    "v2/settle-response.evm",
    "v2/settle-response.svm",
    "v2/settle-response.failure",
    "v2/payment-response.evm",
    "v2/payment-response.svm",
    "v2/payment-response.failure",
    "v1/settle-response.evm",
    "v1/settle-response.svm",
    "v1/settle-response.failure",
    "v1/x-payment-response.evm",
    "v1/x-payment-response.svm",
  ];

  it.each(verifyNames)("%s", async (name) => {
    answer = loadGolden(name).value;
    const client = new HTTPFacilitatorClient({ url });
    expect(plain(await client.verify(payment.paymentPayload, payment.paymentRequirements))).toEqual(answer);
  });

  it.each(settleNames)("%s", async (name) => {
    answer = loadGolden(name).value;
    const client = new HTTPFacilitatorClient({ url });
    expect(plain(await client.settle(payment.paymentPayload, payment.paymentRequirements))).toEqual(answer);
  });

  it("v2/supported", async () => {
    answer = loadGolden("v2/supported").value;
    const supported = await new HTTPFacilitatorClient({ url }).getSupported();
    expect(plain(supported)).toEqual(answer);
    expect(supported.kinds.filter((k) => k.x402Version === 2).map((k) => k.network)).toEqual([
      "eip155:84532",
      "eip155:8453",
      "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1",
    ]);
    for (const kind of supported.kinds) {
      if (kind.network.startsWith("solana")) expect(kind.extra?.feePayer).toBe(meta.svm.feePayer.address);
      else expect(kind.extra).toBeUndefined();
    }
    expect(supported.signers).toEqual({
      "eip155:*": [meta.evm.facilitator.address],
      "solana:*": [meta.svm.feePayer.address],
    });
  });
});

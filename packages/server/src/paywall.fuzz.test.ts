import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { payee } from "../test/fixtures.js";
import { createPaywall } from "./paywall.js";
import type { DirectChain } from "./verify/direct/directChain.js";

const secret = "PROTECTED-CONTENT";

const paywall = createPaywall({
  routes: { "GET /paid": "$0.01", "POST /items/:id": "$0.02", "/files/*": "$0.01" },
  networks: ["base-sepolia"],
  payTo: payee,
  settlementChecks: { "base-sepolia": false },
  // A facilitator that refuses everything: no proof in this file is valid, so nothing may be served.
  selfSettle: {
    async verify() {
      return { status: 200, body: { isValid: false, invalidReason: "invalid_exact_evm_signature" } };
    },
    async settle() {
      return {
        status: 200,
        body: { success: false, errorReason: "invalid_payload", transaction: "", network: "" },
      };
    },
  },
  direct: {
    networks: [
      {
        payTo: payee,
        chain: {
          network: "eip155:84532",
          isTransactionId: (tx) => /^0x[0-9a-fA-F]{64}$/.test(tx),
          canonicalTransactionId: (tx) => tx.toLowerCase(),
          getTransaction: async () => ({ status: "not_found" }),
          verifyBinding: async () => false,
          sameAddress: (a, b) => a.toLowerCase() === b.toLowerCase(),
        } satisfies DirectChain,
      },
    ],
  },
});

/**
 * A naive app: it serves the secret on any path that any common router could map to a paid route, for the
 * route's methods (HEAD as GET; method-override headers honoured, as some middleware does).
 */
function protectedByAnyReading(path: string, methods: readonly string[]): boolean {
  const readings = new Set<string>([path]);
  let decoded = path;
  for (let i = 0; i < 4; i++) {
    try {
      decoded = decodeURIComponent(decoded);
      readings.add(decoded);
    } catch {
      break;
    }
  }
  try {
    readings.add(decodeURI(path));
  } catch {
    // Malformed: the raw reading stays.
  }
  return [...readings].some((reading) => {
    const canonical = `/${reading
      .replace(/\\/g, "/")
      .split("/")
      .filter((s) => s !== "" && s !== ".")
      .join("/")}`.toLowerCase();
    return (
      (canonical === "/paid" && methods.includes("GET")) ||
      (/^\/items\/[^/]+$/.test(canonical) && methods.includes("POST")) ||
      canonical === "/files" ||
      canonical.startsWith("/files/")
    );
  });
}

function methodsOf(request: Request): string[] {
  const methods = [request.method, ...(request.headers.get("x-http-method-override") ?? "").split(",")];
  return methods.map((m) => m.trim().toUpperCase()).flatMap((m) => (m === "HEAD" ? ["HEAD", "GET"] : [m]));
}

const app = paywall.fetch(async (request) => {
  const path = new URL(request.url).pathname;
  return new Response(protectedByAnyReading(path, methodsOf(request)) ? secret : "free");
});

const segment = fc.oneof(
  fc.constantFrom("paid", "PAID", "Paid", "%70aid", "%2570aid", "items", "files", "x", "free"),
  fc.constantFrom(
    "..",
    ".",
    "",
    "%2e%2e",
    "%2E",
    "%2F",
    "%2f",
    "%252F",
    "%5C",
    "\\",
    "%",
    "%zz",
    "%00",
    ";",
    "é",
  ),
  fc.string({ unit: fc.constantFrom("a", "/", "%", "2", "F", ".", "\\", "P"), maxLength: 6 }),
);
const pathArb = fc
  .array(segment, { minLength: 1, maxLength: 6 })
  .chain((parts) => fc.constantFrom("/", "//").map((sep) => `/${parts.join(sep)}`))
  .chain((p) => fc.constantFrom(p, `${p}/`, `${p}?x=1`));

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 120,
});
const base64Json = fc
  .jsonValue({ maxDepth: 3 })
  .map((v) => Buffer.from(JSON.stringify(v)).toString("base64"));
const nearV2 = fc
  .record({
    x402Version: fc.constantFrom(1, 2, 3, "2"),
    accepted: fc.record({
      scheme: fc.constantFrom("exact", "upto"),
      network: fc.constantFrom("eip155:84532", "base-sepolia", "eip155:1"),
      amount: fc.constantFrom("10000", "1", "0", "-1", "1e4"),
      asset: fc.constantFrom("0x036CbD53842c5426634e7929541eC2318f3dCF7e", "0x0"),
      payTo: fc.constantFrom(payee, "0x0000000000000000000000000000000000000001"),
      maxTimeoutSeconds: fc.constantFrom(60, 0, -1),
      extra: fc.constantFrom({ name: "USDC", version: "2" }, {}, null),
    }),
    scheme: fc.constantFrom("exact", undefined),
    network: fc.constantFrom("base-sepolia", "base", undefined),
    payload: fc.record({
      signature: fc.constantFrom(`0x${"ab".repeat(65)}`, "0x", 5),
      authorization: fc.record({
        from: fc.constantFrom("0x1111111111111111111111111111111111111111", "x"),
        to: fc.constantFrom(payee, "0x2222222222222222222222222222222222222222"),
        value: fc.constantFrom("10000", "20000", "x"),
        validAfter: fc.constantFrom("0", "99999999999"),
        validBefore: fc.constantFrom("99999999999", "0", "1e20"),
        nonce: fc.constantFrom(`0x${"11".repeat(32)}`, "0x1"),
      }),
    }),
  })
  .map((v) => Buffer.from(JSON.stringify(v)).toString("base64"));
const headerValue = fc.oneof(printable, base64Json, nearV2, fc.constant(""));
const headerName = fc.constantFrom(
  "payment-signature",
  "x-payment",
  "x-payment-token",
  "x-payment-tx",
  "x-payment-chain",
  "x-payment-tx-sig",
  "idempotency-key",
  "x-http-method-override",
  "content-type",
);
const headersArb = fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 });
const methodArb = fc.constantFrom("GET", "POST", "HEAD", "PUT", "OPTIONS", "DELETE");

describe("fuzzed requests (fast-check)", () => {
  it("never answer 500 and never serve protected content without payment", async () => {
    await fc.assert(
      fc.asyncProperty(pathArb, methodArb, headersArb, async (path, method, headers) => {
        let request: Request;
        try {
          request = new Request(`http://localhost${path}`, { method, headers });
        } catch {
          return; // Not a request any server would receive.
        }
        const response = await app(request);
        const body = await response.text();
        expect(response.status).not.toBe(500);
        expect(body).not.toContain(secret);
      }),
      { numRuns: 3000 },
    );
  });

  it("price every path form a router could map to a paid route", async () => {
    await fc.assert(
      fc.asyncProperty(pathArb, async (path) => {
        const request = new Request(`http://localhost${path}`);
        const pathname = new URL(request.url).pathname;
        const response = await app(request);
        if (protectedByAnyReading(pathname, ["GET"])) expect(response.status).toBe(402);
        await response.body?.cancel();
      }),
      { numRuns: 1500 },
    );
  });
});

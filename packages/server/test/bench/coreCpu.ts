// The paywall core's own CPU per paid request, without HTTP: handle() + settle() with an in-process facilitator
// stub that answers at once. Run: node_modules/.bin/tsx --conditions=source packages/server/test/bench/coreCpu.ts
import { decodeHeaderJson, type PaymentRequirementsV2 } from "@tollgate/shared";
import { createPaywall } from "../../src/paywall.js";
import { unsignedPayment } from "../fixtures.js";

const paywall = createPaywall({
  routes: { "GET /paid": { price: "$0.01", description: "bench" } },
  networks: ["base-sepolia"],
  payTo: "0x2222222222222222222222222222222222222222",
  settlementChecks: { "base-sepolia": false },
  selfSettle: {
    verify: async () => ({
      status: 200,
      body: { isValid: true, payer: "0x1111111111111111111111111111111111111111" },
    }),
    settle: async () => ({
      status: 200,
      body: { success: true, transaction: `0x${"ab".repeat(32)}`, network: "eip155:84532" },
    }),
  },
});
const required = await paywall.handle(new Request("http://api.test/paid"));
if (required.action !== "respond") throw new Error("expected a 402");
const requirement = (
  decodeHeaderJson({
    header: "PAYMENT-REQUIRED",
    value: required.response.headers.get("payment-required") ?? "",
  }) as {
    accepts: PaymentRequirementsV2[];
  }
).accepts[0] as PaymentRequirementsV2;

async function run(count: number, label: string, paid: boolean) {
  const requests = Array.from(
    { length: count },
    () =>
      new Request(
        "http://api.test/paid",
        paid ? { headers: { "payment-signature": unsignedPayment(requirement) } } : {},
      ),
  );
  const start = process.cpuUsage();
  for (const request of requests) {
    const decision = await paywall.handle(request);
    const response = await paywall.settle(decision, Response.json({ ok: true }));
    if (paid && response.status !== 200) throw new Error(`status ${response.status}`);
  }
  const { user, system } = process.cpuUsage(start);
  console.log(`${label}: ${((user + system) / 1000 / count).toFixed(3)} ms CPU per request (n=${count})`);
}
await run(3000, "warm-up paid", true);
await run(10_000, "402 (no proof)", false);
await run(10_000, "paid (core only, in-process facilitator)", true);

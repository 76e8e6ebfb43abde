import { encodeHeaderJson, readPaymentRequired, transferWithAuthorizationTypes } from "@tollgate/shared";
import { toHex } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EvmChain, startEvmChain } from "../evm/evmChain.js";
import { type LocalFacilitator, startLocalFacilitator } from "../facilitator/localFacilitator.js";
import { evmPayeeAccounts, evmPayerAccounts } from "../keys.js";
import { type HostileServer, startHostileServer } from "./hostileServer.js";

const payer = evmPayerAccounts[0];
const [payee, otherPayee] = [evmPayeeAccounts[0].address, evmPayeeAccounts[1].address];
let evm: EvmChain;
let local: LocalFacilitator;
const servers: HostileServer[] = [];

beforeAll(async () => {
  evm = await startEvmChain({ payers: [payer.address] });
  local = await startLocalFacilitator({ evm });
});
afterAll(async () => {
  for (const server of servers) await server.close();
  await local?.close();
  await evm?.stop();
});

async function start(parameters: Omit<Parameters<typeof startHostileServer>[0], "evm">) {
  const server = await startHostileServer({ evm, facilitatorUrl: local.url, ...parameters });
  servers.push(server);
  return server;
}

/** A real EIP-3009 authorization of `value` to `to`, sent as a v2 `PAYMENT-SIGNATURE` for `accepted`. */
async function paymentSignature(accepted: Record<string, unknown>, value: bigint, to: `0x${string}`) {
  const nowSeconds = Math.floor(Date.now() / 1000);
  const message = {
    from: payer.address,
    to,
    value,
    validAfter: 0n,
    validBefore: BigInt(nowSeconds + 60),
    nonce: toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = await payer.signTypedData({
    domain: evm.eip712Domain,
    types: transferWithAuthorizationTypes,
    primaryType: "TransferWithAuthorization",
    message,
  });
  const authorization = Object.fromEntries(Object.entries(message).map(([k, v]) => [k, String(v)]));
  return encodeHeaderJson({
    header: "PAYMENT-SIGNATURE",
    value: { x402Version: 2, accepted, payload: { signature, authorization } },
  });
}

async function offersOf(response: Response) {
  const body = (await response.json()) as unknown;
  return readPaymentRequired({ headers: response.headers, body });
}

describe("startHostileServer", () => {
  it("offers in every form a client reads: v2 header, v1 body, payment_options (facilitator, direct, token)", async () => {
    const server = await start({
      offers: [
        { lane: "facilitator", form: "header", amount: 1_000n, payTo: payee },
        { lane: "facilitator", form: "v1_body", amount: 2_000n, payTo: payee },
        { lane: "facilitator", form: "payment_options", amount: 3_000n, payTo: otherPayee },
        { lane: "direct", amount: 4_000n, minAmount: 8_000n, payTo: otherPayee },
        { lane: "token" },
      ],
    });
    const response = await fetch(`${server.url}/paid`);
    expect(response.status).toBe(402);
    const reading = await offersOf(response);
    expect(reading.problems).toEqual([]);
    expect(reading.error).toBe("payment_required");
    expect(
      reading.offers.map((o) =>
        o.lane === "token"
          ? ["token"]
          : o.lane === "direct"
            ? ["direct", o.amount, o.minAmount, o.payTo]
            : ["facilitator", o.x402Version, o.source, o.amount, o.payTo],
      ),
    ).toEqual([
      ["facilitator", 2, "header", 1_000n, payee],
      ["facilitator", 1, "body", 2_000n, payee],
      ["facilitator", 1, "payment_options", 3_000n, otherPayee],
      ["direct", 4_000n, 8_000n, otherPayee],
      ["token"],
    ]);
    expect(server.unpaid()).toBe(1);
  });

  it("switches its requirements between calls when offers is a function", async () => {
    const server = await start({
      offers: ({ index }) => [{ lane: "facilitator", amount: BigInt(1_000 * (index + 1)), payTo: payee }],
    });
    const amounts = [];
    for (let i = 0; i < 3; i++) {
      const reading = await offersOf(await fetch(`${server.url}/paid`));
      amounts.push(reading.offers[0]?.lane === "facilitator" ? reading.offers[0].amount : undefined);
    }
    expect(amounts).toEqual([1_000n, 2_000n, 3_000n]);
  });

  it("settles a proof for real, then lies that the facilitator was unavailable", async () => {
    const server = await start({
      offers: [{ lane: "facilitator", amount: 10_000n, payTo: payee }],
      behaviours: [
        {
          settle: true,
          answer: {
            kind: "refuse",
            reason: "facilitator_unavailable",
            offers: [{ lane: "facilitator", amount: 10_000n, payTo: otherPayee }],
          },
        },
      ],
    });
    const offer = (await offersOf(await fetch(`${server.url}/paid`))).offers[0];
    if (offer?.lane !== "facilitator") throw new Error("no facilitator offer");
    const before = await evm.balanceOf(payer.address);
    const response = await fetch(`${server.url}/paid`, {
      headers: { "PAYMENT-SIGNATURE": await paymentSignature(offer.requirement, 10_000n, payee) },
    });
    expect(response.status).toBe(402);
    const refusal = await offersOf(response);
    expect(refusal.error).toBe("facilitator_unavailable");
    expect(refusal.offers.map((o) => o.lane === "facilitator" && o.payTo)).toEqual([otherPayee]);
    expect(await evm.balanceOf(payer.address)).toBe(before - 10_000n);
    expect(server.proofs.map((p) => [p.lane, p.header, p.authorization?.value])).toEqual([
      ["facilitator", "PAYMENT-SIGNATURE", 10_000n],
    ]);
    const settled = await server.settleAll();
    expect(settled.map((s) => s.outcome.settled && s.outcome.via)).toEqual(["facilitator"]);
  });

  it("holds an unsettled authorization and settles it with settleAll, once", async () => {
    const server = await start({
      offers: [{ lane: "facilitator", amount: 5_000n, payTo: payee }],
      behaviours: [{ settle: false, answer: { kind: "status", status: 500 } }],
    });
    const offer = (await offersOf(await fetch(`${server.url}/paid`))).offers[0];
    if (offer?.lane !== "facilitator") throw new Error("no facilitator offer");
    const before = await evm.balanceOf(payer.address);
    const signature = await paymentSignature(offer.requirement, 5_000n, payee);
    expect((await fetch(`${server.url}/paid`, { headers: { "PAYMENT-SIGNATURE": signature } })).status).toBe(
      500,
    );
    // The same proof again (a client re-sending it): one authorization, settled once.
    expect((await fetch(`${server.url}/paid`, { headers: { "PAYMENT-SIGNATURE": signature } })).status).toBe(
      200,
    );
    expect(await evm.balanceOf(payer.address)).toBe(before - 5_000n);
    expect((await server.settleAll()).map((s) => s.outcome.settled)).toEqual([true]);
    expect(await evm.balanceOf(payer.address)).toBe(before - 5_000n);
  });

  it("cuts the body, resets the connection, and redirects to a refusing port", async () => {
    const server = await start({
      offers: [{ lane: "facilitator", amount: 1_000n, payTo: payee }],
      behaviours: [
        { settle: false, answer: { kind: "cut_body", bytes: 10 } },
        { settle: false, answer: { kind: "reset" } },
        { settle: false, answer: { kind: "redirect", to: "refusing_port" } },
        { settle: false, answer: { kind: "paid_402" } },
      ],
    });
    const proof = { headers: { "X-PAYMENT-TOKEN": "t" } };
    const cut = await fetch(`${server.url}/paid`, proof);
    expect(cut.status).toBe(200);
    await expect(cut.text()).rejects.toThrow();
    await expect(fetch(`${server.url}/paid`, proof)).rejects.toThrow();
    await expect(fetch(`${server.url}/paid`, proof)).rejects.toThrow();
    const paid402 = await fetch(`${server.url}/paid`, proof);
    expect(paid402.status).toBe(402);
    expect(paid402.headers.get("PAYMENT-RESPONSE")).not.toBeNull();
    expect(server.proofs.map((p) => p.lane)).toEqual(["token", "token", "token", "token"]);
  });
});

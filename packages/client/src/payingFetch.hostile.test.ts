/**
 * payingFetch against a hostile paid API on loopback that settles each proof through the real facilitator on anvil
 * and then lies about it (issue 14): what leaves the wallet for one logical request never exceeds `maxPerRequest`,
 * a lost or broken answer never makes it pay twice, and a receipt saying the money moved is believed. Every payment is
 * signed by the real EVM wallet; balances are read on chain before and after.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeHeaderJson, encodeHeaderJson, isTollgateError } from "@tollgate/shared";
import {
  deriveEvmTestPrivateKey,
  type EvmChain,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createFileLedger } from "./node/fileLedger.js";
import { createPayingFetch } from "./payingFetch.js";

const account = (label: string) => privateKeyToAccount(deriveEvmTestPrivateKey({ label }));
/** Payers of this file only, so balances are exact whatever else runs. */
const payers = Array.from({ length: 24 }, (_, i) => account(`client-hostile-payer/${i}`));
const payee = account("client-hostile-payee/facilitator").address;
const directPayee = account("client-hostile-payee/direct").address;

let evm: EvmChain;
let local: LocalFacilitator;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  evm = await startEvmChain({
    payers: payers.map((p) => p.address),
    ethForPayers: Object.fromEntries(payers.map((p) => [p.address, 10n ** 18n])),
  });
  local = await startLocalFacilitator({ evm });
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});
afterAll(async () => {
  await local?.close();
  await evm?.stop();
});

/** One payer's own wallet: with chain access (`direct`, hence also reads and cancellations) or signing only. */
function walletOf(index: number, chain: boolean) {
  const payer = payers[index] as (typeof payers)[number];
  return {
    payer,
    wallet: createEvmWallet({ account: payer, ...(chain ? { direct: evm.publicClient } : {}) }),
  };
}

/** What the wallet of `address` and the two payees hold now. */
async function balances(address: Address) {
  return {
    payer: await evm.balanceOf(address),
    payee: await evm.balanceOf(payee),
    direct: await evm.balanceOf(directPayee),
  };
}

function requirement(amount: bigint, maxTimeoutSeconds = 60) {
  return {
    scheme: "exact",
    network: "eip155:84532",
    amount: amount.toString(),
    asset: evm.token,
    payTo: payee,
    maxTimeoutSeconds,
    extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
  };
}

/** A hybrid 402: the facilitator-lane requirement in the v2 header, and a direct transfer to `directPayee` if asked. */
function paymentRequired(
  parameters: Readonly<{ amount: bigint; error?: string; direct?: boolean; maxTimeoutSeconds?: number }>,
) {
  const { amount, error = "payment_required", direct = false, maxTimeoutSeconds } = parameters;
  const options = direct
    ? [
        {
          provider: "direct",
          type: "direct_transfer",
          priority: 2,
          networks: [
            {
              network: "eip155:84532",
              asset: evm.token,
              payTo: directPayee,
              amount: amount.toString(),
              min_amount: amount.toString(),
              confirmations: 1,
              max_age_seconds: 600,
              binding_required: false,
            },
          ],
          headers: { tx: "X-PAYMENT-TX", chain: "X-PAYMENT-CHAIN", signature: "X-PAYMENT-TX-SIG" },
        },
      ]
    : [];
  return {
    status: 402,
    headers: {
      "content-type": "application/json",
      "PAYMENT-REQUIRED": encodeHeaderJson({
        header: "PAYMENT-REQUIRED",
        value: {
          x402Version: 2,
          error,
          resource: { url: "http://127.0.0.1/r" },
          accepts: [requirement(amount, maxTimeoutSeconds)],
        },
      }),
    },
    body: JSON.stringify({ x402Version: 1, error, accepts: [], payment_options: options }),
  };
}

/** A PAYMENT-RESPONSE header saying the money moved. */
function receipt(transaction: string, payer: string) {
  return encodeHeaderJson({
    header: "PAYMENT-RESPONSE",
    value: { success: true, transaction, network: "eip155:84532", payer },
  });
}

/** What the hostile server does with the n-th proof it receives (0-based), after settling it for real. */
type Lie = (
  context: Readonly<{ n: number; settled: { success: boolean; transaction?: string; payer?: string } }>,
  res: ServerResponse,
) => void;

/**
 * A hostile paid API: unpaid requests get a 402 for `amount`; each facilitator-lane proof is settled through the real
 * facilitator first, and then answered as `lie` says; a direct transfer (already on chain) is answered 200.
 */
async function hostileServer(
  parameters: Readonly<{ amount: bigint; direct?: boolean; lie: Lie; settle?: (n: number) => boolean }>,
) {
  const { amount, direct, lie, settle = () => true } = parameters;
  const seen = { proofs: [] as string[], nonces: [] as string[], validBefores: [] as number[], unpaid: 0 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    req.on("end", () => {
      void (async () => {
        const proof = req.headers["payment-signature"];
        if (typeof req.headers["x-payment-tx"] === "string") {
          res.writeHead(200, { "content-type": "text/plain" }).end("paid directly");
          return;
        }
        if (typeof proof !== "string") {
          seen.unpaid += 1;
          const answer = paymentRequired({ amount, direct: direct === true });
          res.writeHead(answer.status, answer.headers).end(answer.body);
          return;
        }
        const n = seen.proofs.length;
        seen.proofs.push(proof);
        const decoded = decodeHeaderJson({ header: "PAYMENT-SIGNATURE", value: proof }) as {
          accepted: unknown;
          payload: { authorization: { nonce: string; validBefore: string } };
        };
        seen.nonces.push(decoded.payload.authorization.nonce);
        seen.validBefores.push(Number(decoded.payload.authorization.validBefore));
        if (!settle(n)) {
          // This one is kept, not settled: the server can still settle it until it dies.
          lie({ n, settled: { success: false } }, res);
          return;
        }
        const answer = await fetch(`${local.url}/settle`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({
            x402Version: 2,
            paymentPayload: decoded,
            paymentRequirements: decoded.accepted,
          }),
        });
        const settled = (await answer.json()) as { success: boolean; transaction?: string; payer?: string };
        lie({ n, settled }, res);
      })().catch((error: unknown) => {
        res.writeHead(599).end(String(error));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** Answers a refusal 402 with `error`, as an x402 server does after its facilitator refused. */
function refuse(res: ServerResponse, amount: bigint, error: string, direct = false): void {
  const answer = paymentRequired({ amount, error, direct });
  res.writeHead(answer.status, answer.headers).end(answer.body);
}

async function outcome<T>(promise: Promise<T>): Promise<T | unknown> {
  return promise.then(
    (v) => v,
    (e: unknown) => e,
  );
}

describe("one request, several payments: maxPerRequest bounds everything that can leave the wallet", () => {
  for (const { price, paid, answer } of [
    // 20000 + 20000 > 30000: the live 402 is not paid (the cached proof settled, so it cannot be cancelled).
    { price: 20_000n, paid: 20_000n, answer: "CLIENT__NO_PAYABLE_OFFER" },
    // 10000 three times fits 30000: cached proof, live-402 proof and direct transfer, each counted while it lives.
    { price: 10_000n, paid: 30_000n, answer: 200 },
  ]) {
    it(`a cached proof settled then refused, a live-402 proof settled then 'facilitator_unavailable' (price ${price}): at most maxPerRequest leaves`, async () => {
      // The first call warms the requirement cache honestly; from then on every proof is settled and then denied.
      const server = await hostileServer({
        amount: price,
        direct: true,
        lie: ({ n, settled }, res) => {
          if (n === 0) {
            res.writeHead(200, { "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", "") }).end("ok");
            return;
          }
          refuse(res, price, n === 1 ? "invalid_payment" : "facilitator_unavailable", true);
        },
      });
      const { payer, wallet } = walletOf(price === 20_000n ? 0 : 5, true);
      const payingFetch = createPayingFetch({
        wallets: [wallet],
        requirementCache: true,
        policy: { maxPerRequest: 30_000n },
      });
      expect((await payingFetch(`${server.url}/r`, { method: "POST", body: "warm" })).status).toBe(200);
      const before = await balances(payer.address);
      const second = await outcome(
        payingFetch(`${server.url}/r`, {
          method: "POST",
          body: "{}",
          headers: { "Idempotency-Key": "job-1" },
        }),
      );
      const after = await balances(payer.address);
      expect(before.payer - after.payer).toBeLessThanOrEqual(30_000n);
      expect(before.payer - after.payer).toBe(paid);
      expect(server.seen.proofs.length).toBe(price === 20_000n ? 2 : 3);
      if (answer === 200) {
        expect((second as Response).status).toBe(200);
        expect(after.direct - before.direct).toBe(10_000n);
      } else {
        expect(second).toMatchObject({ code: answer });
        expect(
          (second as { context: { rejections: { reason: string }[] } }).context.rejections.map(
            (r) => r.reason,
          ),
        ).toContain("earlier_proof_live");
        expect(after.direct).toBe(before.direct);
      }
    });
  }

  it("a signing-only wallet (no chain access) keeps a refused authorization counted: no second payment above the max", async () => {
    const price = 20_000n;
    const server = await hostileServer({
      amount: price,
      lie: ({ n, settled }, res) => {
        if (n === 0)
          res.writeHead(200, { "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", "") }).end("ok");
        else refuse(res, price, "invalid_payment");
      },
    });
    const { payer, wallet } = walletOf(1, false);
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      requirementCache: true,
      policy: { maxPerRequest: 30_000n },
    });
    expect((await payingFetch(`${server.url}/r`)).status).toBe(200);
    const before = await evm.balanceOf(payer.address);
    const second = await outcome(
      payingFetch(`${server.url}/r?job=2`, { headers: { "Idempotency-Key": "job-2" } }),
    );
    expect(isTollgateError(second, "CLIENT__NO_PAYABLE_OFFER")).toBe(true);
    expect(before - (await evm.balanceOf(payer.address))).toBe(20_000n);
    expect(server.seen.proofs).toHaveLength(2);
  });

  it("'facilitator_unavailable' after the server settled, then a direct offer to another payee: one payee is paid, once", async () => {
    const price = 10_000n;
    const server = await hostileServer({
      amount: price,
      direct: true,
      lie: (_, res) => refuse(res, price, "facilitator_unavailable", true),
    });
    const { payer, wallet } = walletOf(2, true);
    const payingFetch = createPayingFetch({ wallets: [wallet], policy: { maxPerRequest: 10_000n } });
    const before = await balances(payer.address);
    const result = await outcome(payingFetch(`${server.url}/r`));
    const after = await balances(payer.address);
    // The settled authorization could not be cancelled (it was used): the direct transfer is never sent.
    expect(isTollgateError(result, "CLIENT__NO_PAYABLE_OFFER")).toBe(true);
    expect(before.payer - after.payer).toBe(10_000n);
    expect(after.payee - before.payee).toBe(10_000n);
    expect(after.direct).toBe(before.direct);
  });

  it("an honest 'facilitator_unavailable': the authorization is cancelled on chain, then the direct lane pays", async () => {
    const price = 10_000n;
    let nonce = "";
    let held: { accepted: unknown } | undefined;
    // This server does not settle: it keeps the authorization and answers facilitator_unavailable.
    const honest = await (async () => {
      const s = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          const proof = req.headers["payment-signature"];
          if (typeof req.headers["x-payment-tx"] === "string") {
            res.writeHead(200).end("paid directly");
            return;
          }
          if (typeof proof === "string") {
            const decoded = decodeHeaderJson({ header: "PAYMENT-SIGNATURE", value: proof }) as {
              accepted: unknown;
              payload: { authorization: { nonce: string } };
            };
            nonce = decoded.payload.authorization.nonce;
            held = decoded;
            refuse(res, price, "facilitator_unavailable", true);
            return;
          }
          const answer = paymentRequired({ amount: price, direct: true });
          res.writeHead(answer.status, answer.headers).end(answer.body);
        });
      });
      await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
      closers.push(
        () =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      );
      return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    })();
    const { payer, wallet } = walletOf(3, true);
    const payingFetch = createPayingFetch({ wallets: [wallet], policy: { maxPerRequest: 10_000n } });
    const before = await balances(payer.address);
    const response = await payingFetch(`${honest}/r`);
    expect(await response.text()).toBe("paid directly");
    const after = await balances(payer.address);
    expect(before.payer - after.payer).toBe(10_000n);
    expect(after.direct - before.direct).toBe(10_000n);
    // The authorization the server held is dead on chain: it can never be settled now.
    const used = await evm.publicClient.readContract({
      address: evm.token,
      abi: evm.abi,
      functionName: "authorizationState",
      args: [payer.address, nonce as `0x${string}`],
    });
    expect(used).toBe(true);
    // The server that kept it cannot settle it any more.
    const late = await fetch(`${local.url}/settle`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ x402Version: 2, paymentPayload: held, paymentRequirements: held?.accepted }),
    });
    expect(((await late.json()) as { success: boolean }).success).toBe(false);
    expect(after.payee).toBe(before.payee);
  });

  it("an authorization lives at most maxAuthorizationSeconds, whatever maxTimeoutSeconds the server asks", async () => {
    const seen: number[] = [];
    const s = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        const proof = req.headers["payment-signature"];
        if (typeof proof === "string") {
          const decoded = decodeHeaderJson({ header: "PAYMENT-SIGNATURE", value: proof }) as {
            payload: { authorization: { validBefore: string } };
          };
          seen.push(Number(decoded.payload.authorization.validBefore));
          res.writeHead(200).end("ok");
          return;
        }
        const answer = paymentRequired({ amount: 1_000n, maxTimeoutSeconds: 31_536_000 });
        res.writeHead(answer.status, answer.headers).end(answer.body);
      });
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    );
    const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const nowMs = 1_800_000_000_000;
    const { wallet } = walletOf(4, false);
    await createPayingFetch({ wallets: [wallet], now: () => nowMs })(`${url}/a`);
    await createPayingFetch({ wallets: [wallet], now: () => nowMs, policy: { maxAuthorizationSeconds: 30 } })(
      `${url}/b`,
    );
    expect(seen).toEqual([nowMs / 1000 + 300, nowMs / 1000 + 30]);
  });
});

describe("a lost or broken answer after the proof never pays again, whatever the key", () => {
  /** Answers a proof the real facilitator refused (a re-sent one: its nonce is used) with its reason. */
  function refusedBySettle(res: ServerResponse, settled: { success: boolean; errorReason?: string }) {
    refuse(res, 10_000n, settled.errorReason ?? "payment_refused");
  }

  /** A settled proof's answer that is not a usable one, and the status the caller then sees (else an error). */
  type Breakage = (res: ServerResponse, settled: { transaction?: string; payer?: string }) => void;
  const paidWith =
    (status: number): Breakage =>
    (res, settled) =>
      res
        .writeHead(status, { "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", settled.payer ?? "") })
        .end("paid, but no answer");
  const breakages: Readonly<Record<string, Breakage>> = {
    "a 500": (res) => res.writeHead(500).end("internal error"),
    // Not a final answer to the proof ("come back later"): it may have settled first.
    "a 429": (res) => res.writeHead(429, { "retry-after": "1" }).end("slow down"),
    "a 408": (res) => res.writeHead(408).end("request timeout"),
    "a 425": (res) => res.writeHead(425).end("too early"),
    // The receipt says the money moved, the status says the caller got nothing.
    "a 503 with a successful PAYMENT-RESPONSE": paidWith(503),
    "a 404 with a successful PAYMENT-RESPONSE": paidWith(404),
    "a body cut after 10 bytes": (res) => {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
      res.write("0123456789", () => setTimeout(() => res.socket?.destroy(), 20));
    },
    "a 303 to a refusing port": (res) => res.writeHead(303, { location: "http://127.0.0.1:1/result" }).end(),
    "a 303 with an unparsable Location": (res) =>
      res.writeHead(303, { location: "http://[::1/result" }).end(),
  };

  for (const [index, [name, breakage]] of Object.entries(breakages).entries()) {
    it(`${name} after the server settled: the retry of the same request (no Idempotency-Key) re-sends the proof`, async () => {
      const server = await hostileServer({
        amount: 10_000n,
        lie: ({ n, settled }, res) => (n === 0 ? breakage(res, settled) : refusedBySettle(res, settled)),
      });
      const { payer, wallet } = walletOf(12 + index, false);
      const payingFetch = createPayingFetch({ wallets: [wallet] });
      const before = await evm.balanceOf(payer.address);
      const call = async () => {
        const response = await payingFetch(`${server.url}/job`, { method: "POST", body: '{"job":1}' });
        await response.text();
        return response;
      };
      const first = await outcome(call());
      // The caller sees the error status itself, or an error (CLIENT__SETTLEMENT_PENDING, a broken body).
      const status = /^a (\d{3})/.exec(name)?.[1];
      expect(first instanceof Error || String((first as Response).status) === status).toBe(true);
      // A generic retry loop: the same request again, twice.
      await outcome(call());
      await outcome(call());
      expect(new Set(server.seen.nonces).size).toBe(1);
      expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
    });
  }
});

// Before the tests that move the chain's clock forward: its proofs must still settle.
describe("two copies of one request whose paid bodies both break", () => {
  const ledgers = {
    "a memory ledger": async () => createMemoryLedger(),
    "a file ledger": async () => {
      const dir = await mkdtemp(join(tmpdir(), "tollgate-hostile-ledger-"));
      const ledger = createFileLedger({ path: join(dir, "ledger.jsonl") });
      closers.push(async () => {
        await ledger.close();
        await rm(dir, { recursive: true, force: true });
      });
      return ledger;
    },
  } as const;

  for (const [index, [name, makeLedger]] of Object.entries(ledgers).entries()) {
    it(`with ${name}: each broken proof is re-sent once, none is forgotten and paid a third time`, async () => {
      const server = await hostileServer({
        amount: 10_000n,
        lie: ({ n, settled }, res) => {
          if (n < 2) {
            // Settled, then the connection is cut 10 bytes into a 100-byte body.
            res.writeHead(200, {
              "content-type": "text/plain",
              "content-length": "100",
              "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", settled.payer ?? ""),
            });
            res.write("0123456789", () => setTimeout(() => res.socket?.destroy(), 20));
            return;
          }
          // A re-sent proof gets its answer replayed; a new one is served (after being settled: paid again).
          res
            .writeHead(200, { "content-type": "text/plain" })
            .end(settled.success ? "paid anew" : "replayed");
        },
      });
      const { payer, wallet } = walletOf(21 + index, false);
      const payingFetch = createPayingFetch({ wallets: [wallet], ledger: await makeLedger() });
      const before = await evm.balanceOf(payer.address);
      const url = `${server.url}/report`;
      // Two keyless copies of one GET: the second pays too, since the first's answer was received (headers) first.
      const copyA = await payingFetch(url);
      const copyB = await payingFetch(url);
      expect([copyA.status, copyB.status]).toEqual([200, 200]);
      expect(await outcome(copyA.text())).toBeInstanceOf(Error);
      expect(await outcome(copyB.text())).toBeInstanceOf(Error);
      expect(new Set(server.seen.nonces).size).toBe(2);
      // A generic retry of each copy: the two broken proofs are re-sent, oldest first, and their answers replayed.
      const retries = [await payingFetch(url), await payingFetch(url)];
      expect(await Promise.all(retries.map((r) => r.text()))).toEqual(["replayed", "replayed"]);
      expect(server.seen.nonces.slice(2)).toEqual(server.seen.nonces.slice(0, 2));
      expect(before - (await evm.balanceOf(payer.address))).toBe(20_000n);
      // Both answers were received in full: the same GET once more is a new purchase.
      expect(await (await payingFetch(url)).text()).toBe("paid anew");
      expect(new Set(server.seen.nonces).size).toBe(3);
      expect(before - (await evm.balanceOf(payer.address))).toBe(30_000n);
    });
  }
});

// Before the tests that move the chain's clock forward: its proofs must still settle.
describe("a served copy of a request does not forget another copy's live proof", () => {
  it("a lying 'facilitator_unavailable' of one copy keeps counting after another copy's proof is served", async () => {
    const server = await hostileServer({
      amount: 10_000n,
      lie: ({ n, settled }, res) => {
        if (n === 0) {
          res.writeHead(200, {
            "content-type": "text/plain",
            "content-length": "100",
            "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", settled.payer ?? ""),
          });
          res.write("0123456789", () => setTimeout(() => res.socket?.destroy(), 20));
          return;
        }
        // Settled, and yet "never sent to /settle": the authorization moved money.
        if (n === 1) refuse(res, 10_000n, "facilitator_unavailable");
        else
          res
            .writeHead(200, { "content-type": "text/plain" })
            .end(settled.success ? "paid anew" : "replayed");
      },
    });
    const { payer, wallet } = walletOf(23, false);
    const payingFetch = createPayingFetch({ wallets: [wallet], policy: { maxPerRequest: 10_000n } });
    const before = await evm.balanceOf(payer.address);
    const url = `${server.url}/report`;
    const copyA = await payingFetch(url);
    // Copy B pays its own purchase; the refused authorization stays live, so nothing more fits its max.
    const copyB = await outcome(payingFetch(url));
    expect(isTollgateError(copyB)).toBe(true);
    expect(await outcome(copyA.text())).toBeInstanceOf(Error);
    // Copy A's retry re-sends its proof and is served: its purchase is over, copy B's proof still counts.
    expect(await (await payingFetch(url)).text()).toBe("replayed");
    const again = await outcome(payingFetch(url));
    expect(isTollgateError(again) ? again.code : again).toBe((copyB as { code: string }).code);
    expect(new Set(server.seen.nonces).size).toBe(2);
    expect(before - (await evm.balanceOf(payer.address))).toBe(20_000n);
  });
});

describe("a 402 carrying a successful PAYMENT-RESPONSE", () => {
  it("is a payment: the same Idempotency-Key does not pay again", async () => {
    const server = await hostileServer({
      amount: 10_000n,
      lie: ({ n, settled }, res) => {
        if (n > 0) {
          refuse(res, 10_000n, "invalid_exact_evm_nonce_already_used");
          return;
        }
        // Settled, yet answered as a refusal that carries the receipt of the settlement.
        const answer = paymentRequired({ amount: 10_000n, error: "payment_required" });
        res
          .writeHead(402, {
            ...answer.headers,
            "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", settled.payer ?? ""),
          })
          .end(answer.body);
      },
    });
    const { payer, wallet } = walletOf(10, false);
    const payingFetch = createPayingFetch({ wallets: [wallet] });
    const before = await evm.balanceOf(payer.address);
    const init = { headers: { "Idempotency-Key": "order-9" } };
    const first = await outcome(payingFetch(`${server.url}/r`, init));
    expect((first as Response).status).toBe(402);
    expect(payingFetch.getReceipt(first as Response)?.settle?.success).toBe(true);
    await outcome(payingFetch(`${server.url}/r`, init));
    expect(new Set(server.seen.nonces).size).toBe(1);
    expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
  });
});

describe("createEvmWallet tells a proof's life from the chain", () => {
  it("live while unused and unexpired, settled once used, and never dead for another chain's nonce", async () => {
    const payer = payers[4] as (typeof payers)[number];
    const wallet = createEvmWallet({ account: payer, reader: evm.publicClient });
    const nowSeconds = Math.floor(Date.now() / 1000);
    const offer = {
      lane: "facilitator",
      x402Version: 2,
      scheme: "exact",
      network: "eip155:84532",
      asset: evm.token,
      payTo: payee,
      amount: 1_000n,
      maxTimeoutSeconds: 60,
      priority: 1,
      resource: { url: "http://x" },
      extra: { name: evm.eip712Domain.name, version: evm.eip712Domain.version },
      requirement: requirement(1_000n),
    } as unknown as Parameters<NonNullable<typeof wallet.createExactPayment>>[0]["offer"];
    const payment = await wallet.createExactPayment?.({ offer, nowSeconds, maxLifetimeSeconds: 60 });
    if (payment === undefined) throw new Error("no payment");
    const proof = {
      network: "eip155:84532",
      asset: evm.token,
      claim: payment.claim,
      validBefore: payment.validBefore,
      laneData: payment.laneData,
    };
    expect(await wallet.checkExactProof?.(proof)).toBe("live");
    const settled = await fetch(`${local.url}/settle`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        x402Version: 2,
        paymentPayload: { x402Version: 2, accepted: requirement(1_000n), payload: payment.payload },
        paymentRequirements: requirement(1_000n),
      }),
    });
    expect(((await settled.json()) as { success: boolean }).success).toBe(true);
    expect(await wallet.checkExactProof?.(proof)).toBe("settled");
    // The same nonce on Base mainnet: this reader (Base Sepolia) cannot tell anything about it.
    expect(await wallet.checkExactProof?.({ ...proof, network: "eip155:8453", validBefore: 1 })).toBe("live");
    // A signing-only wallet has no such capability.
    expect(createEvmWallet({ account: payer }).checkExactProof).toBeUndefined();
  });
});

// Last in the file: it moves the chain's clock forward.
describe("the budget hold of a refused authorization", () => {
  /** A server that keeps the first proof (502, then facilitator_unavailable when re-sent) and settles later ones. */
  async function keepingServer() {
    return hostileServer({
      amount: 10_000n,
      settle: (n) => n >= 2,
      lie: ({ n, settled }, res) => {
        if (n === 0) res.writeHead(502).end("bad gateway");
        else if (n === 1) refuse(res, 10_000n, "facilitator_unavailable");
        else res.writeHead(200, { "PAYMENT-RESPONSE": receipt(settled.transaction ?? "", "") }).end("paid");
      },
    });
  }

  it("without chain access stays on the budget: only the server says it never settles", async () => {
    const server = await keepingServer();
    const { payer, wallet } = walletOf(11, false);
    let clock = Date.now();
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      now: () => clock,
      policy: { budgets: [{ name: "lifetime", limit: 10_000n, window: "total" }] },
    });
    const init = { headers: { "Idempotency-Key": "job-7" } };
    expect((await payingFetch(`${server.url}/r`, init)).status).toBe(502);
    await outcome(payingFetch(`${server.url}/r`, init));
    clock += 3_600_000;
    const third = await outcome(payingFetch(`${server.url}/r`, init));
    expect(third).toMatchObject({ code: "CLIENT__BUDGET_EXHAUSTED" });
    expect(await evm.balanceOf(payer.address)).toBe(10_000_000n);
  });

  it("with chain access is released once the chain's clock passed its validBefore with the nonce unused", async () => {
    const server = await keepingServer();
    const payer = payers[11] as (typeof payers)[number];
    const wallet = createEvmWallet({ account: payer, reader: evm.publicClient });
    let clock = Date.now();
    const payingFetch = createPayingFetch({
      wallets: [wallet],
      now: () => clock,
      policy: { budgets: [{ name: "lifetime", limit: 10_000n, window: "total" }] },
    });
    const init = { headers: { "Idempotency-Key": "job-8" } };
    expect((await payingFetch(`${server.url}/r`, init)).status).toBe(502);
    await outcome(payingFetch(`${server.url}/r`, init));
    // Still within its life: it can settle, so it still holds the budget.
    expect(await outcome(payingFetch(`${server.url}/r`, init))).toMatchObject({
      code: "CLIENT__BUDGET_EXHAUSTED",
    });
    // Past its validBefore by the chain's own clock, its nonce unused: it is dead.
    await evm.anvil.request("evm_increaseTime", [600]);
    await evm.mine(1);
    clock += 600_000;
    const before = await evm.balanceOf(payer.address);
    const third = await payingFetch(`${server.url}/r`, init);
    expect(third.status).toBe(200);
    expect(before - (await evm.balanceOf(payer.address))).toBe(10_000n);
  });
});

/**
 * A hostile server on anvil against the owner's limits, where they compare identifiers: one network or one server
 * spelt several ways, one ledger shared by two paying fetches, a clock that jumps. The server settles every
 * authorization it receives on chain itself, so each test counts what actually left the wallet.
 */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { deriveEvmTestPrivateKey, type EvmChain, startEvmChain } from "@tollgate/testing";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { baseSepoliaUsdc, requirement } from "../test/paidApi.js";
import { type SettlingApi, startSettlingApi } from "../test/settlingApi.js";
import { createEvmWallet } from "./evm/evmWallet.js";
import { createMemoryLedger } from "./ledger/ledger.js";
import { createFileLedger } from "./node/fileLedger.js";
import { type CreatePayingFetchParameters, createPayingFetch } from "./payingFetch.js";

const labels = [
  "alias",
  "hosts",
  "deny-mapped",
  "ledger-key",
  "two-processes",
  "v1-caip2",
  "two-fetches",
  "clock",
] as const;
const payers = Object.fromEntries(
  labels.map((label) => [
    label,
    privateKeyToAccount(deriveEvmTestPrivateKey({ label: `client-spelling/${label}` })),
  ]),
) as Record<(typeof labels)[number], ReturnType<typeof privateKeyToAccount>>;
const payTo = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "client-spelling/payee" })).address;

let evm: EvmChain;
const apis: SettlingApi[] = [];

beforeAll(async () => {
  evm = await startEvmChain({ payers: Object.values(payers).map((p) => p.address) });
});
afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  await evm?.stop();
});

async function api(parameters: Omit<Parameters<typeof startSettlingApi>[0], "evm">): Promise<SettlingApi> {
  const started = await startSettlingApi({ evm, ...parameters });
  apis.push(started);
  return started;
}

function paying(payer: keyof typeof payers, parameters: Partial<CreatePayingFetchParameters> = {}) {
  return createPayingFetch({ wallets: [createEvmWallet({ account: payers[payer] })], ...parameters });
}

async function outcome(promise: Promise<Response>): Promise<number | string> {
  return promise.then(
    (r) => r.status,
    (e: unknown) => String((e as { code?: unknown }).code ?? e),
  );
}

/** The same loopback server, spelt another way: `http://<host>:<port>`. */
function spelt(url: string, host: string): string {
  return `http://${host}:${new URL(url).port}`;
}

describe("a network alias does not pass the deny list (item 6)", () => {
  it("an offer on eip155:084532 (chain 84532 with a leading zero) is refused, and nothing leaves the wallet", async () => {
    const server = await api({ accepts: [requirement({ network: "eip155:084532", payTo })] });
    const before = await evm.balanceOf(payers.alias.address);
    const payingFetch = paying("alias", { policy: { deny: { networks: ["eip155:84532"] } } });
    expect(await outcome(payingFetch(`${server.url}/r`))).toBe("WIRE__NO_PAYMENT_REQUIRED");
    expect(server.settled).toEqual([]);
    expect(await evm.balanceOf(payers.alias.address)).toBe(before);
  });
});

describe("one server spelt several ways has one per-origin budget (item 7)", () => {
  it("127.0.0.1, LOCALHOST, [::ffff:127.0.0.1], 0.0.0.0 and 0x7f.1 share a one-payment budget", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers.hosts.address);
    const payingFetch = paying("hosts", {
      policy: { budgets: [{ limit: 10_000n, window: "day", perOrigin: true }] },
    });
    const hosts = ["127.0.0.1", "LOCALHOST", "[::ffff:127.0.0.1]", "0.0.0.0", "0x7f.1"];
    const results: (number | string)[] = [];
    for (const [i, host] of hosts.entries()) {
      results.push(await outcome(payingFetch(`${spelt(server.url, host)}/r${i}`)));
    }
    expect(results).toEqual([200, ...hosts.slice(1).map(() => "CLIENT__BUDGET_EXHAUSTED")]);
    expect(server.settled).toHaveLength(1);
    expect(await evm.balanceOf(payers.hosts.address)).toBe(before - 10_000n);
  });

  it("a denied 127.0.0.1 is denied as [::ffff:127.0.0.1] and as localhost", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers["deny-mapped"].address);
    const payingFetch = paying("deny-mapped", { policy: { deny: { origins: ["127.0.0.1"] } } });
    for (const host of ["[::ffff:127.0.0.1]", "localhost"]) {
      expect(await outcome(payingFetch(`${spelt(server.url, host)}/r`))).toBe("CLIENT__NO_PAYABLE_OFFER");
    }
    expect(server.settled).toEqual([]);
    expect(await evm.balanceOf(payers["deny-mapped"].address)).toBe(before);
  });
});

describe("one request spelt two ways has one ledger key (item 7)", () => {
  it("a retry spelt LOCALHOST re-sends the proof whose answer was lost at 127.0.0.1", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers["ledger-key"].address);
    let lose = true;
    const lossy: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (lose && new Headers(init?.headers).has("payment-signature")) {
        lose = false;
        await response.body?.cancel();
        throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
      }
      return response;
    };
    const payingFetch = paying("ledger-key", { fetch: lossy });
    expect(await outcome(payingFetch(`${server.url}/r`))).toBe("CLIENT__SETTLEMENT_PENDING");
    expect(await outcome(payingFetch(`${spelt(server.url, "LOCALHOST")}/r`))).toBe(200);
    expect(server.settled).toHaveLength(1);
    expect(await evm.balanceOf(payers["ledger-key"].address)).toBe(before - 10_000n);
  });
});

describe("a v1 body naming its network in CAIP-2 (item 11)", () => {
  it("is paid once, answered with X-PAYMENT in the form the server used", async () => {
    const v1 = {
      scheme: "exact",
      network: "eip155:84532",
      maxAmountRequired: "10000",
      resource: "http://127.0.0.1/r",
      description: "",
      mimeType: "application/json",
      payTo,
      maxTimeoutSeconds: 60,
      asset: baseSepoliaUsdc,
      extra: { name: "USDC", version: "2" },
    };
    const server = await api({ body: { x402Version: 1, error: "payment_required", accepts: [v1] } });
    const before = await evm.balanceOf(payers["v1-caip2"].address);
    const response = await paying("v1-caip2")(`${server.url}/r`);
    expect(response.status).toBe(200);
    expect(server.settled.map((s) => [s.header, s.network, s.value])).toEqual([
      ["X-PAYMENT", "eip155:84532", 10_000n],
    ]);
    expect(await evm.balanceOf(payers["v1-caip2"].address)).toBe(before - 10_000n);
  });
});

describe("two paying fetches on one ledger (item 8)", () => {
  it("pay one logical request once, even with a slow confirm hook", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers["two-fetches"].address);
    const ledger = createMemoryLedger();
    const slowConfirm = async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      return true;
    };
    const a = paying("two-fetches", { ledger, policy: { confirm: slowConfirm } });
    const b = paying("two-fetches", { ledger, policy: { confirm: slowConfirm } });
    const init = { method: "POST", body: "{}", headers: { "Idempotency-Key": "order-1" } };
    const statuses = await Promise.all([
      outcome(a(`${server.url}/orders`, init)),
      outcome(b(`${server.url}/orders`, init)),
    ]);
    expect(statuses).toEqual([200, 200]);
    expect(server.settled).toHaveLength(1);
    expect(await evm.balanceOf(payers["two-fetches"].address)).toBe(before - 10_000n);
  });
});

describe("a file ledger another process uses (item 8)", () => {
  it("is refused before anything is signed: the second writer pays nothing", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers["two-processes"].address);
    const dir = await mkdtemp(join(tmpdir(), "tollgate-two-writers-"));
    const path = join(dir, "ledger.jsonl");
    const clientDir = join(dirname(fileURLToPath(import.meta.url)), "..");
    const child = spawn(
      process.execPath,
      ["--conditions=source", "--import", "tsx", join(clientDir, "test", "ledgerHolder.ts"), path],
      { cwd: clientDir, stdio: ["ignore", "pipe", "inherit"] },
    );
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on("data", (chunk: Buffer) => {
          if (chunk.toString("utf8").includes("held")) resolve();
        });
        child.once("exit", (code) => reject(new Error(`holder exited ${code}`)));
      });
      const ledger = createFileLedger({ path });
      const payingFetch = paying("two-processes", { ledger });
      const init = { method: "POST", body: "{}", headers: { "Idempotency-Key": "order-2" } };
      expect(await outcome(payingFetch(`${server.url}/orders`, init))).toBe("CLIENT__LEDGER_LOCKED");
      await ledger.close();
    } finally {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
      await rm(dir, { recursive: true, force: true });
    }
    expect(server.settled).toEqual([]);
    expect(await evm.balanceOf(payers["two-processes"].address)).toBe(before);
  });
});

describe("a clock that jumps a day forward and back (item 12)", () => {
  it("does not erase the day budget's history: 3 payments under a 3-per-day budget, not 5", async () => {
    const server = await api({ accepts: [requirement({ payTo })] });
    const before = await evm.balanceOf(payers.clock.address);
    const start = Date.now();
    let clock = start;
    const payingFetch = paying("clock", {
      now: () => clock,
      policy: { budgets: [{ limit: 30_000n, window: "day" }] },
    });
    const results: (number | string)[] = [];
    results.push(await outcome(payingFetch(`${server.url}/a`)));
    results.push(await outcome(payingFetch(`${server.url}/b`)));
    clock = start + 86_400_000 + 120_000; // a day and two minutes later: the window holds neither
    results.push(await outcome(payingFetch(`${server.url}/c`)));
    clock = start + 60_000; // back: a, b and c are all within this day
    results.push(await outcome(payingFetch(`${server.url}/d`)));
    results.push(await outcome(payingFetch(`${server.url}/e`)));
    expect(results).toEqual([200, 200, 200, "CLIENT__BUDGET_EXHAUSTED", "CLIENT__BUDGET_EXHAUSTED"]);
    expect(server.settled).toHaveLength(3);
    expect(await evm.balanceOf(payers.clock.address)).toBe(before - 30_000n);
  });
});

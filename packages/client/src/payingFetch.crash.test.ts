import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  deriveEvmTestPrivateKey,
  type EvmChain,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import { HTTPFacilitatorClient } from "@x402/core/server";
import { ExactEvmScheme as ExactEvmServerScheme } from "@x402/evm/exact/server";
import { paymentMiddleware, x402ResourceServer } from "@x402/express";
import express from "express";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * Crash and restart: an agent process is killed right after its proof reached the server; started again with the
 * same durable ledger, it re-sends that proof instead of signing a new one, and the payer's balance moves once.
 */
const clientDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const childScript = join(clientDir, "test", "crashChild.ts");
const payerKeys = [0, 1].map((i) => deriveEvmTestPrivateKey({ label: `client-crash-payer/${i}` }));
const payers = payerKeys.map((key) => privateKeyToAccount(key));
const payTo = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "client-crash-payee" })).address;

let evm: EvmChain;
let local: LocalFacilitator;
let url: string;
let closeServer: () => void;
let dir: string;
const settles: string[] = [];

type Held = { req: IncomingMessage; res: ServerResponse; next: () => void };
/** The gate in front of the paywall: holds the next request that carries a proof, and logs every proof. */
const gate = {
  holdNext: false,
  proofs: [] as string[],
  held: undefined as ((held: Held) => void) | undefined,
};

function nextHeld(): Promise<Held> {
  gate.holdNext = true;
  return new Promise((resolve) => {
    gate.held = resolve;
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tollgate-crash-"));
  evm = await startEvmChain({ payers: payers.map((p) => p.address) });
  local = await startLocalFacilitator({
    evm,
    options: {
      onEvent: (event) => {
        if (event.type === "settle") settles.push(String(event.ok));
      },
    },
  });
  const resourceServer = new x402ResourceServer(new HTTPFacilitatorClient({ url: local.url })).register(
    "eip155:84532",
    new ExactEvmServerScheme(),
  );
  const app = express();
  app.use((req, res, next) => {
    const proof = req.headers["payment-signature"];
    if (typeof proof === "string") {
      gate.proofs.push(proof);
      if (gate.holdNext) {
        gate.holdNext = false;
        gate.held?.({ req, res, next });
        return;
      }
    }
    next();
  });
  app.use(
    paymentMiddleware(
      {
        "POST /order": {
          accepts: { scheme: "exact", price: "$0.05", network: "eip155:84532", payTo },
          description: "order",
        },
      },
      resourceServer,
    ),
  );
  app.post("/order", (_req, res) => {
    res.json({ ordered: true });
  });
  const server = app.listen(0, "127.0.0.1");
  await new Promise<void>((resolve) => server.once("listening", () => resolve()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/order`;
  closeServer = () => {
    server.closeAllConnections();
    server.close();
  };
});

afterAll(async () => {
  closeServer?.();
  await local?.close();
  await evm?.stop();
  await rm(dir, { recursive: true, force: true });
});

function startAgent(key: string, ledgerPath: string): { child: ChildProcess; lines: Promise<string[]> } {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", childScript, url, ledgerPath],
    {
      cwd: clientDir,
      env: { ...process.env, TOLLGATE_TEST_PAYER_KEY: key },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  const lines = new Promise<string[]>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => {
      if (code !== 0 && signal === null) reject(new Error(`agent exited ${code}: ${err}`));
      else resolve(out.split("\n").filter((l) => l !== ""));
    });
  });
  return { child, lines };
}

describe("crash and restart with the file ledger", () => {
  it("an agent killed after sending its proof re-sends it on restart, and the balance moves once", async () => {
    const ledgerPath = join(dir, "dropped", "ledger.jsonl");
    const payer = payers[0]!;
    const before = { payer: await evm.balanceOf(payer.address), payee: await evm.balanceOf(payTo) };
    gate.proofs.length = 0;

    const held = nextHeld();
    const first = startAgent(payerKeys[0]!, ledgerPath);
    const request = await held;
    first.child.kill("SIGKILL");
    const firstLines = await first.lines;
    // The request that reached the server dies with its connection: the paywall never saw the proof.
    request.res.socket?.destroy();
    expect(firstLines.map((l) => JSON.parse(l))).toEqual([
      { event: "payment.signed", claim: expect.any(String) },
    ]);
    expect((await readFile(ledgerPath, "utf8")).trim().split("\n")).toHaveLength(1);

    const second = startAgent(payerKeys[0]!, ledgerPath);
    const secondLines = (await second.lines).map((l) => JSON.parse(l));
    expect(secondLines).toEqual([
      { event: "payment.reused", claim: JSON.parse(firstLines[0]!).claim },
      { status: 200, body: '{"ordered":true}', reused: true },
    ]);
    expect(gate.proofs).toHaveLength(2);
    expect(gate.proofs[1]).toBe(gate.proofs[0]);
    expect(await evm.balanceOf(payer.address)).toBe(before.payer - 50_000n);
    expect(await evm.balanceOf(payTo)).toBe(before.payee + 50_000n);
  });

  it("an agent killed while the server settles its proof does not pay again on restart", async () => {
    const ledgerPath = join(dir, "settled", "ledger.jsonl");
    const payer = payers[1]!;
    const before = await evm.balanceOf(payer.address);
    gate.proofs.length = 0;
    settles.length = 0;

    const held = nextHeld();
    const first = startAgent(payerKeys[1]!, ledgerPath);
    const request = await held;
    first.child.kill("SIGKILL");
    await first.lines;
    // The server goes on with the proof after the agent died, and settles it.
    request.next();
    await expect
      .poll(() => evm.balanceOf(payer.address), { interval: 20, timeout: 10_000 })
      .toBe(before - 50_000n);

    const second = startAgent(payerKeys[1]!, ledgerPath);
    const lines = (await second.lines).map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ event: "payment.reused" });
    expect(lines[1]).toMatchObject({
      error: "CLIENT__PAYMENT_REFUSED",
      context: { reason: "invalid_exact_evm_nonce_already_used" },
    });
    expect(gate.proofs).toHaveLength(2);
    expect(gate.proofs[1]).toBe(gate.proofs[0]);
    expect(settles).toEqual(["true"]);
    expect(await evm.balanceOf(payer.address)).toBe(before - 50_000n);
  });
});

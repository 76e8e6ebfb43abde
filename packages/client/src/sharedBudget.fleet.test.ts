import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createPaywall, type Paywall, type ServedFetch, serveFetch } from "@tollgate/server";
import { createEvmSettlementCheck } from "@tollgate/server/evm";
import {
  deriveEvmTestPrivateKey,
  type EvmChain,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
} from "@tollgate/testing";
import pg from "pg";
import { privateKeyToAccount } from "viem/accounts";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceForTests } from "../../server/test/services.js";
import { deleteRedisKeys } from "../test/redisKeys.js";

/**
 * THE fleet test: four agent processes (node, spawned), each with its own wallet and a paying fetch whose ledger and
 * budgets live in one shared store, fire 6 requests each at once at a real paywall on loopback (facilitator lane,
 * settled on anvil). The fleet's budget has room for 10 payments: exactly 10 are paid (counted by the server and on
 * chain), the other 14 refused with CLIENT__BUDGET_EXHAUSTED, never more.
 */
const clientDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const agentScript = join(clientDir, "test", "fleetAgent.ts");
const agents = [0, 1, 2, 3].map((i) => deriveEvmTestPrivateKey({ label: `client-fleet/agent/${i}` }));
const payee = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "client-fleet/payee" })).address;
const price = 10_000n;
const requestsPerAgent = 6;
const budgetPayments = 10n;
/** Four processes to start (tsx, migrations) and 24 payments to settle on anvil: generous on a loaded machine. */
const fleetTimeoutMs = 240_000;

const redisUp = await serviceForTests({ name: "Redis", port: 6379 });
const postgresUp = await serviceForTests({ name: "PostgreSQL", port: 5432 });
const redisUrl = "redis://127.0.0.1:6379";
const postgresUrl = "postgres://postgres@127.0.0.1:5432/test";

let evm: EvmChain;
let local: LocalFacilitator;
const served: ServedFetch[] = [];
const paywalls: Paywall[] = [];

beforeAll(async () => {
  if (!redisUp && !postgresUp) return;
  evm = await startEvmChain({ payers: agents.map((key) => privateKeyToAccount(key).address) });
  local = await startLocalFacilitator({ evm });
});

afterAll(async () => {
  for (const server of served) await server.close();
  for (const paywall of paywalls) await paywall.close();
  await local?.close();
  await evm?.stop();
});

/** A paid API on loopback that counts the requests it serves (only paid ones reach the handler). */
async function startPaidApi(): Promise<{ url: string; servedCount: () => number }> {
  let count = 0;
  const paywall = createPaywall({
    routes: { "GET /paid": "$0.01" },
    networks: ["base-sepolia"],
    payTo: payee,
    facilitators: [{ url: local.url, name: "local", verifyTimeoutMs: 5_000, settleTimeoutMs: 20_000 }],
    settlementChecks: { "eip155:84532": createEvmSettlementCheck({ publicClient: evm.publicClient }) },
  });
  paywalls.push(paywall);
  const server = await serveFetch({
    fetch: paywall.fetch(async () => {
      count += 1;
      return Response.json({ ok: true });
    }),
  });
  served.push(server);
  return { url: `${server.url}/paid`, servedCount: () => count };
}

type AgentResult = Readonly<{
  paid: number;
  refused: number;
  /** Proofs this agent signed, and recorded proofs (of any agent) it re-sent. */
  signed: number;
  reused: number;
  other: readonly string[];
}>;

/** Starts one agent; resolves once it says it is ready, with a promise of its result line. */
async function startAgent(
  options: Readonly<Record<string, unknown>>,
  key: string,
): Promise<{ child: ChildProcess; result: Promise<AgentResult> }> {
  const child = spawn(
    process.execPath,
    ["--conditions=source", "--import", "tsx", agentScript, JSON.stringify(options)],
    {
      cwd: clientDir,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, TOLLGATE_TEST_PAYER_KEY: key },
    },
  );
  let out = "";
  let err = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString("utf8");
  });
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => {
    ready = resolve;
  });
  const result = new Promise<AgentResult>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      if (out.includes("ready\n")) ready();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line !== undefined) resolve(JSON.parse(line) as AgentResult);
    });
    child.once("exit", (code) => reject(new Error(`agent exited ${code}: ${err}`)));
  });
  await Promise.race([isReady, result.then(() => undefined)]);
  return { child, result };
}

async function runFleet(
  store: "redis" | "postgres",
  connection: string,
  scope: string,
  shape: Readonly<{ agents: number; requests: number; idempotencyKey?: string }> = {
    agents: agents.length,
    requests: requestsPerAgent,
  },
) {
  const api = await startPaidApi();
  const before = await evm.balanceOf(payee);
  const options = (agent: number) => ({
    ...(shape.idempotencyKey === undefined ? {} : { idempotencyKey: shape.idempotencyKey }),
    store,
    connection,
    scope,
    url: api.url,
    agent,
    requests: shape.requests,
    limit: (price * budgetPayments).toString(),
  });
  // Started one after another (each applies migrations, loads tsx), then released together.
  const started = [];
  for (const [agent, key] of agents.slice(0, shape.agents).entries()) {
    started.push(await startAgent(options(agent), key));
  }
  for (const { child } of started) child.stdin?.write("go\n");
  const results = await Promise.all(started.map((s) => s.result));
  return { results, servedCount: api.servedCount(), received: (await evm.balanceOf(payee)) - before };
}

function expectExactBudget(outcome: Awaited<ReturnType<typeof runFleet>>): void {
  const { results, servedCount, received } = outcome;
  expect(results.flatMap((r) => r.other)).toEqual([]);
  expect(results.reduce((sum, r) => sum + r.paid, 0)).toBe(Number(budgetPayments));
  expect(results.reduce((sum, r) => sum + r.refused, 0)).toBe(
    agents.length * requestsPerAgent - Number(budgetPayments),
  );
  expect(servedCount).toBe(Number(budgetPayments));
  expect(received).toBe(price * budgetPayments);
}

describe("four agent processes share one budget exactly", () => {
  it.skipIf(!redisUp)(
    "on one Redis: 24 requests against a budget of 10 payments pay exactly 10",
    async () => {
      const prefix = `tollgate-client-fleet:${process.pid}:${Date.now()}:`;
      try {
        expectExactBudget(await runFleet("redis", redisUrl, prefix));
      } finally {
        await deleteRedisKeys(redisUrl, prefix);
      }
    },
    fleetTimeoutMs,
  );

  it.skipIf(!postgresUp)(
    "on one PostgreSQL: 24 requests against a budget of 10 payments pay exactly 10",
    async () => {
      const schema = `tollgate_client_fleet_${process.pid}_${Date.now()}`;
      try {
        expectExactBudget(await runFleet("postgres", postgresUrl, schema));
      } finally {
        const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      }
    },
    fleetTimeoutMs,
  );
});

describe("two agent processes paying one logical request (one Idempotency-Key) sign once between them", () => {
  const expectOnePayment = (outcome: Awaited<ReturnType<typeof runFleet>>) => {
    const { results, servedCount, received } = outcome;
    expect(results.flatMap((r) => r.other)).toEqual([]);
    expect(results.map((r) => r.paid)).toEqual([1, 1]);
    expect(results.reduce((sum, r) => sum + r.signed, 0)).toBe(1);
    expect(results.reduce((sum, r) => sum + r.reused, 0)).toBe(1);
    expect(servedCount).toBe(1);
    expect(received).toBe(price);
  };
  const shape = () => ({ agents: 2, requests: 1, idempotencyKey: `order-${crypto.randomUUID()}` });

  it.skipIf(!redisUp)(
    "on one Redis: the second waits for the lease and re-sends the first's proof",
    async () => {
      const prefix = `tollgate-client-fleet-once:${process.pid}:${Date.now()}:`;
      try {
        expectOnePayment(await runFleet("redis", redisUrl, prefix, shape()));
      } finally {
        await deleteRedisKeys(redisUrl, prefix);
      }
    },
    fleetTimeoutMs,
  );

  it.skipIf(!postgresUp)(
    "on one PostgreSQL: the second waits for the lease and re-sends the first's proof",
    async () => {
      const schema = `tollgate_client_fleet_once_${process.pid}_${Date.now()}`;
      try {
        expectOnePayment(await runFleet("postgres", postgresUrl, schema, shape()));
      } finally {
        const pool = new pg.Pool({ connectionString: postgresUrl, max: 1 });
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      }
    },
    fleetTimeoutMs,
  );
});

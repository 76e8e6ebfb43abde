// The analytics an operator reads from the admin API (`GET /report`), checked across processes: a reference
// server stopped and started again on the same store, one killed with records still queued, and two servers
// sharing one store. Each server is a separate process (src/main.ts, configured by its environment); anvil and
// the payer stay up in the test process. The test knows every request it made, so it knows the figures.

import { isDeepStrictEqual } from "node:util";
import { tokenHeaderNames } from "@tollgate/shared";
import { type EvmChain, startEvmChain } from "@tollgate/testing";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDirectPayments, directNetwork, directPayee, directSender } from "./directPayments.js";
import { killAllReferenceServers, type ReferenceServer, startReferenceServer } from "./referenceServer.js";

const origin = "https://api.analytics.test";
const sender = directSender;
const network = directNetwork;
/** /v1/search's price, in USDC's atomic units ($0.01). */
const searchPrice = 10_000n;

/** The latest instant a `Date` holds: the end of an all-time report window. */
const latestInstantMs = 8_640_000_000_000_000;

/** What one batch of requests did, as the test counts it; `add` merges two. */
export type Tally = Readonly<{
  /** Unpaid requests answered 402 (`payment_required`). */
  unpaid: number;
  /** Direct transfers served (each bought a token). */
  direct: number;
  /** Token debits served. */
  tokenSpends: number;
  /** A served transfer presented again (`replayed_payment`). */
  replays: number;
}>;

const noRequests: Tally = { unpaid: 0, direct: 0, tokenSpends: 0, replays: 0 };

const add = (a: Tally, b: Tally): Tally => ({
  unpaid: a.unpaid + b.unpaid,
  direct: a.direct + b.direct,
  tokenSpends: a.tokenSpends + b.tokenSpends,
  replays: a.replays + b.replays,
});

/** The report's JSON as the admin API sends it (bigints as decimal strings). */
type ReportJson = Readonly<{
  truncated: boolean;
  total: Figures;
  byLane: Readonly<Record<string, Figures>>;
  funnel: readonly Readonly<{ step: string; count: number }>[];
  failovers: number;
  pendingSettlements: number;
}>;

type Figures = Readonly<{
  attempts: number;
  successes: number;
  refunds: number;
  pending: number;
  failures: Readonly<Record<string, number>>;
  volume: Readonly<Record<string, string>>;
}>;

/** The figures a report compares on: everything counted exactly (the latency percentiles are not). */
function countedFigures(report: ReportJson) {
  const figures = (f: Figures | undefined) =>
    f === undefined
      ? undefined
      : {
          attempts: f.attempts,
          successes: f.successes,
          refunds: f.refunds,
          pending: f.pending,
          failures: f.failures,
          volume: f.volume,
        };
  return {
    truncated: report.truncated,
    total: figures(report.total),
    direct: figures(report.byLane.direct),
    token: figures(report.byLane.token),
    funnel: Object.fromEntries(report.funnel.map((s) => [s.step, s.count])),
    failovers: report.failovers,
    pendingSettlements: report.pendingSettlements,
  };
}

/** Every count of a report's figures, flat (`total.attempts`, `funnel.paid`, `total.volume.eip155:84532`, …). */
function countsOf(figures: ReturnType<typeof countedFigures>): Record<string, bigint> {
  const counts: Record<string, bigint> = {};
  const put = (prefix: string, value: unknown) => {
    if (typeof value === "number" || typeof value === "string") counts[prefix] = BigInt(value);
    else if (typeof value === "object" && value !== null)
      for (const [key, inner] of Object.entries(value)) put(prefix === "" ? key : `${prefix}.${key}`, inner);
  };
  put("", { ...figures, truncated: undefined });
  return Object.fromEntries(Object.entries(counts).filter(([, count]) => count !== 0n));
}

/**
 * The figures `tally`'s requests must produce, from the events each request emits (EVENTS_CONTRACT): a 402 is a
 * `payment_required` and no attempt; a served transfer or debit is an attempt through every funnel step to `paid`;
 * a replayed transfer is an attempt refused `replayed_payment`. Volume is what each served request charged (its
 * route's price): a transfer's surplus bought a token, it is not this request's volume.
 */
function expectedFigures(tally: Tally) {
  const attempts = tally.direct + tally.tokenSpends + tally.replays;
  const successes = tally.direct + tally.tokenSpends;
  const volumeOf = (served: number, key: string) =>
    served === 0 ? {} : { [key]: String(BigInt(served) * searchPrice) };
  const lane = (laneAttempts: number, served: number, failures: Record<string, number>, key: string) =>
    laneAttempts === 0
      ? undefined
      : {
          attempts: laneAttempts,
          successes: served,
          refunds: 0,
          pending: 0,
          failures,
          volume: volumeOf(served, key),
        };
  const replayFailures: Record<string, number> =
    tally.replays === 0 ? {} : { replayed_payment: tally.replays };
  return {
    truncated: false,
    total: {
      attempts,
      successes,
      refunds: 0,
      pending: 0,
      failures: replayFailures,
      volume: { ...volumeOf(tally.tokenSpends, ""), ...volumeOf(tally.direct, network) },
    },
    direct: lane(tally.direct + tally.replays, tally.direct, replayFailures, network),
    token: lane(tally.tokenSpends, tally.tokenSpends, {}, ""),
    funnel: {
      payment_required: tally.unpaid,
      proof_received: attempts,
      proof_checked: successes,
      verified: successes,
      settled: successes,
      paid: successes,
    },
    failovers: 0,
    pendingSettlements: 0,
  };
}

/** Parameters of `describeAnalyticsScenarios`. */
export type AnalyticsScenariosParameters = Readonly<{
  /** The suite's name, e.g. "PostgreSQL store". */
  name: string;
  /** Skip the suite (its service is missing and CI is not set: `serviceForTests` printed a note). */
  skip?: boolean;
  /** The store variables of a store named `store` (its own data directory, schema or key prefix). */
  storeEnvironment: (store: string) => Readonly<Record<string, string>>;
  /** Run after the suite (remove the directories, drop the schemas, delete the keys). */
  cleanup?: () => Promise<void>;
  /** Run the restart scenarios (a store that keeps its data across processes). @default true */
  restart?: boolean;
  /** Run the two-servers-on-one-store scenario (a store that processes can share). @default true */
  shared?: boolean;
  /**
   * `false` for the sanity run with no shared store (each process on its own memory store): the two-servers
   * scenario must then fail (`it.fails`), which shows it detects a store that is not shared.
   * @default true
   */
  storeShared?: boolean;
}>;

/** Registers the analytics tests of one store. */
export function describeAnalyticsScenarios(parameters: AnalyticsScenariosParameters): void {
  const { name, skip = false, storeEnvironment, cleanup, restart = true, shared = true } = parameters;
  const sharedScenario = parameters.storeShared === false ? it.fails : it;

  describe.skipIf(skip)(`the admin API's report across reference server processes on the ${name}`, () => {
    let evm: EvmChain;

    beforeAll(async () => {
      evm = await startEvmChain({
        payers: [sender.address],
        ethForPayers: { [sender.address]: parseEther("1") },
      });
    });
    afterAll(async () => {
      await killAllReferenceServers();
      await evm?.stop();
      await cleanup?.();
    });

    const start = (store: string): Promise<ReferenceServer> =>
      startReferenceServer(
        {
          X402_USE_UNIFIED_GATEWAY: "false",
          X402_DIRECT_CHAINS: "base",
          X402_BASE_NETWORK: "base-sepolia",
          X402_BASE_RPC_URL: evm.rpcUrl,
          X402_BASE_PAYMENT_ADDRESS: directPayee,
          X402_PUBLIC_ORIGINS: origin,
          ...storeEnvironment(store),
        },
        { admin: true },
      );

    /** A stop that must be clean: the server flushed its analytics, closed its store and exited 0, and logged no key. */
    const stop = async (server: ReferenceServer) => {
      expect(await server.stop(), server.output()).toBe(0);
      // The admin key it was started with reached none of its output (it printed the admin API's URL only).
      expect(server.admin?.key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(server.output()).not.toContain(server.admin?.key);
      expect(server.output()).toContain(`paid-api admin API listening at ${server.admin?.url}`);
    };

    /** The whole store's report (every record ever written: the window is all time), from `server`'s admin API. */
    async function reportOf(server: ReferenceServer): Promise<ReportJson> {
      const response = await server.admin?.get(`/report?since=0&until=${latestInstantMs}`);
      expect(response?.status, server.output()).toBe(200);
      return (await response?.json()) as ReportJson;
    }

    /** Polls `server`'s report (each flush writes within about a second) until it shows `expected`; asserts it. */
    async function reportShows(server: ReferenceServer, expected: ReturnType<typeof expectedFigures>) {
      let seen = countedFigures(await reportOf(server));
      for (let poll = 0; poll < 120 && !isDeepStrictEqual(seen, expected); poll++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        seen = countedFigures(await reportOf(server));
      }
      expect(seen).toEqual(expected);
    }

    const { transfer, payDirect } = createDirectPayments({ evm: () => evm, origin, query: "analytics" });

    /** `status` and the body read (a response left unread keeps its connection busy). */
    const statusOf = async (response: Promise<Response>) => {
      const answered = await response;
      await answered.arrayBuffer();
      return answered.status;
    };

    /**
     * One scripted mix, its requests split over `servers` in turn: `unpaid` 402s, one $0.10 transfer that buys a
     * token, `tokenSpends` $0.01 debits of that token, and the transfer presented once more (a replay). Every
     * answer is checked, so the tally is what the servers did, not what was asked.
     */
    async function drive(
      servers: readonly ReferenceServer[],
      mix: Readonly<{ unpaid: number; tokenSpends: number }>,
    ): Promise<Tally> {
      const at = (i: number) => servers[i % servers.length] as ReferenceServer;
      const unpaid = await Promise.all(
        Array.from({ length: mix.unpaid }, (_, i) => statusOf(fetch(`${at(i).url}/v1/search`))),
      );
      expect(unpaid).toEqual(Array(mix.unpaid).fill(402));
      const paid = await transfer(100_000n);
      const bought = await payDirect(at(0), paid);
      expect(bought.status, await bought.clone().text()).toBe(200);
      await bought.arrayBuffer();
      const token = bought.headers.get(tokenHeaderNames.token) ?? "";
      expect(token).not.toBe("");
      const spends = await Promise.all(
        Array.from({ length: mix.tokenSpends }, (_, i) =>
          statusOf(
            fetch(`${at(i + 1).url}/v1/search?q=token`, { headers: { [tokenHeaderNames.token]: token } }),
          ),
        ),
      );
      expect(spends).toEqual(Array(mix.tokenSpends).fill(200));
      const replay = await payDirect(at(1), paid);
      expect(replay.status).toBe(402);
      expect(((await replay.json()) as { error?: string }).error).toBe("replayed_payment");
      return { unpaid: mix.unpaid, direct: 1, tokenSpends: mix.tokenSpends, replays: 1 };
    }

    if (restart)
      it("reports the sum of both runs exactly after a graceful restart", async () => {
        let server = await start("graceful");
        expect(countedFigures(await reportOf(server))).toEqual(expectedFigures(noRequests));
        const first = await drive([server], { unpaid: 3, tokenSpends: 5 });
        // SIGTERM: the paywall's close writes what its emitter still queues before the store closes.
        await stop(server);
        server = await start("graceful");
        expect(countedFigures(await reportOf(server))).toEqual(expectedFigures(first));
        const second = await drive([server], { unpaid: 2, tokenSpends: 4 });
        await stop(server);
        server = await start("graceful");
        expect(countedFigures(await reportOf(server))).toEqual(expectedFigures(add(first, second)));
        await stop(server);
      }, 240_000);

    /**
     * A SIGKILL gives the paywall no close: records still queued (written off the paid path, in batches, at most
     * a second late) are lost, by design, while every payment stays exact (the restart scenarios check that).
     * So a killed run's report is bounded, not fixed: what was written before the kill is all there (the test
     * waits for a first batch to show in the report before it sends a second and kills at once), and nothing is
     * there beyond what was sent (no record invented or written twice). The next run is counted exactly on top.
     */
    if (restart)
      it("keeps what was written and never more than was sent after a SIGKILL, and counts the next run exactly", async () => {
        let server = await start("killed");
        const written = await drive([server], { unpaid: 3, tokenSpends: 5 });
        await reportShows(server, expectedFigures(written));
        const queued = await drive([server], { unpaid: 2, tokenSpends: 3 });
        await server.kill();
        server = await start("killed");
        const afterKill = countsOf(countedFigures(await reportOf(server)));
        const low = countsOf(expectedFigures(written));
        const high = countsOf(expectedFigures(add(written, queued)));
        for (const [figure, count] of Object.entries(afterKill)) {
          expect(count, figure).toBeGreaterThanOrEqual(low[figure] ?? 0n);
          expect(count, figure).toBeLessThanOrEqual(high[figure] ?? 0n);
        }
        const next = await drive([server], { unpaid: 2, tokenSpends: 4 });
        await stop(server);
        server = await start("killed");
        const afterNext = countsOf(countedFigures(await reportOf(server)));
        const grown = Object.fromEntries(
          Object.entries(afterNext)
            .map(([figure, count]) => [figure, count - (afterKill[figure] ?? 0n)] as const)
            .filter(([, count]) => count !== 0n),
        );
        expect(grown).toEqual(countsOf(expectedFigures(next)));
        await stop(server);
      }, 240_000);

    if (shared)
      sharedScenario(
        "reports the same figures from two servers sharing the store, equal to every request split between them",
        async () => {
          // One after the other: the first applies the store's migrations, the second finds them applied.
          const first = await start("shared");
          const servers = [first, await start("shared")] as const;
          // First each on its own requests only: each one's report must show the other's too.
          const alone = add(
            await drive([servers[0]], { unpaid: 2, tokenSpends: 3 }),
            await drive([servers[1]], { unpaid: 1, tokenSpends: 2 }),
          );
          await reportShows(servers[1], expectedFigures(alone));
          // Then every request split between them: a token bought on one is spent on both, a transfer served by
          // one is replayed on the other.
          const tally = add(
            alone,
            add(
              await drive(servers, { unpaid: 4, tokenSpends: 6 }),
              await drive([servers[1], servers[0]], { unpaid: 3, tokenSpends: 5 }),
            ),
          );
          // Live, both up: each wrote its own records (in batches, within about a second); once the first one's
          // report shows every request, the other's must be the same report, byte for byte.
          const expected = expectedFigures(tally);
          await reportShows(first, expected);
          const [a, b] = await Promise.all(servers.map(reportOf));
          expect(countedFigures(a as ReportJson)).toEqual(expected);
          expect(b).toEqual(a);
          // And after both stopped gracefully, from a new process on the store.
          for (const server of servers) await stop(server);
          const after = await start("shared");
          expect(await reportOf(after)).toEqual(a);
          await stop(after);
        },
        240_000,
      );
  });
}

// Two reference server processes (src/main.ts, configured by their environment) on one shared store, as behind
// a load balancer: the same proof, transfer or token presented to both at once. Run against each shared store
// (one test file per store calls this); anvil, the payers and our facilitator stay in the test process.

import { serveFetch } from "@tollgate/server";
import { tokenHeaderNames } from "@tollgate/shared";
import { type EvmChain, evmPayeeAccounts, evmPayerAccounts, startEvmChain } from "@tollgate/testing";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ourFacilitator, paymentRequiredOf, signPayment } from "../../../../packages/server/test/fixtures.js";
import { createDirectPayments, directNetwork, directPayee, directSender } from "./directPayments.js";
import { killAllReferenceServers, type ReferenceServer, startReferenceServer } from "./referenceServer.js";

const origin = "https://api.shared.test";
const sender = directSender;
const signer = evmPayerAccounts[2];
const merchant = evmPayeeAccounts[2].address;
const network = directNetwork;

/** Parameters of `describeSharedStoreScenarios`. */
export type SharedStoreScenariosParameters = Readonly<{
  /** The suite's name, e.g. "PostgreSQL store". */
  name: string;
  /** Skip the suite (its service is missing and CI is not set: `serviceForTests` printed a note). */
  skip?: boolean;
  /** The store variables of both servers (DATABASE_URL and its schema, or REDIS_URL and its prefix). */
  storeEnvironment: () => Readonly<Record<string, string>>;
  /** Run after the suite (drop the schema, delete the keys). */
  cleanup?: () => Promise<void>;
  /**
   * `false` for the sanity run with no shared store (each process on its own memory store): every scenario must
   * then fail (`it.fails`), which shows the scenarios detect a store that is not shared.
   * @default true
   */
  shared?: boolean;
}>;

/** Whether a response is the paid content of /v1/search (the handler ran and its answer was delivered). */
async function isPaidSearch(response: Response): Promise<boolean> {
  const text = await response.text();
  if (response.status !== 200) return false;
  const body = JSON.parse(text) as { query?: unknown; results?: unknown };
  return typeof body.query === "string" && Array.isArray(body.results);
}

/** Registers the two-process tests of one shared store. */
export function describeSharedStoreScenarios(parameters: SharedStoreScenariosParameters): void {
  const { name, skip = false, storeEnvironment, cleanup, shared = true } = parameters;
  const scenario = shared ? it : it.fails;

  describe.skipIf(skip)(`two reference server processes sharing the ${name}`, () => {
    let evm: EvmChain;
    let servers: readonly [ReferenceServer, ReferenceServer];
    /** Every /settle the servers sent our facilitator, and how many of them it answered with a settlement. */
    const settles = { asked: 0, settled: 0 };
    let facilitatorUrl = "";
    let closeFacilitator: () => Promise<void> = async () => undefined;

    beforeAll(async () => {
      evm = await startEvmChain({
        payers: [sender.address, signer.address],
        ethForPayers: { [sender.address]: parseEther("1") },
      });
      const facilitator = ourFacilitator(evm);
      const served = await serveFetch({
        fetch: async (request) => {
          if (!new URL(request.url).pathname.endsWith("/settle")) return facilitator.fetch(request);
          settles.asked++;
          const answer = await facilitator.fetch(request);
          const body = (await answer.clone().json()) as { success?: unknown };
          if (body.success === true) settles.settled++;
          return answer;
        },
      });
      facilitatorUrl = served.url;
      closeFacilitator = () => served.close();
      const environment = {
        X402_USE_UNIFIED_GATEWAY: "true",
        X402_PAYAI_FACILITATOR_URL: facilitatorUrl,
        X402_PAYAI_MERCHANT_ADDRESS: merchant,
        X402_DIRECT_CHAINS: "base",
        X402_BASE_NETWORK: "base-sepolia",
        X402_BASE_RPC_URL: evm.rpcUrl,
        X402_BASE_PAYMENT_ADDRESS: directPayee,
        X402_PUBLIC_ORIGINS: origin,
        ...storeEnvironment(),
      };
      // One after the other: the first applies the store's migrations, the second finds them applied.
      const first = await startReferenceServer(environment);
      servers = [first, await startReferenceServer(environment)];
    }, 120_000);
    afterAll(async () => {
      if (servers !== undefined) {
        for (const server of servers) expect(await server.stop(), server.output()).toBe(0);
      }
      await killAllReferenceServers();
      await closeFacilitator();
      await evm?.stop();
      await cleanup?.();
    });

    /** `count` requests made by `request(server)` at once, split evenly between the two servers. */
    const split = (count: number, request: (server: ReferenceServer) => Promise<Response>) =>
      Promise.all(Array.from({ length: count }, (_, i) => request(servers[i % 2] as ReferenceServer)));

    const { transfer, payDirect } = createDirectPayments({ evm: () => evm, origin, query: "shared" });

    const payToken = (server: ReferenceServer, token: string) =>
      fetch(`${server.url}/v1/search?q=token`, { headers: { [tokenHeaderNames.token]: token } });

    const errorOf = async (response: Response) => ((await response.json()) as { error?: string }).error;

    scenario(
      "serves one proof of 200 concurrent presentations split between them once, settled once",
      async () => {
        const offer = paymentRequiredOf(await fetch(`${servers[0].url}/v1/search`));
        const requirement = offer.accepts.find((r) => r.scheme === "exact" && r.network === network);
        if (requirement === undefined) throw new Error("no exact offer on Base Sepolia");
        const proof = await signPayment({ evm, payer: signer, requirement });
        const payerBefore = await evm.balanceOf(signer.address);
        const merchantBefore = await evm.balanceOf(merchant);
        const asked = settles.asked;

        const responses = await split(200, (server) =>
          fetch(`${server.url}/v1/search?q=proof`, { headers: { "payment-signature": proof } }),
        );
        const paid = await Promise.all(responses.map((r) => isPaidSearch(r.clone())));
        expect(paid.filter(Boolean)).toHaveLength(1);
        expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
        // One settlement reached the facilitator (the other process saw the shared claim and never asked it).
        expect(settles.asked - asked).toBe(1);
        expect(settles.settled).toBe(1);
        expect(payerBefore - (await evm.balanceOf(signer.address))).toBe(BigInt(requirement.amount));
        expect((await evm.balanceOf(merchant)) - merchantBefore).toBe(BigInt(requirement.amount));
        // Each process refuses it afterwards as a replay.
        for (const server of servers) {
          const again = await fetch(`${server.url}/v1/search`, { headers: { "payment-signature": proof } });
          expect(await errorOf(again)).toBe("replayed_payment");
        }
      },
    );

    scenario("serves one direct transfer presented to both at once once, minting one token", async () => {
      const paid = await transfer(100_000n);
      const responses = await split(20, (server) => payDirect(server, paid));
      const served = responses.filter((r) => r.status === 200);
      const paidBodies = await Promise.all(responses.map((r) => isPaidSearch(r.clone())));
      expect(paidBodies.filter(Boolean)).toHaveLength(1);
      expect(served).toHaveLength(1);
      expect(served[0]?.headers.get(tokenHeaderNames.balance)).toBe("90000");
      expect(responses.filter((r) => r.headers.get(tokenHeaderNames.token) !== null)).toHaveLength(1);
      for (const server of servers)
        expect(await errorOf(await payDirect(server, paid))).toBe("replayed_payment");
    });

    scenario("spends one token from both at once to exactly its balance, never below zero", async () => {
      // Bought on the first process: the second knows it only through the shared store.
      const bought = await payDirect(servers[0], await transfer(100_000n));
      expect(bought.status).toBe(200);
      const token = bought.headers.get(tokenHeaderNames.token) ?? "";
      expect(bought.headers.get(tokenHeaderNames.balance)).toBe("90000");

      // $0.09 buys 9 searches of $0.01; 40 are asked for at once, 20 from each process.
      const responses = await split(40, (server) => payToken(server, token));
      const served = responses.filter((r) => r.status === 200);
      expect(served).toHaveLength(9);
      for (const response of responses) await response.arrayBuffer();
      // Each debit answered its own balance after it: 0.08, 0.07, … 0.00, each once.
      const balances = served.map((r) => BigInt(r.headers.get(tokenHeaderNames.balance) ?? "-1"));
      expect([...balances].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(
        Array.from({ length: 9 }, (_, i) => BigInt(i * 10_000)),
      );
      for (const server of servers) {
        const empty = await payToken(server, token);
        expect(empty.status).toBe(402);
        expect(await errorOf(empty)).toBe("token_insufficient_balance");
      }
    });
  });
}

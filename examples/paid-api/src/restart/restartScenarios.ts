// The restart scenarios, run against each durable store (one test file per store calls this): the reference
// server is a separate process each time (src/main.ts, configured by its environment), killed and started
// again on the same store, while anvil and the payer stay up in the test process.

import { serveFetch } from "@tollgate/server";
import { tokenHeaderNames } from "@tollgate/shared";
import { type EvmChain, evmPayeeAccounts, evmPayerAccounts, startEvmChain } from "@tollgate/testing";
import { parseEther } from "viem";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ourFacilitator, paymentRequiredOf, signPayment } from "../../../../packages/server/test/fixtures.js";
import { createDirectPayments, directNetwork, directPayee, directSender } from "./directPayments.js";
import { killAllReferenceServers, type ReferenceServer, startReferenceServer } from "./referenceServer.js";

/** The origin every binding names: the servers listen on a new port each start, the binding stays valid. */
const origin = "https://api.restart.test";
const sender = directSender;
/** The facilitator-lane payer (gasless: it holds USDC only) and the merchant it pays. */
const signer = evmPayerAccounts[2];
const merchant = evmPayeeAccounts[2].address;
const network = directNetwork;

export type RestartScenariosParameters = Readonly<{
  /** The suite's name, e.g. "embedded store". */
  name: string;
  /** Skip the suite (its service is missing and CI is not set: `serviceForTests` printed a note). */
  skip?: boolean;
  /** The store variables of the reference server (TOLLGATE_DATA_DIR, or DATABASE_URL and its schema). */
  storeEnvironment: () => Readonly<Record<string, string>>;
  /** Run after the suite (drop the schema, remove the directory). */
  cleanup?: () => Promise<void>;
}>;

/** Registers the restart tests of one store. */
export function describeRestartScenarios(parameters: RestartScenariosParameters): void {
  const { name, skip = false, storeEnvironment, cleanup } = parameters;

  describe.skipIf(skip)(`the reference server restarted on the ${name}`, () => {
    let evm: EvmChain;

    beforeAll(async () => {
      evm = await startEvmChain({
        payers: [sender.address, signer.address],
        ethForPayers: { [sender.address]: parseEther("1") },
      });
    });
    afterAll(async () => {
      await killAllReferenceServers();
      await evm?.stop();
      await cleanup?.();
    });

    const start = (facilitatorLane: Readonly<Record<string, string>> = {}): Promise<ReferenceServer> =>
      startReferenceServer({
        X402_USE_UNIFIED_GATEWAY: "false",
        ...facilitatorLane,
        X402_DIRECT_CHAINS: "base",
        X402_BASE_NETWORK: "base-sepolia",
        X402_BASE_RPC_URL: evm.rpcUrl,
        X402_BASE_PAYMENT_ADDRESS: directPayee,
        X402_PUBLIC_ORIGINS: origin,
        ...storeEnvironment(),
      });

    /** A stop that must be clean: the server closed its store and exited 0. */
    const stop = async (server: ReferenceServer) => {
      expect(await server.stop(), server.output()).toBe(0);
    };

    const { transfer, payDirect } = createDirectPayments({ evm: () => evm, origin, query: "restart" });

    const payToken = (server: ReferenceServer, token: string, path = "/v1/report", headers = {}) =>
      fetch(`${server.url}${path}`, { headers: { [tokenHeaderNames.token]: token, ...headers } });

    /** The prepaid token a $0.10 direct transfer bought ($0.09 after the $0.01 search it paid). */
    async function buyToken(server: ReferenceServer): Promise<string> {
      const response = await payDirect(server, await transfer(100_000n));
      expect(response.status, await response.clone().text()).toBe(200);
      expect(response.headers.get(tokenHeaderNames.balance)).toBe("90000");
      const token = response.headers.get(tokenHeaderNames.token);
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      return token ?? "";
    }

    const errorOf = async (response: Response) => ((await response.json()) as { error?: string }).error;

    it("serves a direct transfer once across 5 restarts", async () => {
      const paid = await transfer(100_000n);
      let server = await start();
      const first = await payDirect(server, paid);
      expect(first.status).toBe(200);
      expect(await first.json()).toMatchObject({ query: "restart" });
      const outcomes: (string | undefined)[] = [];
      for (let restart = 0; restart < 5; restart++) {
        await stop(server);
        server = await start();
        const again = await payDirect(server, paid);
        outcomes.push(again.status === 200 ? "served" : await errorOf(again));
      }
      await stop(server);
      expect(outcomes).toEqual(Array(5).fill("replayed_payment"));
    });

    it("keeps a token's balance exact across restarts", async () => {
      let server = await start();
      const token = await buyToken(server);
      const spent = await payToken(server, token);
      expect(spent.headers.get(tokenHeaderNames.balance)).toBe("70000");
      const balances: (string | null)[] = [];
      for (const path of ["/v1/search", "/v1/report", "/v1/report"]) {
        await stop(server);
        server = await start();
        const response = await payToken(server, token, path);
        expect(response.status).toBe(200);
        balances.push(response.headers.get(tokenHeaderNames.balance));
      }
      // $0.07 → $0.06 → $0.04 → $0.02; then the next $0.02 report is still paid, and nothing more.
      expect(balances).toEqual(["60000", "40000", "20000"]);
      await stop(server);
      server = await start();
      expect((await payToken(server, token)).headers.get(tokenHeaderNames.balance)).toBe("0");
      const empty = await payToken(server, token);
      expect(empty.status).toBe(402);
      expect(await errorOf(empty)).toBe("token_insufficient_balance");
      await stop(server);
    });

    it("survives a SIGKILL mid-load: no proof served twice, no token balance wrong", async () => {
      let server = await start();
      // A $1.00 transfer: $0.99 of prepaid credit after the $0.01 search it paid.
      const bought = await payDirect(server, await transfer(1_000_000n));
      expect(bought.status).toBe(200);
      const token = bought.headers.get(tokenHeaderNames.token) ?? "";
      expect(bought.headers.get(tokenHeaderNames.balance)).toBe("990000");
      const fresh = await transfer(100_000n);

      // 40 token debits of $0.01 and 20 presentations of one fresh direct transfer at once; the server is
      // killed (no shutdown) once 10 answers are in, so some requests were in flight.
      let answered = 0;
      let killing: Promise<void> | undefined;
      const victim = server;
      const settle = async (request: Promise<Response>): Promise<number | "lost"> => {
        try {
          const response = await request;
          await response.arrayBuffer();
          return response.status;
        } catch {
          return "lost";
        } finally {
          if (++answered === 10) killing = victim.kill();
        }
      };
      const outcomes = await Promise.all([
        ...Array.from({ length: 40 }, () => settle(payToken(server, token, "/v1/search"))),
        ...Array.from({ length: 20 }, () => settle(payDirect(server, fresh))),
      ]);
      await (killing ?? victim.kill());
      const tokenOutcomes = outcomes.slice(0, 40);
      const directOutcomes = outcomes.slice(40);
      const served = tokenOutcomes.filter((o) => o === 200).length;
      const lost = tokenOutcomes.filter((o) => o === "lost").length;

      server = await start();
      const again = await payDirect(server, fresh);
      // Served now, or refused as a replay (its claim was taken before the kill and its answer lost): never twice.
      if (again.status !== 200) expect(await errorOf(again)).toBe("replayed_payment");
      const directServed = [...directOutcomes, again.status].filter((o) => o === 200).length;
      expect(directServed).toBeLessThanOrEqual(1);
      // Every debit that served was taken; a debit whose answer was lost in the kill may have been taken too.
      const after = await payToken(server, token, "/v1/search");
      expect(after.status).toBe(200);
      const charged = (990_000 - Number(after.headers.get(tokenHeaderNames.balance))) / 10_000 - 1;
      expect(charged).toBeGreaterThanOrEqual(served);
      expect(charged).toBeLessThanOrEqual(served + lost);
      await stop(server);
    });

    it("resolves a settlement_pending proof after a restart: served once, paid once", async () => {
      // Our facilitator on loopback in PayAI's place; its first /settle answer is lost (502: it may have
      // arrived), and nothing is sent, so the chain check finds nothing: the proof is left settlement_pending.
      const facilitator = ourFacilitator(evm);
      let settleAnswerLost = true;
      const stub = await serveFetch({
        fetch: (request) =>
          settleAnswerLost && new URL(request.url).pathname.endsWith("/settle")
            ? Response.json({ error: "bad_gateway" }, { status: 502 })
            : facilitator.fetch(request),
      });
      const facilitatorLane = {
        X402_USE_UNIFIED_GATEWAY: "true",
        X402_PAYAI_FACILITATOR_URL: stub.url,
        X402_PAYAI_MERCHANT_ADDRESS: merchant,
      };
      try {
        let server = await start(facilitatorLane);
        const offer = paymentRequiredOf(await fetch(`${server.url}/v1/search`));
        const requirement = offer.accepts.find((r) => r.scheme === "exact" && r.network === network);
        if (requirement === undefined) throw new Error("no exact offer on Base Sepolia");
        const proof = await signPayment({ evm, payer: signer, requirement });
        const present = () => fetch(`${server.url}/v1/search`, { headers: { "payment-signature": proof } });
        const before = await evm.balanceOf(signer.address);

        const pending = await present();
        expect(pending.status).not.toBe(200);
        expect(await errorOf(pending)).toBe("settlement_pending");
        expect(await evm.balanceOf(signer.address)).toBe(before);

        // A new process on the same store, the facilitator answering again: the same proof resumes and settles.
        await stop(server);
        settleAnswerLost = false;
        server = await start(facilitatorLane);
        const resolved = await present();
        expect(resolved.status, await resolved.clone().text()).toBe(200);
        expect(await resolved.json()).toMatchObject({ query: "" });
        expect(before - (await evm.balanceOf(signer.address))).toBe(BigInt(requirement.amount));

        // Settled for good, also across one more restart.
        await stop(server);
        server = await start(facilitatorLane);
        const replay = await present();
        expect(await errorOf(replay)).toBe("replayed_payment");
        expect(before - (await evm.balanceOf(signer.address))).toBe(BigInt(requirement.amount));
        await stop(server);
      } finally {
        await stub.close();
      }
    });

    /**
     * The stale-pending rule across processes: the server is SIGKILLed while its `/settle` is held at the
     * facilitator, so the proof's claim stays `pending` in the store with nobody to move it. A new process on
     * the same store (`TOLLGATE_STALE_CLAIM_SECONDS=2`) lets the same proof's retry take the claim over once it
     * is stale and resolve it: the chain decides whether the held settlement went through.
     */
    it.each([
      ["never reaches the chain: the retry settles it", false],
      ["completes on chain after the kill: the retry finds it there and settles nothing", true],
    ] as const)(
      "resolves a proof whose server died during /settle, which %s",
      async (_, heldSettles) => {
        const facilitator = ourFacilitator(evm);
        let settleArrived: () => void = () => undefined;
        const arrived = new Promise<void>((resolve) => {
          settleArrived = resolve;
        });
        let letHeldGo: (settle: boolean) => void = () => undefined;
        const heldOutcome = new Promise<boolean>((resolve) => {
          letHeldGo = resolve;
        });
        let heldFinished: () => void = () => undefined;
        const heldDone = new Promise<void>((resolve) => {
          heldFinished = resolve;
        });
        const settles = { arrived: 0, sentToChain: 0 };
        const stub = await serveFetch({
          fetch: async (request) => {
            if (!new URL(request.url).pathname.endsWith("/settle")) return facilitator.fetch(request);
            const body = (await request.json()) as unknown;
            if (++settles.arrived === 1) {
              settleArrived();
              // Held until the server that sent it is dead; then it moves the money, or never does.
              const settle = await heldOutcome;
              if (settle) settles.sentToChain++;
              const answer = settle ? (await facilitator.settle(body)).body : { error: "bad_gateway" };
              heldFinished();
              return Response.json(answer, { status: settle ? 200 : 502 });
            }
            settles.sentToChain++;
            return Response.json((await facilitator.settle(body)).body);
          },
        });
        const facilitatorLane = {
          X402_USE_UNIFIED_GATEWAY: "true",
          X402_PAYAI_FACILITATOR_URL: stub.url,
          X402_PAYAI_MERCHANT_ADDRESS: merchant,
          TOLLGATE_STALE_CLAIM_SECONDS: "2",
        };
        try {
          let server = await start(facilitatorLane);
          const offer = paymentRequiredOf(await fetch(`${server.url}/v1/search`));
          const requirement = offer.accepts.find((r) => r.scheme === "exact" && r.network === network);
          if (requirement === undefined) throw new Error("no exact offer on Base Sepolia");
          const proof = await signPayment({ evm, payer: signer, requirement });
          const present = () => fetch(`${server.url}/v1/search`, { headers: { "payment-signature": proof } });
          const before = await evm.balanceOf(signer.address);

          const lost = present().then(
            (response) => `answered ${response.status}`,
            () => "lost",
          );
          await arrived;
          await server.kill();
          expect(await lost).toBe("lost");
          letHeldGo(heldSettles);
          await heldDone;
          expect(before - (await evm.balanceOf(signer.address))).toBe(
            heldSettles ? BigInt(requirement.amount) : 0n,
          );

          // A new process on the same store: the retry is refused while the claim is fresh, then takes it over.
          server = await start(facilitatorLane);
          const refusals: (string | undefined)[] = [];
          let served: Response | undefined;
          for (let attempt = 0; attempt < 40 && served === undefined; attempt++) {
            const response = await present();
            if (response.status === 200) served = response;
            else {
              refusals.push(await errorOf(response));
              await new Promise((resolve) => setTimeout(resolve, 250));
            }
          }
          expect(served?.status, `${refusals.join(", ")}\n${server.output()}`).toBe(200);
          expect(await served?.json()).toMatchObject({ query: "" });
          expect(new Set(refusals)).toEqual(new Set(refusals.length > 0 ? ["replayed_payment"] : []));
          // Paid once: one settlement reached the chain, whichever request sent it.
          expect(before - (await evm.balanceOf(signer.address))).toBe(BigInt(requirement.amount));
          expect(settles).toEqual({ arrived: heldSettles ? 1 : 2, sentToChain: 1 });

          // Spent for good, also for another process.
          await stop(server);
          server = await start(facilitatorLane);
          expect(await errorOf(await present())).toBe("replayed_payment");
          expect(before - (await evm.balanceOf(signer.address))).toBe(BigInt(requirement.amount));
          expect(settles.sentToChain).toBe(1);
          await stop(server);
        } finally {
          letHeldGo(false);
          await stub.close();
        }
      },
      180_000,
    );

    it("replays an idempotent response after a restart, charging once", async () => {
      let server = await start();
      const token = await buyToken(server);
      const key = { "idempotency-key": `order-${Date.now()}` };
      const original = await payToken(server, token, "/v1/report", key);
      expect(original.status).toBe(200);
      const body = await original.text();
      expect(original.headers.get(tokenHeaderNames.balance)).toBe("70000");
      await stop(server);
      server = await start();
      const replay = await payToken(server, token, "/v1/report", key);
      expect(replay.status).toBe(200);
      expect(replay.headers.get("idempotent-replayed")).toBe("true");
      expect(await replay.text()).toBe(body);
      expect(replay.headers.get(tokenHeaderNames.balance)).toBe("70000");
      // The replay took nothing: the next debit starts from $0.07.
      const next = await payToken(server, token, "/v1/search");
      expect(next.headers.get(tokenHeaderNames.balance)).toBe("60000");
      await stop(server);
    });
  });
}

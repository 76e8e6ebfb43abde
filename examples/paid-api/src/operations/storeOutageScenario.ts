// The readiness scenario of one durable store (a test file per store calls it): the reference server runs as
// a process of its own (src/main.ts, configured by its environment), its store behind a loopback TCP proxy
// that the test takes down and brings back on the same port.
import { afterAll, describe, expect, it } from "vitest";
import { startTcpProxy, type TcpProxy } from "../../../../packages/server/test/tcpProxy.js";
import { parseExposition, sumOf } from "../monitoring/exposition.js";
import {
  killAllReferenceServers,
  type ReferenceServer,
  startReferenceServer,
} from "../restart/referenceServer.js";

export type StoreOutageScenarioParameters = Readonly<{
  /** The suite's name, e.g. "PostgreSQL store". */
  name: string;
  /** Skip the suite (its service is missing and CI is not set: `serviceForTests` printed a note). */
  skip: boolean;
  /** The port of the real service the proxy forwards to (5432, 6379). */
  servicePort: number;
  /** The store variables of the reference server, given the proxy's port. */
  storeEnvironment: (proxyPort: number) => Readonly<Record<string, string>>;
  /** Run after the suite (drop the schema, delete the keys). */
  cleanup: () => Promise<void>;
}>;

type Answer = Readonly<{ status: number; body: unknown }>;

/** Asks `read` again (up to 20 s, 100 ms apart) until `done` holds; answers the last answer either way. */
async function pollUntil<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let value = await read();
  for (let attempt = 0; attempt < 200 && !done(value); attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await read();
  }
  return value;
}

/** Registers the readiness tests of one store. */
export function describeStoreOutage(parameters: StoreOutageScenarioParameters): void {
  const { name, skip, servicePort, storeEnvironment, cleanup } = parameters;

  describe.skipIf(skip)(`/readyz of the reference server on the ${name}`, () => {
    let proxy: TcpProxy | undefined;
    afterAll(async () => {
      await killAllReferenceServers();
      await proxy?.down();
      await cleanup();
    });

    it("goes 503 naming the store while it is unreachable, and back to 200 once it is reachable again", async () => {
      proxy = await startTcpProxy(servicePort);
      const server: ReferenceServer = await startReferenceServer({
        X402_USE_UNIFIED_GATEWAY: "false",
        X402_DIRECT_CHAINS: "base",
        X402_BASE_PAYMENT_ADDRESS: "0x2222222222222222222222222222222222222222",
        // Never called here (no direct payment is presented); a closed loopback port all the same.
        X402_BASE_RPC_URL: "http://127.0.0.1:1",
        X402_METRICS_PORT: "0",
        ...storeEnvironment(proxy.port),
      });
      const metricsUrl = /paid-api metrics at (http:\/\/\S+)/.exec(server.output())?.[1];
      expect(metricsUrl, server.output()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      const readyz = async (): Promise<Answer> => {
        const response = await fetch(`${server.url}/readyz`);
        return { status: response.status, body: await response.json() };
      };
      const storeUp = async () =>
        sumOf(parseExposition(await (await fetch(metricsUrl ?? "")).text()), "tollgate_store_up");

      expect(await readyz()).toEqual({
        status: 200,
        body: { status: "ready", notReady: [], store: "up", facilitators: {} },
      });
      expect(await storeUp()).toBe(1);

      await proxy.down();
      const outage = await pollUntil(readyz, (a) => a.status === 503);
      expect(outage).toMatchObject({ status: 503, body: { status: "not_ready", notReady: ["store"] } });
      expect(["down", "timeout"]).toContain((outage.body as { store: string }).store);
      // Liveness is not readiness: the process still serves /healthz.
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      // The probe's failed read (SERVER__STORE_FAILED) sets tollgate_store_up to 0 without any paid traffic.
      expect(await pollUntil(storeUp, (up) => up === 0)).toBe(0);

      await proxy.up();
      expect(await pollUntil(readyz, (a) => a.status === 200)).toEqual({
        status: 200,
        body: { status: "ready", notReady: [], store: "up", facilitators: {} },
      });
      expect(await storeUp()).toBe(1);
      expect(await server.stop(), server.output()).toBe(0);
    });
  });
}

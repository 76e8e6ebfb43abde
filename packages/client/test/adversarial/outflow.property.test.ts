/**
 * The client's adversarial suite: random hostile paid APIs (random offer sets in every 402 form, random answers
 * and failure points after each proof, requirements that switch between calls) against the real EVM wallet on
 * anvil. After every run, once the server settled every authorization it ever received (a hostile server would),
 * the wallet's real USDC outflow must stay within the owner's limits: per logical request ≤ `maxPerRequest`, in
 * all ≤ the budget. Replay a failure with TOLLGATE_FC_SEED=<seed> TOLLGATE_FC_PATH=<path> (printed on failure).
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { scenario } from "./arbitraries.js";
import { fastCheckSettings, startRig } from "./rig.js";
import {
  report,
  runConcurrentScenario,
  runScenario,
  type Scenario,
  type ScenarioOutcome,
} from "./scenario.js";

let rig: Awaited<ReturnType<typeof startRig>>;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig?.stop();
});

/**
 * Checks `run` on random scenarios for at most `timeLimitMs` (the shrinking of a failure included), and throws
 * fast-check's report (seed, path, counterexample) when a run broke the invariant.
 */
async function checkOutflow<S extends Scenario>(
  name: string,
  arbitrary: fc.Arbitrary<S>,
  run: (s: S) => Promise<ScenarioOutcome>,
  limits: Readonly<{ runs: number; timeLimitMs: number }>,
): Promise<void> {
  const settings = fastCheckSettings(limits);
  console.info(`${name}: seed ${settings.seed}, up to ${settings.numRuns} runs`);
  const started = Date.now();
  const details = await fc.check(
    fc.asyncProperty(arbitrary, async (s) => {
      const outcome = await run(s);
      if (outcome.violation !== undefined) throw new Error(report(s, outcome));
    }),
    { ...settings, markInterruptAsFailure: false },
  );
  console.info(
    `${name}: ${details.numRuns} runs in ${Date.now() - started} ms` +
      (details.interrupted ? " (stopped by the time limit)" : ""),
  );
  if (details.failed) {
    const cause =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(`${fc.defaultReportMessage(details)}\n\nThe shrunk run:\n${cause}`);
  }
}

describe("payingFetch against random hostile servers on anvil", () => {
  it("one request at a time: never more than maxPerRequest per logical request, nor more than the budget", async () => {
    await checkOutflow("sequential outflow", scenario, (s) => runScenario(rig, s), {
      runs: 50,
      timeLimitMs: 15_000,
    });
  }, 900_000);

  it("concurrent copies of concurrent requests: the same limits", async () => {
    const concurrent = fc
      .tuple(scenario, fc.integer({ min: 1, max: 3 }))
      .map(([s, copies]) => ({ ...s, copies }));
    await checkOutflow("concurrent outflow", concurrent, (s) => runConcurrentScenario(rig, s), {
      runs: 25,
      timeLimitMs: 8_000,
    });
  }, 900_000);
});

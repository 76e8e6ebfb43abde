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
import { report, runScenario } from "./scenario.js";

let rig: Awaited<ReturnType<typeof startRig>>;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig?.stop();
});

describe("payingFetch against random hostile servers on anvil", () => {
  it("never lets more than maxPerRequest leave the wallet per logical request, nor more than the budget", async () => {
    const settings = fastCheckSettings(30);
    console.info(`adversarial outflow property: seed ${settings.seed}, up to ${settings.numRuns} runs`);
    const started = Date.now();
    const details = await fc.check(
      fc.asyncProperty(scenario, async (s) => {
        const outcome = await runScenario(rig, s);
        if (outcome.violation !== undefined) throw new Error(report(s, outcome));
      }),
      // Each run costs real chain work: the runs (and the shrinking of a failure) stop after 30 s.
      { ...settings, interruptAfterTimeLimit: 30_000, markInterruptAsFailure: false },
    );
    console.info(
      `adversarial outflow property: ${details.numRuns} runs in ${Date.now() - started} ms` +
        (details.interrupted ? " (interrupted by the time limit)" : ""),
    );
    if (details.failed) throw new Error(fc.defaultReportMessage(details));
  }, 120_000);
});

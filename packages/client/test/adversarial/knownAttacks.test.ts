/**
 * The attacks of issue 14 that took more than the owner allowed on 6ab15bf, replayed against the real EVM wallet
 * and a hostile server on anvil: after the server settled every authorization it received, what left the wallet
 * stays within maxPerRequest per logical request and within the budget in all.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { knownAttacks } from "./knownAttacks.js";
import { startRig } from "./rig.js";
import { report, runScenario } from "./scenario.js";

let rig: Awaited<ReturnType<typeof startRig>>;
beforeAll(async () => {
  rig = await startRig();
});
afterAll(async () => {
  await rig?.stop();
});

describe("known hostile servers: the wallet's outflow stays within the policy", () => {
  it.each(Object.entries(knownAttacks))("%s", async (_name, scenario) => {
    const outcome = await runScenario(rig, scenario);
    expect(outcome.violation, report(scenario, outcome)).toBeUndefined();
  });
});

import {
  evmPayeeAccounts,
  startEvmChain,
  startLocalFacilitator,
  startSolanaBank,
  svmPayeeKeypairs,
} from "@tollgate/testing";
import { svmPayees } from "./arbitraries.js";
import type { Rig } from "./scenario.js";

/**
 * anvil as Base Sepolia with the test USDC, the Solana bank as devnet (its payees' token accounts open), and our
 * facilitator on loopback over both, for one test file.
 */
export async function startRig(): Promise<Rig & Readonly<{ stop(): Promise<void> }>> {
  const evm = await startEvmChain({ payers: [evmPayeeAccounts[0].address] });
  const bank = await startSolanaBank({
    payers: [],
    payees: svmPayeeKeypairs
      .filter((k) => svmPayees.includes(k.publicKey.toBase58()))
      .map((k) => k.publicKey),
  });
  const local = await startLocalFacilitator({ evm, bank });
  return {
    evm,
    bank,
    local,
    async stop() {
      await local.close();
      await evm.stop();
    },
  };
}

/** The seed CI runs the properties with; hunts draw their own (see `fastCheckSettings`). */
export const ciSeed = 20_261_204;

/**
 * fast-check settings from the environment: `TOLLGATE_FC_SEED` (and `TOLLGATE_FC_PATH`) replay a failure,
 * `TOLLGATE_FC_RUNS` changes the number of runs and `TOLLGATE_FC_TIME_LIMIT_MS` the time they may take, shrinking
 * included (for a long hunt). Without a seed, CI (`CI=true`) uses `ciSeed`, so that a red run names a change and
 * not the luck of a draw; elsewhere one is drawn and printed, so that any failure, even a timeout, can be replayed.
 */
export function fastCheckSettings(
  defaults: Readonly<{ runs: number; timeLimitMs: number }>,
): Readonly<{ seed: number; path?: string; numRuns: number; interruptAfterTimeLimit: number }> {
  const fixed = process.env.TOLLGATE_FC_SEED ?? (process.env.CI === "true" ? String(ciSeed) : undefined);
  const seed =
    fixed === undefined ? (Date.now() ^ Math.floor(Math.random() * 0x7fffffff)) | 0 : Number(fixed);
  const path = process.env.TOLLGATE_FC_PATH;
  const numRuns = Number(process.env.TOLLGATE_FC_RUNS ?? defaults.runs);
  const interruptAfterTimeLimit = Number(process.env.TOLLGATE_FC_TIME_LIMIT_MS ?? defaults.timeLimitMs);
  return { seed, numRuns, interruptAfterTimeLimit, ...(path === undefined ? {} : { path }) };
}

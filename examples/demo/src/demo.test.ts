import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * Runs the offline demo as a child process, exactly as `pnpm demo` does, and checks each step's outcome from its
 * machine-readable last line (not from its wording); then interrupts a second run with SIGINT and checks that it
 * exits 0 and leaves no anvil behind.
 */
const demoDir = join(import.meta.dirname, "..");

function startDemo(): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", "src/main.ts"], {
    cwd: demoDir,
    env: { ...process.env, RUST_LOG: "error", NO_COLOR: "1", TOLLGATE_DATA_DIR: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

type DemoResult = {
  store: string;
  step1: {
    evm: { status: number; lane: string; spent: string };
    svm: { status: number; lane: string; spent: string };
  };
  step2: { status: number; lane: string; spent: string; newBlocks: string };
  step3: { lanes: string[]; newBlocks: string; spent: string };
  step4: { code?: string; status?: number };
  step5: { lane: string; network: string; amount: string; transaction: string }[];
};

describe("the offline demo", () => {
  it("runs every step to the end and exits 0", async () => {
    const demo = startDemo();
    expect(await demo.exited).toBe(0);
    const line = demo
      .output()
      .split("\n")
      .find((l) => l.startsWith("DEMO_RESULT "));
    expect(line).toBeDefined();
    const result = JSON.parse(line?.slice("DEMO_RESULT ".length) ?? "{}") as DemoResult;
    // The paywall ran on the embedded store, in a directory of its own that is gone after the run.
    expect(result.store).toBe("embedded");
    const dataDir = /DEMO_DATA_DIR (.+)/.exec(demo.output())?.[1] ?? "";
    expect(dataDir).not.toBe("");
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(dirname(dataDir))).toBe(false);
    // 1. The facilitator lane on EVM and on Solana, each moving exactly the price.
    expect(result.step1.evm).toEqual({ status: 200, lane: "facilitator", spent: "10000" });
    expect(result.step1.svm).toEqual({ status: 200, lane: "facilitator", spent: "10000" });
    // 2. With the facilitator down, a direct transfer of the $0.10 minimum, in a new block.
    expect(result.step2).toMatchObject({ status: 200, lane: "direct", spent: "100000" });
    expect(Number(result.step2.newBlocks)).toBeGreaterThanOrEqual(1);
    // 3. The surplus token pays the next calls without touching the chain.
    expect(result.step3).toEqual({ lanes: ["token", "token", "token", "token"], newBlocks: "0", spent: "0" });
    // 4. The budget refuses the next payment.
    expect(result.step4).toEqual({ code: "CLIENT__BUDGET_EXHAUSTED" });
    // 5. The server recorded every payment, each once.
    expect(result.step5.map((p) => p.lane)).toEqual([
      "facilitator",
      "facilitator",
      "direct",
      "token",
      "token",
      "token",
      "token",
    ]);
    expect(new Set(result.step5.filter((p) => p.transaction).map((p) => p.transaction)).size).toBe(3);
    const pid = Number(/DEMO_ANVIL_PID (\d+)/.exec(demo.output())?.[1]);
    expect(alive(pid)).toBe(false);
  });

  it("stops cleanly on Ctrl-C, leaving no anvil running", async () => {
    const demo = startDemo();
    for (let i = 0; i < 600 && !/DEMO_ANVIL_PID \d+/.test(demo.output()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const pid = Number(/DEMO_ANVIL_PID (\d+)/.exec(demo.output())?.[1]);
    expect(alive(pid)).toBe(true);
    demo.child.kill("SIGINT");
    expect(await demo.exited).toBe(0);
    expect(alive(pid)).toBe(false);
    const dataDir = /DEMO_DATA_DIR (.+)/.exec(demo.output())?.[1] ?? "";
    expect(dataDir).not.toBe("");
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(dirname(dataDir))).toBe(false);
  });
});

import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** The reference server as a process: it refuses to start with a bad environment, naming the variable. */
const dir = join(import.meta.dirname, "..");

function start(env: Record<string, string>) {
  const { NODE_OPTIONS: _ignored, ...base } = process.env;
  const clean = Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith("X402_")));
  return spawnSync(process.execPath, ["--conditions=source", "--import", "tsx", "src/main.ts"], {
    cwd: dir,
    env: { ...clean, ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
}

describe("paid-api main", () => {
  it.each([
    ["X402_PAYAI_MERCHANT_ADDRESS", {}],
    ["X402_BASE_CONFIRMATIONS", { X402_BASE_CONFIRMATIONS: "one" }],
  ])("refuses to start, exit 1, naming %s", (variable, env) => {
    const result = start(env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(variable);
  });
});

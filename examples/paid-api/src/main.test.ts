import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** The reference server as a process: it refuses to start with a bad environment, naming the variable. */
const dir = join(import.meta.dirname, "..");

function start(env: Record<string, string>) {
  const { NODE_OPTIONS: _ignored, ...base } = process.env;
  // Nothing of the runner's own environment may configure the server (a CI DATABASE_URL, say).
  const clean = Object.fromEntries(
    Object.entries(base).filter(
      ([k]) =>
        !k.startsWith("X402_") && !k.startsWith("TOLLGATE_") && k !== "DATABASE_URL" && k !== "REDIS_URL",
    ),
  );
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
    ["TOLLGATE_DATA_DIR", { TOLLGATE_DATA_DIR: "/tmp/x", REDIS_URL: "redis://127.0.0.1:1" }],
    ["DATABASE_URL", { DATABASE_URL: "mysql://127.0.0.1/x" }],
  ])("refuses to start, exit 1, naming %s", (variable, env) => {
    const result = start(env);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(variable);
  });

  it("refuses to start, exit 1, naming TOLLGATE_ADMIN_KEY when it is weak, never printing it", () => {
    const weak = "our-admin-key-long-enough-for-the-length-check";
    const result = start({
      X402_USE_UNIFIED_GATEWAY: "false",
      X402_DIRECT_CHAINS: "base",
      X402_BASE_PAYMENT_ADDRESS: "0x2222222222222222222222222222222222222222",
      TOLLGATE_ADMIN_KEY: weak,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("TOLLGATE_ADMIN_KEY");
    expect(result.stderr).toContain("known_default");
    expect(`${result.stdout}${result.stderr}`).not.toContain(weak);
  });

  it("refuses to start, exit 1, naming DATABASE_URL when PostgreSQL cannot be reached, never printing it", () => {
    const result = start({
      X402_USE_UNIFIED_GATEWAY: "false",
      X402_DIRECT_CHAINS: "base",
      X402_BASE_PAYMENT_ADDRESS: "0x2222222222222222222222222222222222222222",
      // Port 1 on loopback: nothing listens, the connection is refused at once.
      DATABASE_URL: "postgres://tollgate:hunter2@127.0.0.1:1/tollgate",
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("SERVER__STORE_FAILED");
    expect(result.stderr).toContain("DATABASE_URL");
    expect(`${result.stdout}${result.stderr}`).not.toContain("hunter2");
  });
});

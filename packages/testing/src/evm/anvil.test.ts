import { isTollgateError } from "@tollgate/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AnvilInstance, resolveAnvilBinary, startAnvil } from "./anvil.js";

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

describe("startAnvil", () => {
  let anvil: AnvilInstance;
  let startMs = 0;

  beforeAll(async () => {
    const started = performance.now();
    anvil = await startAnvil();
    startMs = performance.now() - started;
    console.info(`[timing] anvil start: ${startMs.toFixed(0)} ms`);
  });
  afterAll(() => anvil?.stop());

  it("listens on loopback and answers as Base Sepolia by default", async () => {
    expect(new URL(anvil.rpcUrl).hostname).toBe("127.0.0.1");
    expect(new URL(anvil.rpcUrl).port).toBe(String(anvil.port));
    expect(anvil.chainId).toBe(84532);
    expect(await anvil.request("eth_chainId")).toBe("0x14a34");
    expect(isAlive(anvil.pid)).toBe(true);
  });

  it("mines blocks on demand", async () => {
    const before = BigInt(await anvil.request<string>("eth_blockNumber"));
    await anvil.mine(3);
    expect(BigInt(await anvil.request<string>("eth_blockNumber"))).toBe(before + 3n);
  });

  it("sets code and balances, and reverts to a snapshot", async () => {
    const address = "0x00000000000000000000000000000000000000aa";
    const snapshot = await anvil.snapshot();
    await anvil.setCode(address, "0x6001600055");
    await anvil.setBalance(address, 123n);
    expect(await anvil.request("eth_getCode", [address, "latest"])).toBe("0x6001600055");
    expect(BigInt(await anvil.request<string>("eth_getBalance", [address, "latest"]))).toBe(123n);
    expect(await anvil.revert(snapshot)).toBe(true);
    expect(await anvil.request("eth_getCode", [address, "latest"])).toBe("0x");
  });

  it("reports an RPC error answer as CHAIN__CALL_FAILED", async () => {
    const error = await anvil.request("tollgate_noSuchMethod").catch((e: unknown) => e);
    expect(isTollgateError(error, "CHAIN__CALL_FAILED")).toBe(true);
  });
});

describe("startAnvil lifecycle", () => {
  it("runs with another chain id, and its process is gone once stop() resolves (idempotent)", async () => {
    const anvil = await startAnvil({ chainId: 31337 });
    expect(await anvil.request("eth_chainId")).toBe("0x7a69");
    expect(isAlive(anvil.pid)).toBe(true);
    await anvil.stop();
    expect(isAlive(anvil.pid)).toBe(false);
    await expect(anvil.stop()).resolves.toBeUndefined();
    await expect(fetch(anvil.rpcUrl, { method: "POST" })).rejects.toThrow();
  });

  it("fails with CHAIN__CALL_FAILED when the binary cannot be spawned", async () => {
    const error = await startAnvil({ binary: "/nonexistent/anvil" }).catch((e: unknown) => e);
    expect(isTollgateError(error, "CHAIN__CALL_FAILED")).toBe(true);
  });

  it("fails with CHAIN__CALL_FAILED when anvil exits at start (port taken)", async () => {
    const first = await startAnvil();
    try {
      const error = await startAnvil({ port: first.port }).catch((e: unknown) => e);
      expect(isTollgateError(error, "CHAIN__CALL_FAILED")).toBe(true);
    } finally {
      await first.stop();
    }
  });

  it("resolves the platform binary through @foundry-rs/anvil, and refuses an uninstalled platform", () => {
    expect(resolveAnvilBinary()).toMatch(
      /@foundry-rs[/\\]anvil-[a-z0-9]+-[a-z0-9]+[/\\]bin[/\\]anvil(\.exe)?$/,
    );
    let error: unknown;
    try {
      resolveAnvilBinary({ platform: "aix", arch: "ppc64" });
    } catch (e) {
      error = e;
    }
    expect(isTollgateError(error, "SERVER__INVALID_CONFIG")).toBe(true);
  });
});

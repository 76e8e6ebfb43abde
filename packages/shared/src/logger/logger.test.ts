import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { TollgateError } from "../errors/TollgateError.js";
import { createEventLog, type Logger, logSafe } from "./logger.js";

const rpcKey = "AbCd1234efGH5678ijKL";
const rpcUrl = `https://base-mainnet.g.alchemy.com/v2/${rpcKey}`;

/** A real pino logger writing JSON lines into an array. */
function pinoLines(level = "info"): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(...String(chunk).split("\n").filter(Boolean));
      done();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

describe("logSafe", () => {
  it("keeps amounts exact as decimal strings", () => {
    expect(logSafe({ amount: 123_456_789_012_345_678_901n })).toEqual({ amount: "123456789012345678901" });
  });

  it.each([
    "proof",
    "Payment-Signature",
    "X-PAYMENT",
    "x_payment",
    "authorization",
    "Authorization",
    "token",
    "signature",
    "privateKey",
    "private_key",
    "cookie",
    "Set-Cookie",
    "adminKey",
  ])("removes the value of a property named %s, at any depth", (name) => {
    const secret = "s3cr3t-value-that-must-not-appear";
    const out = JSON.stringify(logSafe({ outer: [{ [name]: secret }], [name]: { nested: secret } }));
    expect(out).not.toContain(secret);
    expect(out).toContain("[redacted]");
  });

  it("removes the key of an RPC URL in any string, keeps its host", () => {
    const out = JSON.stringify(logSafe({ where: `POST ${rpcUrl} failed`, urls: [rpcUrl] }));
    expect(out).not.toContain(rpcKey);
    expect(out).toContain("base-mainnet.g.alchemy.com");
  });

  it("turns an error into its name, code and redacted message, without the request it carried", () => {
    const error = Object.assign(new Error(`request to ${rpcUrl} failed`), {
      url: rpcUrl,
      body: '{"method":"eth_sendRawTransaction"}',
      headers: { authorization: "Bearer abc" },
    });
    const out = logSafe({ error }) as { error: Record<string, unknown> };
    expect(out.error).toEqual({ name: "Error", message: expect.stringContaining("alchemy.com") });
    expect(JSON.stringify(out)).not.toContain(rpcKey);
    expect(JSON.stringify(out)).not.toContain("Bearer");
    const typed = logSafe(new TollgateError("SERVER__STORE_FAILED", { context: { operation: "claim" } }));
    expect(typed).toMatchObject({ name: "TollgateError", code: "SERVER__STORE_FAILED" });
  });

  it("stops at depth 8 and describes bytes by their length", () => {
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 20; i++) deep = { deep };
    expect(JSON.stringify(logSafe(deep))).toContain("[nested]");
    expect(logSafe({ body: new Uint8Array(42) })).toEqual({ body: "[42 bytes]" });
  });
});

describe("createEventLog", () => {
  it("writes one JSON line per event through a real pino logger, at the event's level, secrets removed", () => {
    const { logger, lines } = pinoLines("debug");
    const log = createEventLog<{ type: string; amount?: bigint; token?: string; url?: string }>({
      logger,
      component: "paywall",
      levelOf: (e) => (e.type === "refused" ? "warn" : e.type === "rpc_call" ? "debug" : "info"),
    });
    log({ type: "paid", amount: 10_000n, token: "tg_live_secret", url: rpcUrl });
    log({ type: "refused" });
    log({ type: "rpc_call" });
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.map((p) => [p.level, p.msg])).toEqual([
      [30, "paywall paid"],
      [40, "paywall refused"],
      [20, "paywall rpc_call"],
    ]);
    expect(parsed[0]).toMatchObject({
      component: "paywall",
      type: "paid",
      amount: "10000",
      token: "[redacted]",
    });
    expect(lines.join("\n")).not.toContain("tg_live_secret");
    expect(lines.join("\n")).not.toContain(rpcKey);
  });

  it("skips debug lines for a logger without debug, and survives a logger that throws", () => {
    const seen: string[] = [];
    const plain: Logger = {
      info: (_obj, msg) => seen.push(`info ${msg}`),
      warn: () => {
        throw new Error("disk full");
      },
      error: (_obj, msg) => seen.push(`error ${msg}`),
    };
    const log = createEventLog<{ type: string }>({
      logger: plain,
      component: "facilitator",
      levelOf: (e) => (e.type === "verify" ? "debug" : e.type === "settle" ? "warn" : "info"),
    });
    log({ type: "verify" });
    expect(() => log({ type: "settle" })).not.toThrow();
    log({ type: "other" });
    expect(seen).toEqual(["info facilitator other"]);
  });

  it("is a no-op without a logger", () => {
    const log = createEventLog<{ type: string }>({
      logger: undefined,
      component: "x",
      levelOf: () => "info",
    });
    expect(() => log({ type: "paid" })).not.toThrow();
  });
});

import { isTollgateError } from "@tollgate/shared";
import { describe, expect, it } from "vitest";
import { loadConfig } from "./config.js";
import { storeChoiceOf } from "./openStore.js";

const valid = {
  X402_PAYAI_MERCHANT_ADDRESS: "0x1111111111111111111111111111111111111111",
  X402_BASE_PAYMENT_ADDRESS: "0x2222222222222222222222222222222222222222",
  X402_ETHEREUM_PAYMENT_ADDRESS: "0x3333333333333333333333333333333333333333",
  X402_SOLANA_PAYMENT_ADDRESS: "9xQeWvG816bUx9EPjHmaT23yvVM2ZWbrrpZb9PusVFin",
};

function failure(environment: Record<string, string>): { option: string; reason: string } {
  try {
    loadConfig(environment);
  } catch (error) {
    if (isTollgateError(error, "SERVER__INVALID_CONFIG")) return error.context;
    throw error;
  }
  throw new Error("expected loadConfig to refuse");
}

describe("loadConfig", () => {
  it("accepts the seed's minimal configuration with the documented defaults", () => {
    const config = loadConfig(valid);
    expect(config).toMatchObject({
      PORT: 4020,
      X402_USE_UNIFIED_GATEWAY: true,
      X402_PAYAI_ENABLED: true,
      X402_PAYAI_FACILITATOR_URL: "https://facilitator.payai.network",
      X402_BASE_CONFIRMATIONS: 1,
      X402_ETHEREUM_CONFIRMATIONS: 2,
      X402_SOLANA_CONFIRMATIONS: "confirmed",
      X402_MIN_DIRECT_PAYMENT_USD: 100_000n,
      X402_MAX_TX_AGE_SECONDS: 604_800,
      X402_DIRECT_CHAINS: ["base", "ethereum", "solana"],
      TOLLGATE_POSTGRES_SCHEMA: "tollgate",
      TOLLGATE_REDIS_PREFIX: "tollgate:",
      X402_METRICS_ENABLED: true,
      TOLLGATE_STALE_CLAIM_SECONDS: 300,
    });
    expect(config.X402_METRICS_PORT).toBeUndefined();
    expect(loadConfig({ ...valid, X402_METRICS_PORT: "9464" }).X402_METRICS_PORT).toBe(9464);
    expect(storeChoiceOf(config)).toEqual({ kind: "memory" });
  });

  it.each([
    ["X402_PAYAI_MERCHANT_ADDRESS", { ...valid, X402_PAYAI_MERCHANT_ADDRESS: undefined }],
    ["X402_PAYAI_MERCHANT_ADDRESS", { ...valid, X402_PAYAI_MERCHANT_ADDRESS: "0x123" }],
    ["X402_BASE_PAYMENT_ADDRESS", { ...valid, X402_BASE_PAYMENT_ADDRESS: undefined }],
    ["X402_SOLANA_PAYMENT_ADDRESS", { ...valid, X402_SOLANA_PAYMENT_ADDRESS: "not-base58-0OIl" }],
    ["X402_USE_UNIFIED_GATEWAY", { ...valid, X402_USE_UNIFIED_GATEWAY: "maybe" }],
    ["X402_PAYAI_FACILITATOR_URL", { ...valid, X402_PAYAI_FACILITATOR_URL: "ftp://x" }],
    ["X402_PAYAI_API_KEY_SECRET", { ...valid, X402_PAYAI_API_KEY_ID: "key-1" }],
    ["X402_PAYAI_API_KEY_ID", { ...valid, X402_PAYAI_API_KEY_SECRET: `payai_sk_${"A".repeat(60)}` }],
    ["X402_FACILITATOR_URLS", { ...valid, X402_FACILITATOR_URLS: "https://ok.example,not a url" }],
    ["X402_SELF_SETTLE_PRIVATE_KEY", { ...valid, X402_SELF_SETTLE_PRIVATE_KEY: "0xabc" }],
    ["X402_BASE_CONFIRMATIONS", { ...valid, X402_BASE_CONFIRMATIONS: "-1" }],
    ["X402_SOLANA_CONFIRMATIONS", { ...valid, X402_SOLANA_CONFIRMATIONS: "eventually" }],
    ["X402_MIN_DIRECT_PAYMENT_USD", { ...valid, X402_MIN_DIRECT_PAYMENT_USD: "0.1234567" }],
    ["X402_MAX_TX_AGE_SECONDS", { ...valid, X402_MAX_TX_AGE_SECONDS: "a week" }],
    ["X402_ADMIN_KEY", { ...valid, X402_ADMIN_KEY: "changeme" }],
    ["X402_DIRECT_CHAINS", { ...valid, X402_DIRECT_CHAINS: "base,dogecoin" }],
    ["X402_METRICS_ENABLED", { ...valid, X402_METRICS_ENABLED: "sometimes" }],
    ["X402_METRICS_PORT", { ...valid, X402_METRICS_PORT: "65536" }],
    ["X402_METRICS_PORT", { ...valid, X402_METRICS_PORT: "-1" }],
    ["X402_METRICS_PORT", { ...valid, PORT: "9000", X402_METRICS_PORT: "9000" }],
    ["DATABASE_URL", { ...valid, DATABASE_URL: "mysql://db.example/x" }],
    ["REDIS_URL", { ...valid, REDIS_URL: "http://cache.example" }],
    [
      "TOLLGATE_POSTGRES_SCHEMA",
      { ...valid, DATABASE_URL: "postgres://db/x", TOLLGATE_POSTGRES_SCHEMA: "a;b" },
    ],
    ["TOLLGATE_REDIS_PREFIX", { ...valid, REDIS_URL: "redis://cache", TOLLGATE_REDIS_PREFIX: "a{b}" }],
    ["DATABASE_URL", { ...valid, TOLLGATE_DATA_DIR: ".tollgate", DATABASE_URL: "postgres://db/x" }],
    ["REDIS_URL", { ...valid, DATABASE_URL: "postgres://db/x", REDIS_URL: "redis://cache:6379" }],
    ["PORT", { ...valid, PORT: "http" }],
    ["TOLLGATE_STALE_CLAIM_SECONDS", { ...valid, TOLLGATE_STALE_CLAIM_SECONDS: "0" }],
  ])("refuses to start naming %s", (variable, environment) => {
    const clean = Object.fromEntries(
      Object.entries(environment).filter(([, v]) => v !== undefined),
    ) as Record<string, string>;
    const { option } = failure(clean);
    expect(option.split(", ")).toContain(variable);
  });

  it("names every bad variable at once, and never echoes a secret", () => {
    const secret = `payai_sk_${"S".repeat(10)}`;
    const { option, reason } = failure({ X402_PAYAI_API_KEY_SECRET: secret, X402_BASE_CONFIRMATIONS: "x" });
    expect(option.split(", ")).toEqual(
      expect.arrayContaining([
        "X402_PAYAI_API_KEY_SECRET",
        "X402_BASE_CONFIRMATIONS",
        "X402_PAYAI_MERCHANT_ADDRESS",
      ]),
    );
    expect(reason).not.toContain(secret);
  });

  it("chooses the store from the one variable set, and names every one when several are", () => {
    expect(storeChoiceOf(loadConfig({ ...valid, TOLLGATE_DATA_DIR: ".tollgate" }))).toEqual({
      kind: "embedded",
      dataDir: ".tollgate",
    });
    expect(storeChoiceOf(loadConfig({ ...valid, DATABASE_URL: "postgresql://u:p@db:5432/app" }))).toEqual({
      kind: "postgres",
      url: "postgresql://u:p@db:5432/app",
      schema: "tollgate",
    });
    expect(storeChoiceOf(loadConfig({ ...valid, REDIS_URL: "rediss://cache:6380" }))).toEqual({
      kind: "redis",
      url: "rediss://cache:6380",
      prefix: "tollgate:",
    });
    expect(
      storeChoiceOf(loadConfig({ ...valid, REDIS_URL: "redis://cache", TOLLGATE_REDIS_PREFIX: "shop-1:" })),
    ).toMatchObject({ kind: "redis", prefix: "shop-1:" });
    const { option, reason } = failure({
      ...valid,
      TOLLGATE_DATA_DIR: "/var/lib/tollgate",
      DATABASE_URL: "postgres://user:hunter2@db/x",
      REDIS_URL: "redis://cache",
    });
    expect(option.split(", ")).toEqual(["TOLLGATE_DATA_DIR", "DATABASE_URL", "REDIS_URL"]);
    expect(reason).not.toContain("hunter2");
  });

  it("lets the rollback switches drop requirements: direct only needs no merchant address", () => {
    const config = loadConfig({
      X402_USE_UNIFIED_GATEWAY: "false",
      X402_DIRECT_CHAINS: "base",
      X402_BASE_PAYMENT_ADDRESS: valid.X402_BASE_PAYMENT_ADDRESS,
    });
    expect(config.X402_USE_UNIFIED_GATEWAY).toBe(false);
    expect(failure({ X402_USE_UNIFIED_GATEWAY: "false", X402_DIRECT_ENABLED: "false" }).option).toContain(
      "X402_DIRECT_ENABLED",
    );
  });
});

import { assertStrongAdminKey } from "@tollgate/server/admin";
import { isTollgateError, parseUsd, TollgateError } from "@tollgate/shared";
import { z } from "zod";

/**
 * The reference server's configuration, read from the environment variables of the seed deployment
 * (DESIGN.md §4) and validated at start: a missing or malformed variable stops the server with an error
 * that names it. Nothing here has a hidden default URL other than the documented public ones.
 */
const bool = (name: string, fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", "yes", "no"], { error: `${name} must be true or false` })
    .optional()
    .transform((v) => (v === undefined ? fallback : v === "true" || v === "1" || v === "yes"));

const url = (name: string) =>
  z
    .url({ protocol: /^https?$/, error: `${name} must be an http(s) URL` })
    .transform((v) => v.replace(/\/+$/, ""));

const evmAddress = (name: string) =>
  z.string().regex(/^0x[0-9a-fA-F]{40}$/, `${name} must be an EVM address (0x and 40 hex digits)`);

const solanaAddress = (name: string) =>
  z.string().regex(/^[1-9A-HJ-NP-Za-km-z]{32,44}$/, `${name} must be a base58 Solana address`);

const positiveInt = (name: string, fallback: number) =>
  z
    .string()
    .regex(/^[0-9]{1,9}$/, `${name} must be a whole number`)
    .optional()
    .transform((v) => (v === undefined ? fallback : Number(v)));

/** An admin key variable: refused when weak (empty, short, a default), never echoing it. */
const adminKey = (name: string) =>
  z
    .string()
    .optional()
    .superRefine((value, ctx) => {
      if (value === undefined) return;
      try {
        assertStrongAdminKey(value);
      } catch (error) {
        if (!isTollgateError(error, "SERVER__WEAK_ADMIN_KEY")) throw error;
        const { reason, minLength } = error.context;
        ctx.addIssue({
          code: "custom",
          message: `${name} is refused (${reason}): use a random key of at least ${minLength} characters (openssl rand -base64 32), or leave it out for no admin API`,
        });
      }
    });

const directChains = ["base", "ethereum", "solana"] as const;

/** The variables that choose the store; at most one may be set. */
const storeVariables = ["TOLLGATE_DATA_DIR", "DATABASE_URL", "REDIS_URL"] as const;
/** Every variable of the store's and claims' settings that `loadConfig` reads besides the `X402_` ones. */
const storeSettings: readonly string[] = [
  ...storeVariables,
  "TOLLGATE_POSTGRES_SCHEMA",
  "TOLLGATE_REDIS_PREFIX",
  "TOLLGATE_STALE_CLAIM_SECONDS",
];
/** The admin API's variables; an admin key set but empty is refused, not read as unset. */
const adminSettings: readonly string[] = [
  "TOLLGATE_ADMIN_KEY",
  "X402_ADMIN_KEY",
  "TOLLGATE_ADMIN_PORT",
  "TOLLGATE_ADMIN_HOST",
];

const environmentSchema = z
  .object({
    PORT: positiveInt("PORT", 4020),
    HOST: z.string().min(1).default("127.0.0.1"),
    X402_PUBLIC_ORIGINS: z
      .string()
      .optional()
      .transform((v) => (v ? v.split(",").map((o) => o.trim()) : [])),
    X402_USE_UNIFIED_GATEWAY: bool("X402_USE_UNIFIED_GATEWAY", true),
    X402_PAYAI_ENABLED: bool("X402_PAYAI_ENABLED", true),
    X402_PAYAI_FACILITATOR_URL: url("X402_PAYAI_FACILITATOR_URL").default(
      "https://facilitator.payai.network",
    ),
    X402_PAYAI_API_KEY_ID: z.string().min(1).optional(),
    X402_PAYAI_API_KEY_SECRET: z
      .string()
      .regex(
        /^(payai_sk_)?[A-Za-z0-9+/=]{40,}$/,
        "X402_PAYAI_API_KEY_SECRET must be base64 PKCS#8 DER, optionally payai_sk_-prefixed",
      )
      .optional(),
    X402_FACILITATOR_URLS: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const list = v
          ? v
              .split(",")
              .map((u) => u.trim())
              .filter(Boolean)
          : [];
        for (const item of list) {
          if (!url("X402_FACILITATOR_URLS").safeParse(item).success) {
            ctx.addIssue({ code: "custom", message: `X402_FACILITATOR_URLS has a malformed URL: ${item}` });
          }
        }
        return list.map((u) => u.replace(/\/+$/, ""));
      }),
    X402_SELF_SETTLE_PRIVATE_KEY: z
      .string()
      .regex(/^0x[0-9a-fA-F]{64}$/, "X402_SELF_SETTLE_PRIVATE_KEY must be 0x and 64 hex digits")
      .optional(),
    X402_SELF_SETTLE_SOLANA_PRIVATE_KEY: z
      .string()
      .regex(
        /^[1-9A-HJ-NP-Za-km-z]{80,90}$/,
        "X402_SELF_SETTLE_SOLANA_PRIVATE_KEY must be a base58 64-byte secret key",
      )
      .optional(),
    X402_PAYAI_MERCHANT_ADDRESS: evmAddress("X402_PAYAI_MERCHANT_ADDRESS").optional(),
    X402_DIRECT_ENABLED: bool("X402_DIRECT_ENABLED", true),
    X402_TOKENS_ENABLED: bool("X402_TOKENS_ENABLED", true),
    X402_DIRECT_CHAINS: z
      .string()
      .optional()
      .transform((v, ctx) => {
        const list = (v ?? directChains.join(","))
          .split(",")
          .map((c) => c.trim())
          .filter(Boolean);
        for (const chain of list) {
          if (!(directChains as readonly string[]).includes(chain)) {
            ctx.addIssue({ code: "custom", message: `X402_DIRECT_CHAINS lists unknown chain ${chain}` });
          }
        }
        return list as (typeof directChains)[number][];
      }),
    X402_BASE_NETWORK: z.enum(["base", "base-sepolia"]).default("base"),
    X402_SOLANA_NETWORK: z.enum(["solana", "solana-devnet"]).default("solana"),
    X402_BASE_PAYMENT_ADDRESS: evmAddress("X402_BASE_PAYMENT_ADDRESS").optional(),
    X402_ETHEREUM_PAYMENT_ADDRESS: evmAddress("X402_ETHEREUM_PAYMENT_ADDRESS").optional(),
    X402_SOLANA_PAYMENT_ADDRESS: solanaAddress("X402_SOLANA_PAYMENT_ADDRESS").optional(),
    X402_BASE_RPC_URL: url("X402_BASE_RPC_URL").default("https://mainnet.base.org"),
    X402_ETHEREUM_RPC_URL: url("X402_ETHEREUM_RPC_URL").default("https://ethereum-rpc.publicnode.com"),
    X402_SOLANA_RPC_URL: url("X402_SOLANA_RPC_URL").default("https://api.mainnet-beta.solana.com"),
    X402_BASE_CONFIRMATIONS: positiveInt("X402_BASE_CONFIRMATIONS", 1),
    X402_ETHEREUM_CONFIRMATIONS: positiveInt("X402_ETHEREUM_CONFIRMATIONS", 2),
    X402_SOLANA_CONFIRMATIONS: z.enum(["processed", "confirmed", "finalized"]).default("confirmed"),
    X402_MIN_DIRECT_PAYMENT_USD: z
      .string()
      .default("0.10")
      .transform((v, ctx) => {
        try {
          return parseUsd(v);
        } catch {
          ctx.addIssue({
            code: "custom",
            message: `X402_MIN_DIRECT_PAYMENT_USD must be a USD amount like 0.10`,
          });
          return z.NEVER;
        }
      }),
    X402_MAX_TX_AGE_SECONDS: positiveInt("X402_MAX_TX_AGE_SECONDS", 604_800),
    // The admin API (its own listener, loopback by default): on only when a key is set. X402_ADMIN_KEY is the
    // seed's name for it.
    TOLLGATE_ADMIN_KEY: adminKey("TOLLGATE_ADMIN_KEY"),
    X402_ADMIN_KEY: adminKey("X402_ADMIN_KEY"),
    TOLLGATE_ADMIN_PORT: positiveInt("TOLLGATE_ADMIN_PORT", 4029),
    TOLLGATE_ADMIN_HOST: z.string().min(1).default("127.0.0.1"),
    X402_METRICS_ENABLED: bool("X402_METRICS_ENABLED", true),
    X402_METRICS_PORT: z
      .string()
      .regex(/^[0-9]{1,5}$/, "X402_METRICS_PORT must be a port number (0 to 65535; 0: any free port)")
      .transform(Number)
      .refine(
        (port) => port <= 65_535,
        "X402_METRICS_PORT must be a port number (0 to 65535; 0: any free port)",
      )
      .optional(),
    TOLLGATE_DATA_DIR: z
      .string()
      .max(4_096, "TOLLGATE_DATA_DIR must be a directory path (at most 4096 characters)")
      .optional(),
    DATABASE_URL: z
      .url({ protocol: /^postgres(ql)?$/, error: "DATABASE_URL must be a postgres:// or postgresql:// URL" })
      .optional(),
    TOLLGATE_POSTGRES_SCHEMA: z
      .string()
      .regex(
        /^[a-z_][a-z0-9_]{0,62}$/,
        "TOLLGATE_POSTGRES_SCHEMA must be a lower-case SQL identifier (letters, digits, _; at most 63)",
      )
      .default("tollgate"),
    REDIS_URL: z
      .url({ protocol: /^rediss?$/, error: "REDIS_URL must be a redis:// or rediss:// URL" })
      .optional(),
    TOLLGATE_REDIS_PREFIX: z
      .string()
      .regex(
        /^[A-Za-z0-9_:.-]{1,100}$/,
        "TOLLGATE_REDIS_PREFIX must be letters, digits and _ : . - (at most 100; no braces)",
      )
      .default("tollgate:"),
    TOLLGATE_STALE_CLAIM_SECONDS: z
      .string()
      .regex(
        /^[1-9][0-9]{0,8}$/,
        "TOLLGATE_STALE_CLAIM_SECONDS must be a whole number of seconds, at least 1",
      )
      .optional()
      .transform((v) => (v === undefined ? 300 : Number(v))),
  })
  .superRefine((env, ctx) => {
    const need = (condition: boolean, variable: string, why: string) => {
      if (condition)
        ctx.addIssue({ code: "custom", path: [variable], message: `${variable} is required ${why}` });
    };
    if ((env.X402_PAYAI_API_KEY_ID === undefined) !== (env.X402_PAYAI_API_KEY_SECRET === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [
          env.X402_PAYAI_API_KEY_ID === undefined ? "X402_PAYAI_API_KEY_ID" : "X402_PAYAI_API_KEY_SECRET",
        ],
        message: "X402_PAYAI_API_KEY_ID and X402_PAYAI_API_KEY_SECRET go together: set both or neither",
      });
    }
    need(
      env.X402_USE_UNIFIED_GATEWAY && env.X402_PAYAI_MERCHANT_ADDRESS === undefined,
      "X402_PAYAI_MERCHANT_ADDRESS",
      "while the facilitator lane is on (X402_USE_UNIFIED_GATEWAY)",
    );
    const direct = env.X402_DIRECT_ENABLED ? env.X402_DIRECT_CHAINS : [];
    need(
      direct.includes("base") && !env.X402_BASE_PAYMENT_ADDRESS,
      "X402_BASE_PAYMENT_ADDRESS",
      "for the direct lane on base",
    );
    need(
      direct.includes("ethereum") && !env.X402_ETHEREUM_PAYMENT_ADDRESS,
      "X402_ETHEREUM_PAYMENT_ADDRESS",
      "for the direct lane on ethereum",
    );
    need(
      direct.includes("solana") && !env.X402_SOLANA_PAYMENT_ADDRESS,
      "X402_SOLANA_PAYMENT_ADDRESS",
      "for the direct lane on solana",
    );
    const stores = storeVariables.filter((variable) => env[variable] !== undefined);
    if (stores.length > 1) {
      for (const variable of stores) {
        ctx.addIssue({
          code: "custom",
          path: [variable],
          message: `${variable} is set together with ${stores.filter((v) => v !== variable).join(" and ")}: set at most one of ${storeVariables.join(", ")}`,
        });
      }
    }
    if (
      env.X402_METRICS_PORT !== undefined &&
      env.X402_METRICS_PORT !== 0 &&
      env.X402_METRICS_PORT === env.PORT
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["X402_METRICS_PORT"],
        message: "X402_METRICS_PORT is PORT: leave it unset to serve /metrics on the main port",
      });
    }
    if (
      (env.TOLLGATE_ADMIN_KEY ?? env.X402_ADMIN_KEY) !== undefined &&
      env.TOLLGATE_ADMIN_PORT === env.PORT &&
      env.PORT !== 0
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["TOLLGATE_ADMIN_PORT"],
        message: "TOLLGATE_ADMIN_PORT must differ from PORT: the admin API has a listener of its own",
      });
    }
    if (env.TOLLGATE_ADMIN_KEY !== undefined && env.X402_ADMIN_KEY !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["X402_ADMIN_KEY"],
        message: "X402_ADMIN_KEY is set together with TOLLGATE_ADMIN_KEY: set one of them",
      });
    }
    if (!env.X402_USE_UNIFIED_GATEWAY && !env.X402_DIRECT_ENABLED) {
      ctx.addIssue({
        code: "custom",
        path: ["X402_DIRECT_ENABLED"],
        message: "X402_DIRECT_ENABLED=false with X402_USE_UNIFIED_GATEWAY=false leaves no way to pay",
      });
    }
  });

/** The validated configuration of the reference server. */
export type PaidApiConfig = z.output<typeof environmentSchema>;

/** The admin API's key, under either of its names; `undefined`: no admin API. */
export const adminKeyOf = (config: PaidApiConfig): string | undefined =>
  config.TOLLGATE_ADMIN_KEY ?? config.X402_ADMIN_KEY;

/**
 * Reads and validates the configuration from an environment (default `process.env`).
 *
 * @example
 * ```ts
 * import { loadConfig } from "paid-api";
 * const config = loadConfig(process.env);
 * ```
 * @throws `SERVER__INVALID_CONFIG` naming every missing or malformed variable (`context.option`), never
 *   echoing a secret's value.
 */
export function loadConfig(environment: Readonly<Record<string, string | undefined>>): PaidApiConfig {
  const relevant = Object.fromEntries(
    Object.entries(environment).filter(
      ([key, value]) =>
        ((key.startsWith("X402_") || storeSettings.includes(key) || key === "PORT" || key === "HOST") &&
          value !== "") ||
        (adminSettings.includes(key) && value !== undefined && (value !== "" || key.endsWith("_KEY"))),
    ),
  );
  const result = environmentSchema.safeParse(relevant);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    variable: String(issue.path[0] ?? issue.message.split(" ")[0]),
    message: issue.message,
  }));
  throw new TollgateError("SERVER__INVALID_CONFIG", {
    context: {
      option: [...new Set(problems.map((p) => p.variable))].join(", "),
      reason: problems
        .map((p) => (p.message.startsWith(p.variable) ? p.message : `${p.variable}: ${p.message}`))
        .join("; "),
    },
  });
}

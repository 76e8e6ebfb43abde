import { createPrivateKey, type KeyObject, randomUUID, sign } from "node:crypto";
import { TollgateError } from "@tollgate/shared";
import type { FacilitatorOption } from "../verify/fallback/facilitators.js";
import type { FacilitatorTransport } from "../verify/fallback/transport.js";

/** PayAI's public facilitator. */
export const payaiFacilitatorUrl = "https://facilitator.payai.network";

/** Parameters of `payaiFacilitator`. */
export type PayaiFacilitatorParameters = Readonly<{
  /**
   * The facilitator's base URL (the demo points it at our facilitator on loopback).
   * @default "https://facilitator.payai.network"
   */
  url?: string;
  /** Merchant API key id; with `apiKeySecret`, every call carries a JWT. Both or neither. */
  apiKeyId?: string;
  /** Merchant API key secret: base64 PKCS#8 DER of an Ed25519 key, optionally prefixed `payai_sk_`. */
  apiKeySecret?: string;
  /**
   * Name in events and in the 402's `provider`.
   * @default "PayAI Network"
   */
  name?: string;
  /**
   * Switch (the seed's "no PayAI" rollback).
   * @default true
   */
  enabled?: boolean;
  /** @default 5_000 */
  verifyTimeoutMs?: number;
  /** @default 30_000 */
  settleTimeoutMs?: number;
  /** @default the paywall's transport */
  transport?: FacilitatorTransport;
  /**
   * The longest `/verify` or `/settle` answer read, in bytes; a longer one is a malformed answer (unavailable).
   * @default 65_536
   */
  maxResponseBytes?: number;
  /**
   * The longest `/supported` answer read, in bytes (the networks refresh); a longer one is ignored.
   * @default 262_144
   */
  maxSupportedBytes?: number;
  /**
   * Lifetime of a JWT, in seconds; a new one is made 30 s before it expires.
   * @default 120
   */
  tokenLifetimeSeconds?: number;
  /**
   * The clock, in milliseconds since the epoch.
   * @default Date.now
   */
  now?: () => number;
}>;

const base64url = (data: string | Uint8Array) => Buffer.from(data).toString("base64url");

function merchantKey(secret: string): KeyObject {
  const der = secret.startsWith("payai_sk_") ? secret.slice("payai_sk_".length) : secret;
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(der, "base64"), format: "der", type: "pkcs8" });
  } catch (cause) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "payai.apiKeySecret", reason: "not a base64 PKCS#8 DER private key" },
      cause,
    });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "payai.apiKeySecret", reason: "not an Ed25519 key" },
    });
  }
  return key;
}

/**
 * PayAI's facilitator as a paywall facilitator (DESIGN §4): its URL, and, given a merchant API key, an Ed25519
 * JWT on every call (`Authorization: Bearer`; header `{ alg: "EdDSA", typ: "JWT", kid }`, claims
 * `{ sub, iss: "payai-merchant", iat, exp, jti }`), cached and renewed before it expires. Its networks are read
 * from `/supported` when the paywall starts (`paywall.ready()`) and refreshed.
 *
 * @example
 * ```ts
 * import { createPaywall, payaiFacilitator } from "@tollgate/server";
 * const paywall = createPaywall({
 *   routes: { "GET /v1/search": "$0.01" },
 *   networks: ["base"],
 *   payTo: "0xYou…",
 *   facilitators: [payaiFacilitator({ apiKeyId: env.PAYAI_API_KEY_ID, apiKeySecret: env.PAYAI_API_KEY_SECRET })],
 * });
 * await paywall.ready();
 * ```
 * @throws `SERVER__INVALID_CONFIG` when only one of `apiKeyId` and `apiKeySecret` is given, or the secret is not
 *   an Ed25519 PKCS#8 key.
 */
export function payaiFacilitator(parameters: PayaiFacilitatorParameters = {}): FacilitatorOption {
  const {
    url = payaiFacilitatorUrl,
    apiKeyId,
    apiKeySecret,
    name = "PayAI Network",
    tokenLifetimeSeconds = 120,
    now = Date.now,
    ...rest
  } = parameters;
  if ((apiKeyId === undefined) !== (apiKeySecret === undefined)) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "payai.apiKeyId", reason: "give both apiKeyId and apiKeySecret, or neither" },
    });
  }
  if (apiKeyId === undefined || apiKeySecret === undefined) return { url, name, ...rest };

  const key = merchantKey(apiKeySecret);
  let cached: { token: string; expiresAt: number } | undefined;
  const bearer = (): string => {
    const nowSeconds = Math.floor(now() / 1000);
    if (cached !== undefined && nowSeconds < cached.expiresAt - 30) return cached.token;
    const header = base64url(JSON.stringify({ alg: "EdDSA", typ: "JWT", kid: apiKeyId }));
    const claims = base64url(
      JSON.stringify({
        sub: apiKeyId,
        iss: "payai-merchant",
        iat: nowSeconds,
        exp: nowSeconds + tokenLifetimeSeconds,
        jti: randomUUID(),
      }),
    );
    const signature = base64url(sign(null, Buffer.from(`${header}.${claims}`), key));
    cached = { token: `${header}.${claims}.${signature}`, expiresAt: nowSeconds + tokenLifetimeSeconds };
    return cached.token;
  };
  return { url, name, ...rest, headers: () => ({ authorization: `Bearer ${bearer()}` }) };
}

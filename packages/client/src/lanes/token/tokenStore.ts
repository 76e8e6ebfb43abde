import { prepaidTokenSchema, tokenHeaderNames } from "@tollgate/shared";

/** A prepaid token a server issued to this client: spent before any new payment to that origin. */
export type PrepaidToken = Readonly<{
  /** The origin that issued it (`https://api.example.com`); a token is only ever sent there. */
  origin: string;
  /** The opaque token (`X-PAYMENT-TOKEN`). A bearer secret: never log it. */
  token: string;
  /** Last balance the server reported, atomic units. */
  balance: bigint;
  /** Unix seconds after which the server no longer accepts it. */
  expiresAt: number;
}>;

/**
 * Where the paying fetch keeps prepaid tokens, one per origin.
 *
 * @example
 * ```ts
 * import { createMemoryTokenStore, createPayingFetch } from "@tollgate/client";
 * const tokens = createMemoryTokenStore();
 * const payingFetch = createPayingFetch({ wallets: [wallet], tokens });
 * ```
 */
export type TokenStore = Readonly<{
  get(origin: string): Promise<PrepaidToken | undefined>;
  put(token: PrepaidToken): Promise<void>;
  delete(origin: string): Promise<void>;
}>;

/**
 * A token store in memory.
 *
 * @example
 * ```ts
 * import { createMemoryTokenStore } from "@tollgate/client";
 * const tokens = createMemoryTokenStore();
 * await tokens.get("https://api.example.com"); // undefined until a server issues one
 * ```
 */
export function createMemoryTokenStore(): TokenStore {
  const tokens = new Map<string, PrepaidToken>();
  return Object.freeze({
    async get(origin: string) {
      return tokens.get(origin);
    },
    async put(token: PrepaidToken) {
      tokens.set(token.origin, token);
    },
    async delete(origin: string) {
      tokens.delete(origin);
    },
  });
}

/**
 * The token headers of a response: a newly issued token, or the new balance of the token just spent. Values that
 * do not parse are ignored.
 */
export function readTokenHeaders(headers: Headers): { token?: string; balance?: bigint; expiresAt?: number } {
  const token = headers.get(tokenHeaderNames.token);
  const balance = headers.get(tokenHeaderNames.balance);
  const expires = headers.get(tokenHeaderNames.expires);
  const out: { token?: string; balance?: bigint; expiresAt?: number } = {};
  if (token !== null && prepaidTokenSchema.safeParse(token.trim()).success) out.token = token.trim();
  if (balance !== null && /^(0|[1-9][0-9]{0,77})$/.test(balance.trim())) out.balance = BigInt(balance.trim());
  if (expires !== null && /^[0-9]{1,12}$/.test(expires.trim())) out.expiresAt = Number(expires.trim());
  return out;
}

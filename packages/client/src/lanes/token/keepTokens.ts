import { readTokenHeaders, type TokenStore } from "./tokenStore.js";

/** Parameters of `keepTokens`. */
export type KeepTokensParameters = Readonly<{
  tokens: TokenStore;
  now: () => number;
  /** The URL that answered; its origin owns the token. */
  url: string;
  response: Response;
  /** The token this request spent, if it paid with one: a bare balance header is its new balance. */
  spent: string | undefined;
}>;

/**
 * Keeps what a response says about prepaid tokens: a token it issued, or the new balance of the one spent. A token
 * without an expiry keeps the one it had, or lives a day.
 */
export async function keepTokens(parameters: KeepTokensParameters): Promise<void> {
  const { tokens, now, url, response, spent } = parameters;
  const seen = readTokenHeaders(response.headers);
  const origin = new URL(url).origin;
  const token = seen.token ?? spent;
  if (token === undefined || seen.balance === undefined) return;
  const previous = await tokens.get(origin);
  const expiresAt =
    seen.expiresAt ?? (previous?.token === token ? previous.expiresAt : Math.floor(now() / 1000) + 86_400);
  await tokens.put({ origin, token, balance: seen.balance, expiresAt });
}

/** Headers `fetch` drops when a redirect leaves the request's origin: what they hold belongs to that origin. */
const credentialHeaders = ["authorization", "cookie", "proxy-authorization"] as const;

/**
 * Removes the credentials of `from`'s origin from `headers` when `to` is on another origin, as `fetch` does when it
 * follows a redirect across origins.
 *
 * @example
 * ```ts
 * dropCrossOriginCredentials({ headers, from: "https://a.example/x", to: "https://b.example/y" });
 * ```
 */
export function dropCrossOriginCredentials(
  parameters: Readonly<{ headers: Headers; from: string; to: string }>,
): void {
  const { headers, from, to } = parameters;
  if (new URL(from).origin === new URL(to).origin) return;
  for (const name of credentialHeaders) headers.delete(name);
}

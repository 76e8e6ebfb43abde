/** The host every loopback spelling stands for: one machine, one origin per port. */
const loopbackHost = "127.0.0.1";

/** Whether an IPv4 address in dotted form is loopback (127.0.0.0/8) or the "this host" address 0.0.0.0. */
function isLoopbackIpv4(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === "0.0.0.0";
}

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, which WHATWG URL serialises `[::ffff:7f00:1]`)
 * stands for, or `undefined` for any other IPv6 address.
 */
function mappedIpv4(ipv6: string): string | undefined {
  const match = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ipv6);
  if (match === null) return undefined;
  const high = Number.parseInt(match[1] ?? "", 16);
  const low = Number.parseInt(match[2] ?? "", 16);
  return `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;
}

/**
 * A host name in the one spelling budgets, lists and ledger keys use. WHATWG URL parsing already lowercases, maps
 * Unicode to punycode and reads numeric IPv4 forms (`0x7f.1`, `2130706433`, `0177.0.0.1` are `127.0.0.1`);
 * on top of that:
 * - trailing dots go (`api.example.com.` is `api.example.com`);
 * - an IPv4-mapped IPv6 address is its IPv4 address (`[::ffff:10.0.0.5]` is `10.0.0.5`);
 * - every spelling of the local machine is `127.0.0.1`: `localhost` and `*.localhost` (RFC 6761 reserves them for
 *   loopback), 127.0.0.0/8, `[::1]`, and `0.0.0.0` / `[::]` (which reach the local machine on Linux).
 * A browser keeps `localhost` and `127.0.0.1` apart; a budget must not be split by how a server is spelt, and these
 * names all reach the same machine. Two different names of one remote server (a name and its IP address, two
 * subdomains) remain two origins: only a budget without `perOrigin` bounds a server with many names.
 *
 * @example
 * ```ts
 * canonicalHost("LOCALHOST."); // "127.0.0.1"
 * canonicalHost("[::ffff:7f00:1]"); // "127.0.0.1"
 * canonicalHost("api.example.com."); // "api.example.com"
 * ```
 */
export function canonicalHost(hostname: string): string {
  let host = hostname.toLowerCase().replace(/\.+$/, "");
  if (host.startsWith("[") && host.endsWith("]")) {
    const ipv6 = host.slice(1, -1);
    const ipv4 = mappedIpv4(ipv6);
    if (ipv4 !== undefined) host = ipv4;
    else if (ipv6 === "::1" || ipv6 === "::") return loopbackHost;
  }
  if (host === "localhost" || host.endsWith(".localhost") || isLoopbackIpv4(host)) return loopbackHost;
  return host;
}

/**
 * The origin of a URL (or of an origin) in the one spelling budgets, lists and ledger keys use: scheme, canonical
 * host (`canonicalHost`) and port, the default port dropped (WHATWG URL does). `undefined` when it does not parse.
 *
 * @example
 * ```ts
 * canonicalOrigin("http://LOCALHOST.:80/r?q=1"); // "http://127.0.0.1"
 * canonicalOrigin("https://API.example.com.:443/v1"); // "https://api.example.com"
 * ```
 */
export function canonicalOrigin(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  const host = canonicalHost(parsed.hostname);
  const bracketed = host.includes(":") ? `[${host.replace(/^\[|\]$/g, "")}]` : host;
  return `${parsed.protocol}//${bracketed}${parsed.port === "" ? "" : `:${parsed.port}`}`;
}

/**
 * A request URL in the one spelling ledger keys use: its canonical origin, path and query (the fragment, which
 * `fetch` never sends, dropped). A URL that does not parse is returned as given.
 *
 * @example
 * ```ts
 * canonicalUrl("http://LOCALHOST.:8080/a?q=1#x"); // "http://127.0.0.1:8080/a?q=1"
 * ```
 */
export function canonicalUrl(url: string): string {
  const origin = canonicalOrigin(url);
  if (origin === undefined) return url;
  const parsed = new URL(url);
  return `${origin}${parsed.pathname}${parsed.search}`;
}

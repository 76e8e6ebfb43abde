const utf8 = new TextDecoder("utf-8");
const percentRun = /(?:%[0-9a-fA-F]{2})+/g;

/**
 * Decodes every valid `%XX` run as UTF-8 (invalid bytes become U+FFFD), except the escapes in `keep` (lowercase
 * hex, e.g. `"2f"`), which stay encoded as routers that split the path before decoding leave them; malformed
 * `%` stays as it is.
 */
function decodeOnce(text: string, keep: readonly string[]): string {
  return text.replace(percentRun, (run) => {
    let out = "";
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) out += utf8.decode(new Uint8Array(bytes));
      bytes = [];
    };
    for (let i = 0; i < run.length; i += 3) {
      const hex = run.slice(i + 1, i + 3);
      if (keep.includes(hex.toLowerCase())) {
        flush();
        out += run.slice(i, i + 3);
      } else {
        bytes.push(Number.parseInt(hex, 16));
      }
    }
    flush();
    return out;
  });
}

/** Decodes until stable, at most 3 rounds (so `%252F` is seen as `/` too). */
function decodeFully(text: string, keep: readonly string[]): string {
  let decoded = text;
  for (let round = 0; round < 3; round++) {
    const next = decodeOnce(decoded, keep);
    if (next === decoded) break;
    decoded = next;
  }
  return decoded;
}

/** The separator escapes (`/`, `\`) a router may decode or keep: every combination is a reading. */
const separatorKeeps: readonly (readonly string[])[] = [[], ["2f"], ["5c"], ["2f", "5c"]];

/**
 * Collapses slashes and drops the trailing slash; reads a backslash as a slash (as the WHATWG URL parser and
 * Node's `url.parse` do) or as a literal character (as Express's `req.path` and a listener splitting `req.url`
 * do); and either resolves `.` and `..` (never above the root) or keeps them as literal segments, as routers that
 * do not resolve dots do.
 */
function canonical(path: string, resolveDots: boolean, backslashIsSlash: boolean): string {
  const out: string[] = [];
  for (const segment of (backslashIsSlash ? path.replace(/\\/g, "/") : path).split("/")) {
    if (segment === "") continue;
    if (resolveDots && segment === ".") continue;
    if (resolveDots && segment === "..") out.pop();
    else out.push(segment);
  }
  return `/${out.join("/")}`;
}

/** The path of a raw HTTP request target: origin-form up to `?`/`#`, or the path of an absolute-form target. */
function targetPath(target: string): string {
  const absolute = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  const rest = absolute ? target.slice(absolute[0].length) : target;
  const end = rest.search(/[?#]/);
  const path = end === -1 ? rest : rest.slice(0, end);
  return path.startsWith("/") ? path : `/${path}`;
}

/**
 * The path a listener gets from `new URL(target, base)`: a relative reference, so `//host/path` (and `/\host/path`)
 * names another host and only `/path` is left; `undefined` when it does not parse.
 */
function resolvedTargetPath(target: string): string | undefined {
  try {
    return new URL(target, "http://target.invalid").pathname;
  } catch {
    return undefined; // Unparsable as a URL reference: no listener can route it by this reading.
  }
}

/** Parameters of `pathForms`. */
export type PathFormsParameters = Readonly<{
  /** The request URL's `pathname` (already normalised by the WHATWG URL parser). */
  pathname: string;
  /**
   * The request target exactly as the server received it (`req.url` of node:http, `req.originalUrl` of Express),
   * for frameworks that route on it rather than on the parsed URL: the URL parser resolves `%2e%2e` and `..`,
   * a raw-path router does not.
   */
  target?: string;
  /**
   * Further raw targets the app may route on, e.g. Express's `req.baseUrl + req.path` after a middleware
   * rewrote `req.url`. Each is read like `target`.
   * @default []
   */
  otherTargets?: readonly string[];
}>;

/**
 * Every form of a request path a router might act on, each canonical (slashes collapsed, no trailing slash;
 * routes compare them case-insensitively): from the parsed pathname and each raw target (its path, and the path
 * `new URL(target, base)` leaves of it, which drops a `//host` prefix), as is, decoded once and decoded until
 * stable (each also keeping `%2F` and/or `%5C` encoded, as routers that split before decoding do), with
 * backslashes read as slashes and as literals, and dot segments resolved and kept as literals. The paywall prices
 * a request when any form matches a priced route, so no encoding, case, dot, slash or backslash trick reaches a
 * paid handler unpaid; at worst an odd path to a free handler is priced.
 *
 * @example
 * ```ts
 * import { pathForms } from "@tollgate/server";
 * pathForms({ pathname: "/v1/%73earch/" }); // ["/v1/%73earch", "/v1/search"]
 * pathForms({ pathname: "/7", target: "/files/%2e%2e/7" }); // includes "/files/%2e%2e/7" and "/files/../7"
 * pathForms({ pathname: "//a/paid", target: "//a/paid" }); // includes "/a/paid" and "/paid"
 * ```
 */
export function pathForms(parameters: PathFormsParameters): readonly string[] {
  const { pathname, target, otherTargets = [] } = parameters;
  const inputs = new Set([pathname]);
  for (const raw of target === undefined ? otherTargets : [target, ...otherTargets]) {
    inputs.add(targetPath(raw));
    const resolved = resolvedTargetPath(raw);
    if (resolved !== undefined) inputs.add(resolved);
  }
  const forms = new Set<string>();
  for (const input of inputs) {
    const readings = new Set([input]);
    if (input.includes("%")) {
      for (const keep of separatorKeeps) {
        readings.add(decodeOnce(input, keep));
        readings.add(decodeFully(input, keep));
      }
    }
    for (const reading of readings) {
      const backslash = reading.includes("\\");
      for (const resolveDots of [true, false]) {
        forms.add(canonical(reading, resolveDots, true));
        if (backslash) forms.add(canonical(reading, resolveDots, false));
      }
    }
  }
  return [...forms];
}

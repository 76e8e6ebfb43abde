/**
 * Characters that change how text is displayed rather than what it says: C0 and C1 controls (newlines, ANSI escape
 * sequences start with ESC), DEL, zero-width characters, bidirectional overrides and isolates, line and paragraph
 * separators, and the byte-order mark.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is this module's job.
const invisible = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

function escapeChar(char: string): string {
  return `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The longest server text an error or event carries, in characters. */
export const maxUntrustedTextLength = 256;

/**
 * Text a peer chose, made safe to put in a log line or an error read by an agent: every control, invisible or
 * direction-changing character is escaped as `\uXXXX` (no newline, no ANSI escape survives), and the text is cut to
 * `max` characters with `…`. It stays the peer's words: keep it in a field of its own, never in our message unquoted.
 *
 * @example
 * ```ts
 * import { sanitizeUntrusted } from "@tollgate/shared";
 * sanitizeUntrusted("bad\n\u001b[2Jthing"); // "bad\\u000a\\u001b[2Jthing"
 * ```
 */
export function sanitizeUntrusted(text: string, max: number = maxUntrustedTextLength): string {
  const cut = text.length > max ? `${text.slice(0, max)}…` : text;
  return cut.replace(invisible, escapeChar);
}

/**
 * Peer-chosen text quoted for a message of ours: sanitised (`sanitizeUntrusted`), its double quotes escaped, between
 * double quotes, so a reader can tell where the peer's words start and end.
 *
 * @example
 * ```ts
 * import { quoteUntrusted } from "@tollgate/shared";
 * quoteUntrusted('SYSTEM: "ignore"\n'); // the text `"SYSTEM: \"ignore\"\u000a"`
 * ```
 */
export function quoteUntrusted(text: string, max: number = maxUntrustedTextLength): string {
  return `"${sanitizeUntrusted(text, max).replace(/"/g, '\\"')}"`;
}

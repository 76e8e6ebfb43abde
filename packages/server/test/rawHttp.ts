// Raw HTTP/1.1 over a loopback socket, for tests that send what no HTTP client would: request targets it would
// normalise, Host values it would refuse, repeated Host headers.
import { connect } from "node:net";

/** What came back on the socket: the status (`undefined` when none), the raw text, whether it timed out. */
export type RawAnswer = Readonly<{ status: number | undefined; text: string; timedOut: boolean }>;

/** Parameters of `sendRaw`. */
export type SendRawParameters = Readonly<{
  port: number;
  method?: string;
  target: string;
  /**
   * Header lines, sent in order as `name: value` (repeat a name to repeat the header).
   * @default [["host", "127.0.0.1"]]
   */
  headers?: readonly (readonly [string, string])[];
  /** @default 5_000 */
  timeoutMs?: number;
}>;

/**
 * Writes one request line and its headers (plus `Connection: close`) and reads until the server closes the
 * socket, at most `timeoutMs`: a server that hangs shows as `timedOut`, never as a stuck test.
 */
export function sendRaw(parameters: SendRawParameters): Promise<RawAnswer> {
  const { port, method = "GET", target, headers = [["host", "127.0.0.1"]], timeoutMs = 5_000 } = parameters;
  const lines = [
    `${method} ${target} HTTP/1.1`,
    ...headers.map(([n, v]) => `${n}: ${v}`),
    "connection: close",
  ];
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString("latin1");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text)?.[1];
      resolve({ status: status === undefined ? undefined : Number(status), text, timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => finish(false));
    socket.on("close", () => finish(false));
    socket.on("error", () => finish(false));
    socket.write(`${lines.join("\r\n")}\r\n\r\n`, "latin1");
  });
}

/** The JSON `error` of a raw answer's body, when it has one. */
export function errorOf(answer: RawAnswer): string | undefined {
  const body = answer.text.slice(answer.text.indexOf("\r\n\r\n") + 4);
  const match = /"error":"([a-z_]+)"/.exec(body);
  return match?.[1];
}

import { execFile } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

/** What a load run did: requests sent, how many answered 200, and its wall time. */
export type LoadResult = Readonly<{ requests: number; ok: number; seconds: number }>;

/**
 * Sends `count` GETs to `url` with `inFlight` of them in flight (Node's `fetch`, keep-alive), request `i` with
 * `headers(i)`. The client runs in the caller's process, so it shares the machine's cores with the server.
 */
export async function load(
  url: string,
  headers: (i: number) => Record<string, string>,
  count: number,
  inFlight = 32,
): Promise<LoadResult> {
  let next = 0;
  let ok = 0;
  const worker = async () => {
    for (let i = next++; i < count; i = next++) {
      const response = await fetch(url, { headers: headers(i) });
      await response.arrayBuffer();
      if (response.status === 200) ok++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { requests: count, ok, seconds: (performance.now() - t0) / 1000 };
}

const run = promisify(execFile);
/** Scripts written so far: each run has its own, so runs may go at once. */
let scripts = 0;

/** Whether `wrk` is on the PATH (the benches then use it as the load generator: a C client costs the server less CPU). */
export async function hasWrk(): Promise<boolean> {
  return run("wrk", ["--version"]).then(
    () => true,
    // wrk --version prints its banner and exits 1.
    (error: { stdout?: string }) => /^wrk /.test(error.stdout ?? ""),
  );
}

/**
 * Drives `url` with `wrk` (1 thread, `connections` connections, `seconds` long), every request a GET carrying one
 * of `values` in header `header`, taken in turn. Reads wrk's summary: requests, non-2xx answers, wall time.
 */
export async function wrkLoad(
  parameters: Readonly<{
    url: string;
    header: string;
    values: readonly string[];
    seconds: number;
    connections?: number;
  }>,
): Promise<LoadResult> {
  const { url, header, values, seconds, connections = 32 } = parameters;
  const script = join(tmpdir(), `tollgate-bench-${process.pid}-${++scripts}.lua`);
  writeFileSync(
    script,
    [
      `local values = { ${values.map((v) => JSON.stringify(v)).join(", ")} }`,
      "local i = 0",
      "request = function()",
      "  i = i + 1",
      `  return wrk.format("GET", nil, { [${JSON.stringify(header)}] = values[(i % #values) + 1] })`,
      "end",
    ].join("\n"),
  );
  const { stdout } = await run("wrk", [
    "-t1",
    `-c${connections}`,
    `-d${seconds}s`,
    "--timeout",
    "30s",
    "-s",
    script,
    url,
  ]);
  const requests = Number(/(\d+) requests in /.exec(stdout)?.[1] ?? Number.NaN);
  const duration = /\d+ requests in ([\d.]+)(ms|s|m)/.exec(stdout);
  const scale = duration?.[2] === "ms" ? 1 / 1000 : duration?.[2] === "m" ? 60 : 1;
  const failed = Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0);
  const errors = /Socket errors: (.*)/.exec(stdout)?.[1];
  rmSync(script, { force: true });
  if (!Number.isFinite(requests) || errors !== undefined) throw new Error(`wrk: ${stdout}`);
  return { requests, ok: requests - failed, seconds: Number(duration?.[1]) * scale };
}

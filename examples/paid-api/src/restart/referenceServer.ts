// The reference server as a child process, exactly as `pnpm start` runs it (src/main.ts, configured by its
// environment only), for the restart tests: start it, stop it, start another one on the same store.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";

const paidApiDir = join(import.meta.dirname, "..", "..");

/** The admin API of a reference server started with `{ admin: true }`: its listener and its key. */
export type ReferenceAdmin = Readonly<{
  /** Its own listener (`TOLLGATE_ADMIN_PORT=0`: a free port on loopback). */
  url: string;
  /** The random key the test gave it; sent as `Authorization: Bearer`, never printed. */
  key: string;
  /** `GET {url}{path}` with the key; the response as it came. */
  get(path: string): Promise<Response>;
}>;

/** One running reference server process. */
export type ReferenceServer = Readonly<{
  url: string;
  pid: number;
  /** Its admin API; `undefined` unless started with `{ admin: true }`. */
  admin: ReferenceAdmin | undefined;
  /** Everything it wrote to stdout and stderr so far. */
  output(): string;
  /** SIGTERM (a clean shutdown that closes the store), then waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, no shutdown at all, then waits for the process to be gone. */
  kill(): Promise<void>;
}>;

/** The test runner's environment without anything that would configure the server behind the test's back. */
function cleanEnvironment(): Record<string, string> {
  const keep = Object.entries(process.env).filter(
    ([key, value]) =>
      value !== undefined &&
      key !== "NODE_OPTIONS" &&
      !key.startsWith("X402_") &&
      !key.startsWith("TOLLGATE_") &&
      key !== "DATABASE_URL" &&
      key !== "REDIS_URL",
  );
  return Object.fromEntries(keep) as Record<string, string>;
}

const running = new Set<ChildProcess>();

/** Options of `startReferenceServer`. */
export type StartReferenceServerOptions = Readonly<{
  /** Most milliseconds until it listens. @default 60_000 */
  timeoutMs?: number;
  /**
   * Turn its admin API on: a strong random key of this start only (`TOLLGATE_ADMIN_KEY`) on a free loopback port
   * (`TOLLGATE_ADMIN_PORT=0`); the start resolves once that listener is up too.
   * @default false
   */
  admin?: boolean;
}>;

/**
 * Starts `src/main.ts` with `env` (plus `PORT=0`) and resolves once it prints its URL (and its admin API's, with
 * `admin`); rejects with its output when it exits first or does not listen within `timeoutMs`.
 */
export function startReferenceServer(
  env: Readonly<Record<string, string>>,
  options: StartReferenceServerOptions = {},
): Promise<ReferenceServer> {
  const { timeoutMs = 60_000, admin = false } = options;
  const adminKey = admin ? randomBytes(32).toString("base64url") : undefined;
  const adminEnvironment: Record<string, string> =
    adminKey === undefined ? {} : { TOLLGATE_ADMIN_KEY: adminKey, TOLLGATE_ADMIN_PORT: "0" };
  const child = spawn(process.execPath, ["--conditions=source", "--import", "tsx", "src/main.ts"], {
    cwd: paidApiDir,
    env: { ...cleanEnvironment(), PORT: "0", HOST: "127.0.0.1", ...env, ...adminEnvironment },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let text = "";
  const exited = new Promise<number | null>((resolve) =>
    child.once("exit", (code) => {
      running.delete(child);
      resolve(code);
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the reference server did not listen within ${timeoutMs} ms:\n${text}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      text += chunk.toString("utf8");
      const url = /paid-api listening at (http:\/\/\S+)/.exec(text)?.[1];
      if (url === undefined) return;
      const adminUrl = /paid-api admin API listening at (http:\/\/\S+)/.exec(text)?.[1];
      if (adminKey !== undefined && adminUrl === undefined) return;
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stdout?.on("data", (more: Buffer) => {
        text += more.toString("utf8");
      });
      resolve({
        url,
        pid: child.pid ?? -1,
        admin:
          adminKey === undefined || adminUrl === undefined
            ? undefined
            : {
                url: adminUrl,
                key: adminKey,
                get: (path) =>
                  fetch(`${adminUrl}${path}`, { headers: { authorization: `Bearer ${adminKey}` } }),
              },
        output: () => text,
        stop: async () => {
          child.kill("SIGTERM");
          return exited;
        },
        kill: async () => {
          child.kill("SIGKILL");
          await exited;
        },
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", (chunk: Buffer) => {
      text += chunk.toString("utf8");
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the reference server exited (${code}) before listening:\n${text}`));
    });
  });
}

/** Kills every server a test left running (afterAll), so a failed test leaves no process behind. */
export async function killAllReferenceServers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once("exit", () => resolve());
          child.kill("SIGKILL");
        }),
    ),
  );
}

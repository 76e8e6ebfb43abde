import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { TollgateError } from "@tollgate/shared";

/** Parameters of `startAnvil`. */
export type StartAnvilParameters = Readonly<{
  /**
   * Chain id anvil reports (`eth_chainId`) and signs with.
   * @default 84532 (Base Sepolia, so peers' built-in asset tables find the test token at the real USDC address)
   */
  chainId?: number;
  /**
   * Loopback port to listen on.
   * @default a free port picked at start (retried on a clash)
   */
  port?: number;
  /**
   * How long to wait for the first `eth_chainId` answer before giving up.
   * @default 15_000
   */
  startTimeoutMs?: number;
  /**
   * Extra command-line arguments, e.g. `["--block-time", "1"]`.
   * @default []
   */
  args?: readonly string[];
  /**
   * Path of the anvil binary.
   * @default the binary of `@foundry-rs/anvil`'s platform package (see `resolveAnvilBinary`)
   */
  binary?: string;
}>;

/**
 * A running anvil child process on 127.0.0.1, with the test RPC methods the kit needs.
 *
 * @example
 * ```ts
 * import { startAnvil } from "@tollgate/testing";
 * const anvil = await startAnvil();
 * const id = await anvil.snapshot();
 * await anvil.setBalance("0x0000000000000000000000000000000000000001", 10n ** 18n);
 * await anvil.revert(id);
 * await anvil.stop();
 * ```
 */
export type AnvilInstance = Readonly<{
  /** `http://127.0.0.1:<port>`. */
  rpcUrl: string;
  /** The chain id it runs as. */
  chainId: number;
  /** The loopback port. */
  port: number;
  /** Process id of the child (gone once `stop()` resolves). */
  pid: number;
  /** Sends one JSON-RPC request and returns its `result`; throws `CHAIN__CALL_FAILED` on an error answer. */
  request<T = unknown>(method: string, params?: readonly unknown[]): Promise<T>;
  /** Mines `blocks` empty blocks at once (`anvil_mine`). */
  mine(blocks: number | bigint): Promise<void>;
  /** Writes runtime bytecode at an address (`anvil_setCode`). */
  setCode(address: `0x${string}`, bytecode: `0x${string}`): Promise<void>;
  /** Sets an address's ETH balance in wei (`anvil_setBalance`). */
  setBalance(address: `0x${string}`, wei: bigint): Promise<void>;
  /** Takes a snapshot of the whole chain state (`evm_snapshot`); returns its id for `revert`. */
  snapshot(): Promise<`0x${string}`>;
  /** Returns the chain to a snapshot (`evm_revert`); a snapshot can be reverted to once. */
  revert(snapshotId: `0x${string}`): Promise<boolean>;
  /** Terminates anvil and waits for its exit. Idempotent. */
  stop(): Promise<void>;
}>;

/** Parameters of `resolveAnvilBinary`. */
export type ResolveAnvilBinaryParameters = Readonly<{
  /**
   * Platform to resolve for.
   * @default process.platform
   */
  platform?: NodeJS.Platform;
  /**
   * CPU architecture to resolve for.
   * @default process.arch
   */
  arch?: string;
}>;

/**
 * Finds the anvil binary that `@foundry-rs/anvil` installed, resolving its platform package from the launcher's own
 * location so it works under pnpm's strict layout. No download, no `PATH` look-up.
 *
 * @example
 * ```ts
 * import { resolveAnvilBinary } from "@tollgate/testing";
 * const binary = resolveAnvilBinary(); // …/@foundry-rs/anvil-linux-amd64/bin/anvil
 * ```
 * @throws `SERVER__INVALID_CONFIG` when no binary exists for this platform.
 */
export function resolveAnvilBinary(parameters: ResolveAnvilBinaryParameters = {}): string {
  const { platform = process.platform, arch = process.arch } = parameters;
  const cpu = arch === "x64" ? "amd64" : arch;
  const platformPackage = `@foundry-rs/anvil-${platform}-${cpu}`;
  const executable = platform === "win32" ? "anvil.exe" : "anvil";
  try {
    const launcher = createRequire(import.meta.url).resolve("@foundry-rs/anvil/package.json");
    const fromLauncher = createRequire(launcher);
    const binary = join(dirname(fromLauncher.resolve(`${platformPackage}/package.json`)), "bin", executable);
    if (!existsSync(binary)) throw new Error(`${binary} does not exist`);
    return binary;
  } catch (cause) {
    throw new TollgateError("SERVER__INVALID_CONFIG", {
      context: { option: "anvil binary", reason: `${platformPackage} is not installed` },
      cause,
    });
  }
}

/** Children still running; killed when this process exits, so no anvil outlives a test run. */
const liveChildren = new Set<ChildProcess>();

function killAllChildren(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
  liveChildren.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  killAllChildren();
  uninstallExitHooks();
  // Our listener replaced the default action of the signal; restore it when nobody else handles the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on("exit", killAllChildren);
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
}

function uninstallExitHooks(): void {
  if (!exitHooksInstalled) return;
  exitHooksInstalled = false;
  process.off("exit", killAllChildren);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
}

function track(child: ChildProcess): void {
  liveChildren.add(child);
  installExitHooks();
  const forget = () => {
    liveChildren.delete(child);
    if (liveChildren.size === 0) uninstallExitHooks();
  };
  child.once("exit", forget);
  // A child that failed to spawn (no pid) never emits "exit".
  child.once("error", () => {
    if (child.pid === undefined) forget();
  });
}

async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const toQuantity = (value: number | bigint) => `0x${BigInt(value).toString(16)}`;

type RpcAnswer = { result?: unknown; error?: { code?: number; message?: string } };

async function rpc(rpcUrl: string, method: string, params: readonly unknown[], signal?: AbortSignal) {
  const response = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    ...(signal === undefined ? {} : { signal }),
  });
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${method}`);
  return (await response.json()) as RpcAnswer;
}

/**
 * Waits until the child has bound its port and answers `eth_chainId` with the expected id, or exits, or the deadline
 * passes. anvil writes its `--config-out` file only after binding, so an answer that comes before that file exists
 * is from another process on the same port, not from our child.
 */
async function waitUntilReady(
  child: ChildProcess,
  boundMarker: string,
  rpcUrl: string,
  chainId: number,
  timeoutMs: number,
  cancelled: () => boolean,
) {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = new Error("anvil did not bind its port");
  while (Date.now() < deadline) {
    if (cancelled() || child.exitCode !== null || child.signalCode !== null) return "exited" as const;
    if (!existsSync(boundMarker)) {
      await sleep(5);
      continue;
    }
    try {
      const answer = await rpc(rpcUrl, "eth_chainId", [], AbortSignal.timeout(1_000));
      if (answer.result === toQuantity(chainId)) return "ready" as const;
      lastError = new Error(`eth_chainId answered ${JSON.stringify(answer)}`);
    } catch (error) {
      lastError = error;
    }
    await sleep(10);
  }
  return { timedOut: lastError } as const;
}

/**
 * Starts a real anvil node as a child process on a free 127.0.0.1 port (`--silent`) and waits until it answers
 * `eth_chainId`. The child is killed when this process exits (also on SIGINT/SIGTERM); call `stop()` when done.
 *
 * @example
 * ```ts
 * import { startAnvil } from "@tollgate/testing";
 * const anvil = await startAnvil({ chainId: 84532 });
 * await anvil.mine(3);
 * await anvil.stop();
 * ```
 * @throws `CHAIN__TIMEOUT` when anvil does not answer in time; `CHAIN__CALL_FAILED` when it exits at start;
 *   `SERVER__INVALID_CONFIG` when no binary is installed for this platform.
 */
export async function startAnvil(parameters: StartAnvilParameters = {}): Promise<AnvilInstance> {
  const { chainId = 84532, port: fixedPort, startTimeoutMs = 15_000, args = [], binary } = parameters;
  const executable = binary ?? resolveAnvilBinary();
  const network = `eip155:${chainId}`;
  // A picked port can be taken between the probe and anvil's bind; then anvil exits and we try another one.
  const attempts = fixedPort === undefined ? 3 : 1;
  const markerDir = mkdtempSync(join(tmpdir(), "tollgate-anvil-"));
  try {
    let lastExit = "";
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const port = fixedPort ?? (await freeLoopbackPort());
      const boundMarker = join(markerDir, `${attempt}.json`);
      const outcome = await spawnOnce({
        executable,
        args: [
          ...["--host", "127.0.0.1", "--port", String(port), "--chain-id", String(chainId), "--silent"],
          ...["--config-out", boundMarker, ...args],
        ],
        boundMarker,
        rpcUrl: `http://127.0.0.1:${port}`,
        chainId,
        timeoutMs: startTimeoutMs,
      });
      switch (outcome.kind) {
        case "ready":
          return createInstance({ ...outcome, chainId, port, network });
        case "spawnError":
          throw new TollgateError("CHAIN__CALL_FAILED", {
            context: { network, operation: "anvil spawn" },
            cause: outcome.error,
          });
        case "timeout":
          throw new TollgateError("CHAIN__TIMEOUT", {
            context: { network, operation: "anvil start", timeoutMs: startTimeoutMs },
            cause: outcome.lastError,
          });
        case "exited":
          lastExit = outcome.stderr;
      }
    }
    throw new TollgateError("CHAIN__CALL_FAILED", {
      context: { network, operation: "anvil start" },
      cause: new Error(`anvil exited during start: ${lastExit.trim() || "(no output)"}`),
    });
  } finally {
    rmSync(markerDir, { recursive: true, force: true });
  }
}

type SpawnOutcome =
  | { kind: "ready"; child: ChildProcess; pid: number; rpcUrl: string }
  | { kind: "exited"; stderr: string }
  | { kind: "spawnError"; error: Error }
  | { kind: "timeout"; lastError: unknown };

/** Spawns one anvil and waits for it; a child that is not ready is terminated before this resolves. */
async function spawnOnce(options: {
  executable: string;
  args: readonly string[];
  /** The `--config-out` file: it exists once the child has bound its port. */
  boundMarker: string;
  rpcUrl: string;
  chainId: number;
  timeoutMs: number;
}): Promise<SpawnOutcome> {
  const { executable, args, boundMarker, rpcUrl, chainId, timeoutMs } = options;
  const child = spawn(executable, args, { stdio: ["ignore", "ignore", "pipe"] });
  track(child);
  let stderr = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    stderr = (stderr + chunk).slice(-2_000);
  });
  const spawnError = new Promise<SpawnOutcome>((resolve) =>
    child.once("error", (error) => resolve({ kind: "spawnError", error })),
  );
  let settled = false;
  const outcome = await Promise.race([
    waitUntilReady(child, boundMarker, rpcUrl, chainId, timeoutMs, () => settled).then(
      (state): SpawnOutcome =>
        state === "ready"
          ? { kind: "ready", child, pid: child.pid ?? 0, rpcUrl }
          : state === "exited"
            ? { kind: "exited", stderr }
            : { kind: "timeout", lastError: state.timedOut },
    ),
    spawnError,
  ]);
  settled = true; // Ends the polling loop when the spawn error won the race.
  if (outcome.kind !== "ready") await terminate(child);
  // stderr may still arrive between the exit and here.
  return outcome.kind === "exited" ? { kind: "exited", stderr } : outcome;
}

/** Sends SIGTERM, then SIGKILL after a grace period, and resolves once the child has exited. */
async function terminate(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

function createInstance(options: {
  child: ChildProcess;
  pid: number;
  rpcUrl: string;
  chainId: number;
  port: number;
  network: string;
}): AnvilInstance {
  const { child, pid, rpcUrl, chainId, port, network } = options;
  let stopping: Promise<void> | undefined;

  async function request<T = unknown>(method: string, params: readonly unknown[] = []): Promise<T> {
    let answer: RpcAnswer;
    try {
      answer = await rpc(rpcUrl, method, params);
    } catch (cause) {
      throw new TollgateError("CHAIN__CALL_FAILED", { context: { network, operation: method }, cause });
    }
    if (answer.error !== undefined) {
      throw new TollgateError("CHAIN__CALL_FAILED", {
        context: { network, operation: method },
        cause: new Error(`${answer.error.code ?? "?"}: ${answer.error.message ?? "unknown error"}`),
      });
    }
    return answer.result as T;
  }

  return Object.freeze({
    rpcUrl,
    chainId,
    port,
    pid,
    request,
    async mine(blocks: number | bigint) {
      await request("anvil_mine", [toQuantity(blocks), "0x0"]);
    },
    async setCode(address: `0x${string}`, bytecode: `0x${string}`) {
      await request("anvil_setCode", [address, bytecode]);
    },
    async setBalance(address: `0x${string}`, wei: bigint) {
      await request("anvil_setBalance", [address, toQuantity(wei)]);
    },
    snapshot: () => request<`0x${string}`>("evm_snapshot"),
    revert: (snapshotId: `0x${string}`) => request<boolean>("evm_revert", [snapshotId]),
    stop() {
      stopping ??= terminate(child);
      return stopping;
    },
  });
}

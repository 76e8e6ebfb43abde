import { isTollgateError } from "@tollgate/shared";
import {
  deriveEvmTestPrivateKey,
  deriveSvmTestKeypair,
  type EvmChain,
  type HostileBehaviour,
  type HostileOffer,
  type LocalFacilitator,
  type SettledAuthorization,
  type SolanaBank,
  startHostileServer,
} from "@tollgate/testing";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createEvmWallet } from "../../src/evm/evmWallet.js";
import { createPayingFetch } from "../../src/payingFetch.js";
import { createSvmWallet } from "../../src/svm/svmWallet.js";
import type { PayingWallet } from "../../src/wallet.js";

/**
 * One adversarial run: a hostile server with its offers and its scripted answers to proofs, an agent with a
 * spending policy, and the logical requests the agent makes (each retried after an error or a non-2xx answer, as
 * agents do, under the same logical request).
 */
export type Scenario = Readonly<{
  maxPerRequest: bigint;
  /** A `total` budget over the whole run. */
  budget: bigint;
  requirementCache: boolean;
  /** The offers of the server's 402s, cycled one set per 402 (switching requirements between calls). */
  offerSets: readonly (readonly HostileOffer[])[];
  /** How the server treats each proof, by order of arrival (then honest). */
  behaviours: readonly HostileBehaviour[];
  /** The logical requests, made one after the other. */
  requests: readonly Readonly<{ method: "GET" | "POST"; explicitKey: boolean; attempts: number }>[];
}>;

/** What one call of the paying fetch gave the agent: a status, or an error code. */
export type CallResult = string;

/** What happened to one logical request: the calls made, and what really left the wallet for it. */
export type RequestOutcome = Readonly<{ calls: readonly CallResult[]; outflow: bigint }>;

/** What happened in a run. */
export type ScenarioOutcome = Readonly<{
  requests: readonly RequestOutcome[];
  total: bigint;
  /** Every proof the server got: lane, amount, path and what it did. */
  proofs: readonly string[];
  settled: readonly SettledAuthorization[];
  /** A violated invariant, described; `undefined` when the run kept every limit. */
  violation?: string;
}>;

/** The chains and facilitator every run shares: anvil, and the Solana bank when Solana offers are drawn. */
export type Rig = Readonly<{ evm: EvmChain; bank?: SolanaBank; local: LocalFacilitator }>;

/** How long one call (and reading its body) may take before the agent aborts it. */
const callTimeoutMs = 1_500;
/** A call still running this long after its abort is a hang: the run fails. */
const hangMs = 20_000;

let runs = 0;

function describeError(error: unknown): string {
  if (isTollgateError(error)) return error.code;
  if (error instanceof Error)
    return `${error.name}${error.message === "fetch failed" ? ":fetch_failed" : ""}`;
  return String(error);
}

async function withHangGuard<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`hang: ${what} still running after ${hangMs} ms`)), hangMs);
  });
  try {
    return await Promise.race([promise, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** A fresh payer, a hostile server and a paying fetch for one run. */
async function prepareRun(rig: Rig, scenario: Scenario) {
  const { evm, bank, local } = rig;
  const run = runs++;
  const label = `client/adversarial/${process.pid}/${run}`;
  const account = privateKeyToAccount(deriveEvmTestPrivateKey({ label }));
  await evm.mint(account.address, 1_000_000n);
  await evm.anvil.setBalance(account.address, 10n ** 18n);
  const direct = createPublicClient({ chain: evm.chain, transport: http(evm.rpcUrl), pollingInterval: 10 });
  const wallets: PayingWallet[] = [createEvmWallet({ account, direct })];
  // On the Solana bank too: a payer with 1 USDC and no SOL (the facilitator's fee payer pays the fees).
  const keypair = deriveSvmTestKeypair({ label });
  if (bank !== undefined) {
    await bank.mintTo(keypair.publicKey, 1_000_000n);
    const rpc = { getLatestBlockhash: async () => ({ blockhash: (await bank.latestBlockhash()).blockhash }) };
    wallets.push(createSvmWallet({ keypair, rpc }));
  }
  const { offerSets } = scenario;
  const server = await startHostileServer({
    evm,
    ...(bank === undefined ? {} : { bank }),
    facilitatorUrl: local.url,
    offers: ({ index }) => offerSets[index % offerSets.length] ?? [],
    behaviours: scenario.behaviours,
  });
  const payingFetch = createPayingFetch({
    wallets,
    policy: {
      maxPerRequest: scenario.maxPerRequest,
      budgets: [{ name: "run", limit: scenario.budget, window: "total" }],
    },
    requirementCache: scenario.requirementCache,
    // settlement_pending is re-sent at once (the server's Retry-After is not the point here).
    sleep: async (_ms, signal) => signal?.throwIfAborted(),
  });
  /** The payer's USDC on both chains. */
  const balance = async () =>
    (await evm.balanceOf(account.address)) +
    (bank === undefined ? 0n : await bank.tokenBalance(keypair.publicKey));

  /** One logical request as an agent makes it: called, and called again after an error or a non-2xx answer. */
  async function agentRequest(index: number): Promise<CallResult[]> {
    const request = scenario.requests[index];
    if (request === undefined) return [];
    const calls: CallResult[] = [];
    const url = `${server.url}/paid?request=${index}`;
    const headers: Record<string, string> = request.explicitKey
      ? { "Idempotency-Key": `run-${run}-request-${index}` }
      : {};
    for (let attempt = 0; attempt < request.attempts; attempt++) {
      const signal = AbortSignal.timeout(callTimeoutMs);
      const call = (async () => {
        const response = await payingFetch(url, {
          method: request.method,
          headers,
          ...(request.method === "POST" ? { body: `{"request":${index}}` } : {}),
          signal,
        });
        await response.arrayBuffer();
        return response.status;
      })();
      const result = await withHangGuard(
        call.then(String, describeError),
        `request ${index} attempt ${attempt}`,
      );
      calls.push(result);
      if (/^2[0-9][0-9]$/.test(result)) break;
    }
    return calls;
  }

  async function finish(parts: Omit<ScenarioOutcome, "proofs" | "settled">): Promise<ScenarioOutcome> {
    await server.close();
    const settled = await server.settleAll();
    const proofs = server.proofs.map(
      (p) =>
        `#${p.index} ${p.lane} ${p.payment?.family ?? ""} ${p.payment?.value ?? p.transfers?.map((t) => t.value).join("+") ?? ""} ` +
        `${p.path} key=${p.idempotencyKey ?? "-"} settle=${p.behaviour.settle !== false} ` +
        `answer=${JSON.stringify(p.behaviour.answer, (_k, v) => (typeof v === "bigint" ? String(v) : v))}`,
    );
    return { ...parts, proofs, settled };
  }

  return { account, server, balance, agentRequest, finish };
}

/**
 * Runs a scenario's logical requests one after the other with a fresh payer (1 USDC, 1 ETH for direct transfers
 * and cancellations) and the real EVM wallet. After each, the server settles every authorization it ever received;
 * the payer's USDC balance then says what left the wallet for that request. The invariant: per logical request ≤
 * `maxPerRequest`, in all ≤ the budget.
 */
export async function runScenario(rig: Rig, scenario: Scenario): Promise<ScenarioOutcome> {
  const { server, balance, agentRequest, finish } = await prepareRun(rig, scenario);
  const requests: RequestOutcome[] = [];
  let total = 0n;
  let violation: string | undefined;
  try {
    for (const index of scenario.requests.keys()) {
      const before = await balance();
      const calls = await agentRequest(index);
      await server.settleAll();
      const outflow = before - (await balance());
      total += outflow;
      requests.push({ calls, outflow });
      if (violation === undefined && outflow > scenario.maxPerRequest) {
        violation = `request ${index}: ${outflow} left the wallet, maxPerRequest is ${scenario.maxPerRequest}`;
      }
      if (violation === undefined && total > scenario.budget) {
        violation = `after request ${index}: ${total} left the wallet in all, the budget is ${scenario.budget}`;
      }
    }
  } finally {
    await server.close();
  }
  return finish({ requests, total, ...(violation === undefined ? {} : { violation }) });
}

/**
 * Runs every logical request of a scenario at once, each by `copies` agents at the same time (one logical request:
 * the same method, URL, body and key). Once the server settled everything, each request's outflow is what the
 * server got for it (settled authorizations and direct transfers that carried its path), and the payer's balance
 * says the total. The invariant: per request ≤ `maxPerRequest` (× copies when they carry no Idempotency-Key: each
 * copy is then a purchase of its own), in all ≤ the budget and ≤ the sum of those limits (a transfer whose proof
 * never arrived is in the total only).
 */
export async function runConcurrentScenario(
  rig: Rig,
  scenario: Scenario & Readonly<{ copies: number }>,
): Promise<ScenarioOutcome> {
  const { account, server, balance, agentRequest, finish } = await prepareRun(rig, scenario);
  const before = await balance();
  let results: CallResult[][];
  try {
    results = await Promise.all(
      [...scenario.requests.keys()].map(async (index) =>
        (await Promise.all(Array.from({ length: scenario.copies }, () => agentRequest(index)))).flat(),
      ),
    );
  } finally {
    await server.close();
  }
  const settled = await server.settleAll();
  const total = before - (await balance());
  const byPath = new Map<string, bigint>();
  const add = (path: string, value: bigint) => byPath.set(path, (byPath.get(path) ?? 0n) + value);
  for (const s of settled) if (s.outcome.settled) add(s.path, s.payment.value);
  const seenTx = new Set<string>();
  for (const proof of server.proofs) {
    if (proof.lane !== "direct" || seenTx.has(proof.value)) continue;
    seenTx.add(proof.value);
    for (const t of proof.transfers ?? []) {
      if (t.from.toLowerCase() === account.address.toLowerCase()) add(proof.path, t.value);
    }
  }
  const requests = results.map((calls, index) => ({
    calls,
    outflow: byPath.get(`/paid?request=${index}`) ?? 0n,
  }));
  // Copies with one Idempotency-Key are one logical request; copies without one are as many purchases of the
  // same thing (the client pays a GET again once the first was answered), each bounded on its own.
  const limitOf = (index: number) =>
    scenario.requests[index]?.explicitKey === true
      ? scenario.maxPerRequest
      : scenario.maxPerRequest * BigInt(scenario.copies);
  let violation: string | undefined;
  const worst = requests.findIndex((r, index) => r.outflow > limitOf(index));
  if (worst !== -1) {
    violation = `request ${worst}: ${requests[worst]?.outflow} reached the server, its limit is ${limitOf(worst)}`;
  } else if (total > scenario.budget) {
    violation = `${total} left the wallet in all, the budget is ${scenario.budget}`;
  } else if (total > requests.reduce((sum, _r, index) => sum + limitOf(index), 0n)) {
    violation = `${total} left the wallet, more than the requests' limits together`;
  }
  return finish({ requests, total, ...(violation === undefined ? {} : { violation }) });
}

/** A readable account of a run, for a failing property's message. */
export function report(scenario: Scenario, outcome: ScenarioOutcome): string {
  const json = (value: unknown) => JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
  return [
    outcome.violation ?? "no violation",
    `scenario: ${json(scenario)}`,
    ...outcome.requests.map((r, i) => `request ${i}: calls ${r.calls.join(", ")}; outflow ${r.outflow}`),
    ...outcome.proofs.map((p) => `proof ${p}`),
    ...outcome.settled.map(
      (s) =>
        `${s.payment.family} payment ${s.payment.value} to ${s.payment.to} (${s.path}): ` +
        (s.outcome.settled ? `settled via ${s.outcome.via}` : `not settled (${s.outcome.reason})`),
    ),
  ].join("\n");
}

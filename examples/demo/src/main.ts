/**
 * The offline demo: everything on loopback or in process, nothing configured, nothing reached beyond this
 * machine. It starts anvil (as Base Sepolia, with our test USDC) and a Solana bank, our facilitator on a loopback
 * URL in PayAI's place, the reference paid API pointed at them, and an agent with a budget; then walks through the
 * hybrid story step by step. The last line is `DEMO_RESULT <json>`, which the demo's test reads.
 */
import { mkdtempSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEvmWallet } from "@tollgate/client/evm";
import { createSvmWallet } from "@tollgate/client/svm";
import { type ServedFetch, serveFetch } from "@tollgate/server";
import { createEvmDirectChain } from "@tollgate/server/evm";
import { formatUsd } from "@tollgate/shared";
import {
  deriveEvmTestPrivateKey,
  deriveSvmTestKeypair,
  type EvmChain,
  evmPayeeAccounts,
  type LocalFacilitator,
  startEvmChain,
  startLocalFacilitator,
  startSolanaBank,
  svmPayeeKeypairs,
} from "@tollgate/testing";
import { createAgent } from "agent";
import { createPaidApi, loadConfig, type OpenedStore, openStore } from "paid-api";
import { privateKeyToAccount } from "viem/accounts";

const started = Date.now();
const out = (line = "") => process.stdout.write(`${line}\n`);
const heading = (n: number, title: string) => out(`\n━━ Step ${n}: ${title}`);
const usd = (atomic: bigint) => formatUsd(atomic);

let evm: EvmChain | undefined;
let facilitator: LocalFacilitator | undefined;
let api: ServedFetch | undefined;
let storeOpening: Promise<OpenedStore> | undefined;
// The embedded store, as the reference server uses wherever a data directory is given. A fresh directory per
// run by default, made before any signal handler so every exit removes it: a fresh anvil mines the same
// transfers with the same hashes, which a kept directory would (rightly) refuse as replays.
const keptDataDir = process.env.TOLLGATE_DATA_DIR || undefined;
const temporaryDataDir = keptDataDir ? undefined : mkdtempSync(join(tmpdir(), "tollgate-demo-"));
const dataDir = keptDataDir ?? join(temporaryDataDir ?? "", "data");
let cleaning: Promise<void> | undefined;

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await api?.close().catch(() => undefined);
    // A store still opening is waited for, so nothing writes the directory after it is removed.
    const store = await storeOpening?.catch(() => undefined);
    await store?.close().catch(() => undefined);
    if (temporaryDataDir) await rm(temporaryDataDir, { recursive: true, force: true }).catch(() => undefined);
    await facilitator?.close().catch(() => undefined);
    await evm?.stop().catch(() => undefined);
  })();
  return cleaning;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    out(`\n${signal === "SIGINT" ? "Interrupted" : "Terminated"}: stopping anvil and the servers…`);
    void cleanup().then(() => process.exit(0));
  });
}

async function main(): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  out("Tollgate offline demo — hybrid x402 payments on a local EVM node and a local Solana bank\n");
  out(`DEMO_DATA_DIR ${dataDir}`);

  const agentEvm = privateKeyToAccount(deriveEvmTestPrivateKey({ label: "demo-agent" }));
  const agentSvm = deriveSvmTestKeypair({ label: "demo-agent" });
  const merchantEvm = evmPayeeAccounts[0].address;
  const directEvm = evmPayeeAccounts[1].address;
  const merchantSvm = svmPayeeKeypairs[0].publicKey.toBase58();

  out("Starting anvil (Base Sepolia, test USDC at the real USDC address)…");
  evm = await startEvmChain({
    payers: [agentEvm.address],
    usdcPerPayer: 1_000_000n,
    ethForPayers: { [agentEvm.address]: 10n ** 18n },
  });
  out("Starting a Solana bank (USDC mint at the devnet address)…");
  const bank = await startSolanaBank({ payers: [agentSvm.publicKey], usdcPerPayer: 1_000_000n });
  out(`DEMO_ANVIL_PID ${evm.anvil.pid}`);
  facilitator = await startLocalFacilitator({ evm, bank });
  out(`Our facilitator stands in for PayAI at ${facilitator.url}`);

  const config = loadConfig({
    TOLLGATE_DATA_DIR: dataDir,
    X402_PAYAI_FACILITATOR_URL: facilitator.url,
    X402_BASE_NETWORK: "base-sepolia",
    X402_SOLANA_NETWORK: "solana-devnet",
    X402_PAYAI_MERCHANT_ADDRESS: merchantEvm,
    X402_BASE_PAYMENT_ADDRESS: directEvm,
    X402_SOLANA_PAYMENT_ADDRESS: merchantSvm,
    X402_DIRECT_CHAINS: "base",
  });
  out("Opening the embedded store (PGlite)…");
  storeOpening = openStore(config);
  const store = await storeOpening;
  out(`The paywall keeps its state in ${store.description}`);
  result.store = store.choice.kind;
  const paidApi = createPaidApi({
    config,
    store: store.store,
    chains: { base: createEvmDirectChain({ publicClient: evm.publicClient }) },
    // Base Sepolia's settlement check comes with its direct-lane chain; the in-process Solana bank has no RPC
    // here, so a lost Solana /settle answer would stay settlement_pending (the paywall requires saying so).
    settlementChecks: { "solana-devnet": false },
  });
  api = await serveFetch({ fetch: paidApi.fetch });
  out(`The reference paid API listens at ${api.url} ($0.01 /v1/search, $0.02 /v1/report)`);

  const policy = {
    maxPerRequest: 100_000n,
    budgets: [{ name: "demo total", window: "total" as const, limit: 120_000n }],
  };
  out(`The agent's policy: at most ${usd(policy.maxPerRequest)} per request, ${usd(120_000n)} in total\n`);
  const evmWallet = createEvmWallet({
    account: agentEvm,
    networks: ["eip155:84532"],
    direct: evm.publicClient,
  });
  const svmWallet = createSvmWallet({
    keypair: agentSvm,
    rpc: { getLatestBlockhash: () => bank.latestBlockhash() },
  });
  const evmAgent = createAgent({ wallets: [evmWallet], policy, log: out });
  const svmAgent = createAgent({
    wallets: [svmWallet],
    policy: { ...policy, allow: { networks: ["solana:*"] } },
    log: out,
  });

  // 1. The facilitator lane, EVM then Solana.
  heading(1, "a payment through the facilitator lane, on EVM then on Solana");
  const evmBefore = await evm.balanceOf(agentEvm.address);
  out(`Agent (EVM) calls ${api.url}/v1/search`);
  const first = await evmAgent.call(`${api.url}/v1/search?q=x402`);
  const evmAfter = await evm.balanceOf(agentEvm.address);
  out(
    `  → ${first.ok ? first.status : first.code}; agent USDC on Base Sepolia ${usd(evmBefore)} → ${usd(evmAfter)}`,
  );
  const svmBefore = await bank.tokenBalance(agentSvm.publicKey);
  out(`Agent (Solana) calls ${api.url}/v1/search`);
  const second = await svmAgent.call(`${api.url}/v1/search?q=solana`);
  const svmAfter = await bank.tokenBalance(agentSvm.publicKey);
  out(
    `  → ${second.ok ? second.status : second.code}; agent USDC on Solana ${usd(svmBefore)} → ${usd(svmAfter)}`,
  );
  result.step1 = {
    evm: {
      status: first.ok ? first.status : first.code,
      lane: first.ok ? first.receipt?.lane : undefined,
      spent: (evmBefore - evmAfter).toString(),
    },
    svm: {
      status: second.ok ? second.status : second.code,
      lane: second.ok ? second.receipt?.lane : undefined,
      spent: (svmBefore - svmAfter).toString(),
    },
  };

  // 2. The facilitator goes down; the agent falls back to a direct transfer.
  heading(2, "the facilitator goes down; the agent falls back to a direct transfer");
  await facilitator.close();
  out("PayAI's stand-in is stopped: connections to it are refused.");
  const blockBefore = await evm.publicClient.getBlockNumber();
  const third = await evmAgent.call(`${api.url}/v1/search?q=fallback`);
  const evmAfterDirect = await evm.balanceOf(agentEvm.address);
  const token = third.ok ? third.receipt : undefined;
  out(
    `  → ${third.ok ? third.status : third.code} via ${token?.lane ?? "-"}; transfer ${token?.transaction ?? "-"}`,
  );
  out(
    `  agent USDC ${usd(evmAfter)} → ${usd(evmAfterDirect)}: the $0.10 minimum left the wallet; $0.09 came back as a prepaid token`,
  );
  result.step2 = {
    status: third.ok ? third.status : third.code,
    lane: token?.lane,
    spent: (evmAfter - evmAfterDirect).toString(),
    newBlocks: ((await evm.publicClient.getBlockNumber()) - blockBefore).toString(),
  };

  // 3. The token pays the next calls, with no chain transaction.
  heading(3, "the prepaid token pays the next calls, with no chain transaction");
  const blockBeforeTokens = await evm.publicClient.getBlockNumber();
  const tokenCalls: string[] = [];
  for (let i = 0; i < 4; i++) {
    const call = await evmAgent.call(`${api.url}/v1/report`);
    const lane = call.ok ? (call.receipt?.lane ?? "-") : call.code;
    tokenCalls.push(lane);
    out(`  /v1/report → ${call.ok ? call.status : call.code} via ${lane}`);
  }
  const blocksDuringTokens = (await evm.publicClient.getBlockNumber()) - blockBeforeTokens;
  const evmAfterTokens = await evm.balanceOf(agentEvm.address);
  out(`  new blocks: ${blocksDuringTokens}; agent USDC unchanged at ${usd(evmAfterTokens)}`);
  result.step3 = {
    lanes: tokenCalls,
    newBlocks: blocksDuringTokens.toString(),
    spent: (evmAfterDirect - evmAfterTokens).toString(),
  };

  // 4. The budget stops the agent.
  heading(4, "a call refused by the agent's budget");
  const refused = await evmAgent.call(`${api.url}/v1/report`);
  out(
    refused.ok
      ? `  → unexpectedly paid (${refused.status})`
      : `  → refused: ${refused.code} (${refused.reason})`,
  );
  result.step4 = refused.ok ? { status: refused.status } : { code: refused.code };

  // 5. Every payment, from the server's side.
  heading(5, "every payment, as the server recorded it");
  const rows = paidApi.payments();
  out("| # | route | lane | network | amount | transaction |");
  out("|---|---|---|---|---|---|");
  rows.forEach((p, i) => {
    out(
      `| ${i + 1} | ${p.route} | ${p.lane} | ${p.network || "-"} | ${usd(p.amount)} | ${p.transaction ? `${p.transaction.slice(0, 18)}…` : "-"} |`,
    );
  });
  result.step5 = rows.map((p) => ({
    lane: p.lane,
    network: p.network,
    amount: p.amount.toString(),
    transaction: p.transaction,
  }));
  out(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
  return result;
}

main()
  .then(async (result) => {
    await cleanup();
    out(`DEMO_RESULT ${JSON.stringify(result)}`);
    process.exit(0);
  })
  .catch(async (error: unknown) => {
    process.stderr.write(
      `The demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    await cleanup();
    process.exit(1);
  });

// One agent of a fleet, in its own process, for the shared-budget test: a paying fetch whose ledger and budgets live
// in the shared store named on the command line. It says "ready", waits for "go" on stdin (so every agent starts
// together), fires its requests at once, and prints one JSON line: how many were paid, refused by the budget, or
// failed otherwise.
import { isTollgateError } from "@tollgate/shared";
import { privateKeyToAccount } from "viem/accounts";
import { createEvmWallet } from "../src/evm/evmWallet.js";
import type { PaymentLedger } from "../src/ledger/ledger.js";
import { createPayingFetch } from "../src/payingFetch.js";
import type { BudgetStore } from "../src/policy/budgetStore.js";
import { createPostgresBudgetStore } from "../src/postgres/createPostgresBudgetStore.js";
import { createPostgresLedger } from "../src/postgres/createPostgresLedger.js";
import { createRedisBudgetStore } from "../src/redis/createRedisBudgetStore.js";
import { createRedisLedger } from "../src/redis/createRedisLedger.js";

type Options = Readonly<{
  store: "redis" | "postgres";
  /** Redis URL or PostgreSQL connection string. */
  connection: string;
  /** Key prefix (Redis) or schema (PostgreSQL) of this test run. */
  scope: string;
  url: string;
  agent: number;
  requests: number;
  /** Total budget in atomic units. */
  limit: string;
  /** Sent with every request, so all are one logical request (across agents too). */
  idempotencyKey?: string;
}>;

const options = JSON.parse(process.argv[2] as string) as Options;
const key = process.env.TOLLGATE_TEST_PAYER_KEY as `0x${string}`;

let ledger: PaymentLedger & { close(): Promise<void> };
let budgetStore: BudgetStore & { close(): Promise<void> };
if (options.store === "redis") {
  ledger = await createRedisLedger({ redis: options.connection, prefix: options.scope });
  budgetStore = await createRedisBudgetStore({ redis: options.connection, prefix: options.scope });
} else {
  const pool = { connectionString: options.connection, max: 4 };
  ledger = await createPostgresLedger({ pool, schema: options.scope });
  budgetStore = await createPostgresBudgetStore({ pool, schema: options.scope });
}
let signed = 0;
let reused = 0;
const payingFetch = createPayingFetch({
  wallets: [createEvmWallet({ account: privateKeyToAccount(key) })],
  // Two budgets, so each reservation spans two buckets: a day for the fleet, and a total per origin.
  policy: {
    budgets: [
      { limit: BigInt(options.limit), window: "day" },
      { limit: BigInt(options.limit), window: "total", perOrigin: true },
    ],
  },
  ledger,
  budgetStore,
  onEvent: (event) => {
    if (event.type === "payment.signed") signed += 1;
    if (event.type === "payment.reused") reused += 1;
  },
});

process.stdout.write("ready\n");
await new Promise<void>((resolve) => {
  process.stdin.on("data", (chunk: Buffer) => {
    if (chunk.toString("utf8").includes("go")) resolve();
  });
});

const outcomes = await Promise.all(
  Array.from({ length: options.requests }, async (_, n) => {
    try {
      const response =
        options.idempotencyKey === undefined
          ? await payingFetch(`${options.url}?agent=${options.agent}&n=${n}`)
          : await payingFetch(options.url, { headers: { "Idempotency-Key": options.idempotencyKey } });
      await response.text();
      return response.status === 200 ? "paid" : `status_${response.status}`;
    } catch (error) {
      if (isTollgateError(error, "CLIENT__BUDGET_EXHAUSTED")) return "refused";
      return isTollgateError(error) ? error.code : String(error);
    }
  }),
);
const count = (what: string) => outcomes.filter((o) => o === what).length;
process.stdout.write(
  `${JSON.stringify({ paid: count("paid"), refused: count("refused"), signed, reused, other: outcomes.filter((o) => o !== "paid" && o !== "refused") })}\n`,
);
await ledger.close();
await budgetStore.close();
process.exit(0);

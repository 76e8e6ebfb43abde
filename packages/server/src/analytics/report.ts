import { DDSketch } from "@datadog/sketches-js";
import type { StoreRecord } from "../store/store.js";

/** The funnel's steps, in order (EVENTS_CONTRACT). */
export const funnelSteps = [
  "payment_required",
  "proof_received",
  "proof_checked",
  "verified",
  "settled",
  "paid",
] as const;

/** Relative accuracy of the latency percentiles (DDSketch): a reported pXX is within 1 % of the true value. */
export const latencyRelativeAccuracy = 0.01;

/** Figures of one slice (a lane, a route, a network, a facilitator, or all). */
export type ReportFigures = Readonly<{
  /** Proofs received. */
  attempts: number;
  /** Served (charged and delivered). */
  successes: number;
  /** successes / attempts, 0 without attempts. */
  successRate: number;
  refunds: number;
  pending: number;
  /** Refusals by reason. */
  failures: Readonly<Record<string, number>>;
  /** Proof received → settled, in milliseconds (DDSketch, ±1 %); `undefined` without a settlement. */
  latencyMs: Readonly<{ p50: number; p95: number; p99: number }> | undefined;
  /** Atomic units served, by network (`""` for the token lane). */
  volume: Readonly<Record<string, bigint>>;
  uniquePayers: number;
}>;

/** What `report` returns: the figures as data, and the same as Markdown. */
export type Report = Readonly<{
  since: number;
  until: number;
  total: ReportFigures;
  byLane: Readonly<Record<string, ReportFigures>>;
  byRoute: Readonly<Record<string, ReportFigures>>;
  byNetwork: Readonly<Record<string, ReportFigures>>;
  byFacilitator: Readonly<Record<string, ReportFigures>>;
  /** Each step's count and its conversion from the step before (the first step's is 1). */
  funnel: readonly Readonly<{ step: (typeof funnelSteps)[number]; count: number; conversion: number }>[];
  /** Served requests by facilitator (the facilitator lane's split). */
  facilitatorSplit: Readonly<Record<string, number>>;
  failovers: number;
  /** Refusal reasons, most frequent first (at most 10). */
  topFailureReasons: readonly Readonly<{ reason: string; count: number }>[];
  pendingSettlements: number;
  markdown: string;
}>;

/** Parameters of `report`. */
export type ReportParameters = Readonly<{
  records: Iterable<StoreRecord>;
  /** Unix milliseconds, inclusive. @default 0 */
  since?: number;
  /** Unix milliseconds, exclusive. @default Infinity */
  until?: number;
}>;

type Slice = {
  attempts: number;
  successes: number;
  refunds: number;
  pending: number;
  failures: Map<string, number>;
  sketch: DDSketch;
  volume: Map<string, bigint>;
  payers: Set<string>;
};

const newSlice = (): Slice => ({
  attempts: 0,
  successes: 0,
  refunds: 0,
  pending: 0,
  failures: new Map(),
  sketch: new DDSketch({ relativeAccuracy: latencyRelativeAccuracy }),
  volume: new Map(),
  payers: new Set(),
});

function add(slice: Slice, record: StoreRecord): void {
  switch (record.type) {
    case "proof_received":
      slice.attempts++;
      return;
    case "paid":
      slice.successes++;
      if (record.amount !== undefined) {
        const network = record.network ?? "";
        slice.volume.set(network, (slice.volume.get(network) ?? 0n) + record.amount);
      }
      if (record.payer !== undefined) slice.payers.add(record.payer.toLowerCase());
      return;
    case "refused":
      slice.failures.set(record.reason ?? "other", (slice.failures.get(record.reason ?? "other") ?? 0) + 1);
      return;
    case "refunded":
      slice.refunds++;
      return;
    case "settlement_pending":
      slice.pending++;
      return;
    case "settled":
      if (record.durationMs !== undefined) slice.sketch.accept(Math.max(0, record.durationMs));
      return;
  }
}

function figures(slice: Slice): ReportFigures {
  const quantile = (q: number) => slice.sketch.getValueAtQuantile(q);
  return {
    attempts: slice.attempts,
    successes: slice.successes,
    successRate: slice.attempts === 0 ? 0 : slice.successes / slice.attempts,
    refunds: slice.refunds,
    pending: slice.pending,
    failures: Object.fromEntries(slice.failures),
    latencyMs:
      slice.sketch.count === 0 ? undefined : { p50: quantile(0.5), p95: quantile(0.95), p99: quantile(0.99) },
    volume: Object.fromEntries(slice.volume),
    uniquePayers: slice.payers.size,
  };
}

/**
 * The seed's operator report from recorded events (never estimated): success rates, latency percentiles from a
 * mergeable DDSketch (±1 %), volume, the facilitator split, the funnel with each step's conversion, the top
 * refusal reasons and pending settlements; per lane, route, network and facilitator; as data and as Markdown.
 *
 * @example
 * ```ts
 * import { createMemoryStore, report } from "@tollgate/server";
 * const store = createMemoryStore();
 * console.log(report({ records: store.records(), since: Date.now() - 86_400_000 }).markdown);
 * ```
 */
export function report(parameters: ReportParameters): Report {
  const { records, since = 0, until = Number.POSITIVE_INFINITY } = parameters;
  const total = newSlice();
  const groups = {
    lane: new Map<string, Slice>(),
    route: new Map(),
    network: new Map(),
    facilitator: new Map(),
  };
  const steps = new Map<string, number>();
  let failovers = 0;
  for (const record of records) {
    if (record.at < since || record.at >= until) continue;
    steps.set(record.type, (steps.get(record.type) ?? 0) + 1);
    if (record.type === "failed_over") failovers++;
    add(total, record);
    for (const [key, map] of Object.entries(groups) as [keyof typeof groups, Map<string, Slice>][]) {
      const value = record[key];
      if (value === undefined || (record.type === "failed_over" && key === "facilitator")) continue;
      let slice = map.get(value);
      if (slice === undefined) {
        slice = newSlice();
        map.set(value, slice);
      }
      add(slice, record);
    }
  }
  const byKey = (map: Map<string, Slice>) =>
    Object.fromEntries([...map].sort(([a], [b]) => a.localeCompare(b)).map(([k, s]) => [k, figures(s)]));
  const funnel = funnelSteps.map((step, index) => {
    const count = steps.get(step) ?? 0;
    const before = index === 0 ? count : (steps.get(funnelSteps[index - 1] as string) ?? 0);
    return { step, count, conversion: index === 0 ? 1 : before === 0 ? 0 : count / before };
  });
  const facilitatorSplit = Object.fromEntries(
    [...groups.facilitator].map(([name, slice]) => [name, slice.successes] as const),
  );
  const topFailureReasons = [...total.failures]
    .map(([reason, count]) => ({ reason, count }))
    .sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason))
    .slice(0, 10);
  const data = {
    since,
    until,
    total: figures(total),
    byLane: byKey(groups.lane),
    byRoute: byKey(groups.route),
    byNetwork: byKey(groups.network),
    byFacilitator: byKey(groups.facilitator),
    funnel,
    facilitatorSplit,
    failovers,
    topFailureReasons,
    pendingSettlements: total.pending,
  };
  return { ...data, markdown: markdown(data) };
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)} %`;
const ms = (value: number | undefined) => (value === undefined ? "–" : `${value.toFixed(1)} ms`);

/** An instant in ISO 8601, or `outOfRange` for a bound no `Date` holds (`Infinity`, past ±8.64e15 ms). */
function instantOf(ms: number, outOfRange: string): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? outOfRange : date.toISOString();
}

function markdown(data: Omit<Report, "markdown">): string {
  const lines: string[] = ["# Tollgate payments report", ""];
  lines.push(`From ${instantOf(data.since, "the start")} to ${instantOf(data.until, "now")}.`, "");
  lines.push("## By lane", "", "| lane | attempts | served | success | refunds | p50 | p95 | p99 | volume |");
  lines.push("|---|---|---|---|---|---|---|---|---|");
  for (const [lane, f] of Object.entries(data.byLane)) {
    const volume = Object.entries(f.volume)
      .map(([network, amount]) => `${amount} ${network || "token"}`)
      .join(", ");
    lines.push(
      `| ${lane} | ${f.attempts} | ${f.successes} | ${percent(f.successRate)} | ${f.refunds} | ` +
        `${ms(f.latencyMs?.p50)} | ${ms(f.latencyMs?.p95)} | ${ms(f.latencyMs?.p99)} | ${volume} |`,
    );
  }
  lines.push("", "## Funnel", "", "| step | count | conversion |", "|---|---|---|");
  for (const step of data.funnel)
    lines.push(`| ${step.step} | ${step.count} | ${percent(step.conversion)} |`);
  lines.push("", "## Facilitator split", "", "| facilitator | served |", "|---|---|");
  for (const [name, count] of Object.entries(data.facilitatorSplit)) lines.push(`| ${name} | ${count} |`);
  lines.push("", `Failovers: ${data.failovers}. Pending settlements: ${data.pendingSettlements}.`);
  lines.push("", "## Top failure reasons", "", "| reason | count |", "|---|---|");
  for (const { reason, count } of data.topFailureReasons) lines.push(`| ${reason} | ${count} |`);
  return `${lines.join("\n")}\n`;
}

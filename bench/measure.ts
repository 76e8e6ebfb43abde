/** CPU and wall time of a sequential run of `count` calls, per call. */
export type Measurement = Readonly<{
  cpuMsPerCall: number;
  wallMsMedian: number;
  wallMsP95: number;
  count: number;
}>;

/**
 * Runs `call(i)` for i in 0..count-1 one after another and reports the process CPU (user + system) per call and
 * the median and p95 wall latency. CPU of child processes (anvil) is not counted: the figure is our own cost.
 */
export async function measure(count: number, call: (i: number) => Promise<unknown>): Promise<Measurement> {
  const walls: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await call(i);
    walls.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpuStart);
  walls.sort((a, b) => a - b);
  return {
    cpuMsPerCall: (cpu.user + cpu.system) / 1000 / count,
    wallMsMedian: walls[Math.floor(count / 2)] ?? 0,
    wallMsP95: walls[Math.floor(count * 0.95)] ?? 0,
    count,
  };
}

/** Formats one row of a results table. */
export function row(name: string, m: Measurement): string {
  return `| ${name} | ${m.cpuMsPerCall.toFixed(3)} | ${m.wallMsMedian.toFixed(2)} | ${m.wallMsP95.toFixed(2)} | ${m.count} |`;
}

/** The header of a results table. */
export const tableHeader = "| run | CPU ms/call | wall median ms | wall p95 ms | n |\n|---|---|---|---|---|";

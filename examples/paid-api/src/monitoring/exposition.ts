// Reading the Prometheus text format back, for the tests of /metrics and of the dashboard and rules.

/** One sample of an exposition: a series and its value. */
export type Sample = Readonly<{ name: string; labels: Readonly<Record<string, string>>; value: number }>;

/** What an exposition holds: each metric family's type (`# TYPE`) and every sample line. */
export type Exposition = Readonly<{ types: ReadonlyMap<string, string>; samples: readonly Sample[] }>;

const sampleLine = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const labelPair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/**
 * Parses Prometheus text exposition (version 0.0.4, as prom-client writes it): `# TYPE` lines and samples.
 * @throws `Error` on a line that is neither a comment nor a sample, so a malformed exposition fails its test.
 */
export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      const type = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (type?.[1] !== undefined && type[2] !== undefined) types.set(type[1], type[2]);
      continue;
    }
    const match = sampleLine.exec(line);
    if (match?.[1] === undefined || match[3] === undefined)
      throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(labelPair)) {
      labels[pair[1] ?? ""] = (pair[2] ?? "").replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return { types, samples };
}

/**
 * Every series name an exposition offers to PromQL: each family's name, and for a histogram its `_bucket`,
 * `_sum` and `_count` series (a summary's `_sum` and `_count`), whether or not a sample was written yet.
 */
export function exposedSeriesNames(exposition: Exposition): ReadonlySet<string> {
  const names = new Set<string>(exposition.samples.map((s) => s.name));
  for (const [name, type] of exposition.types) {
    if (type === "histogram")
      for (const suffix of ["_bucket", "_sum", "_count"]) names.add(`${name}${suffix}`);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(`${name}${suffix}`);
    else names.add(name);
  }
  return names;
}

/** The sum of the samples of `name` whose labels include `labels` (0 when none match). */
export function sumOf(
  exposition: Exposition,
  name: string,
  labels: Readonly<Record<string, string>> = {},
): number {
  return exposition.samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);
}

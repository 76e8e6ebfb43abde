// The metric names a PromQL expression selects, for the check that the dashboard and the alerting rules only
// name metrics that /metrics exposes. A small tokenizer, not a parser: it knows PromQL's lexical shapes.

/** Words of PromQL that look like identifiers but name no metric (binary operators, modifiers, literals). */
const keywords = new Set([
  "and",
  "or",
  "unless",
  "atan2",
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "offset",
  "inf",
  "nan",
]);

/** Clauses whose parenthesised list holds label names, never metrics. */
const labelListClause = /\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)/g;

/**
 * The metric names an expression selects: every identifier that is not a function or an aggregation (followed
 * by `(`), not a keyword, not a label name (inside `{…}` or a `by` / `without` / `on` / `ignoring` /
 * `group_left` / `group_right` list), not inside a string (a label value), a range or subquery `[…]`, or a
 * Grafana variable (`$__rate_interval`, `${datasource}`). Numbers and durations are not identifiers.
 * A selector only by `{__name__="…"}` is not seen (none is used here).
 *
 * @example
 * ```ts
 * promqlMetricNames('sum by (le) (rate(tollgate_payment_duration_seconds_bucket{lane="token"}[5m]))');
 * // ["tollgate_payment_duration_seconds_bucket"]
 * ```
 */
export function promqlMetricNames(expression: string): string[] {
  const stripped = withoutLiterals(expression)
    // Label matchers and ranges / subqueries (their contents, strings gone, hold no braces or brackets).
    .replace(/\{[^{}]*\}/g, " ")
    .replace(/\[[^[\]]*\]/g, " ")
    .replace(labelListClause, " ");
  const names = new Set<string>();
  // An identifier not preceded by a digit or a dot (so 1e3, 0x1F and 5m stay numbers and durations).
  for (const match of stripped.matchAll(/(?<![0-9A-Za-z_.:])[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = match[0];
    const after = stripped.slice((match.index ?? 0) + word.length);
    if (/^\s*\(/.test(after)) continue;
    if (keywords.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names];
}

/**
 * The label names an expression uses: those its selectors match on (`{stage="served"}`) and those of its
 * `by` / `without` / `on` / `ignoring` / `group_left` / `group_right` lists.
 *
 * @example
 * ```ts
 * promqlLabelNames('sum by (lane) (rate(tollgate_funnel_total{stage="served"}[5m]))'); // ["stage", "lane"]
 * ```
 */
export function promqlLabelNames(expression: string): string[] {
  const stripped = withoutLiterals(expression);
  const names = new Set<string>();
  for (const matchers of stripped.matchAll(/\{([^{}]*)\}/g)) {
    for (const label of (matchers[1] ?? "").matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      names.add(label[1] ?? "");
    }
  }
  for (const list of stripped.matchAll(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/g,
  )) {
    for (const label of (list[1] ?? "").split(",")) if (label.trim() !== "") names.add(label.trim());
  }
  return [...names];
}

/** The expression without strings (label values), comments and Grafana variables. */
function withoutLiterals(expression: string): string {
  return (
    expression
      // Strings: double, single and back quotes, with escapes (first: a label value may hold a #).
      .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, " ")
      // Comments run to the end of the line.
      .replace(/#[^\n]*/g, " ")
      // Grafana variables: ${name}, ${name:format}, $name, $__name.
      .replace(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/g, " ")
  );
}

import { describe, expect, it } from "vitest";
import { promqlLabelNames, promqlMetricNames } from "./promqlMetricNames.js";

describe("promqlMetricNames", () => {
  it.each([
    ["a bare selector", "tollgate_store_up == 0", ["tollgate_store_up"]],
    [
      "label matchers",
      'tollgate_funnel_total{stage="served", lane!="none", route=~"GET .*"}',
      ["tollgate_funnel_total"],
    ],
    ["a label value that looks like a metric", 'up{job="tollgate_store_up"}', ["up"]],
    ["escaped quotes in a value", 'x{a="b\\"c {d} [e]"} + y', ["x", "y"]],
    ["single and back quotes", "x{a='tollgate_a'} or y{b=`tollgate_b`}", ["x", "y"]],
    ["functions and a range", "rate(tollgate_refunds_total[5m])", ["tollgate_refunds_total"]],
    ["a subquery and offset", "max_over_time(rate(a_total[5m])[1h:1m] offset 1d)", ["a_total"]],
    ["an @ modifier", "a_total @ end()", ["a_total"]],
    [
      "aggregation by, before and after",
      "sum by (lane, le) (rate(h_bucket[5m])) + sum(rate(c_total[5m])) without (instance, route)",
      ["h_bucket", "c_total"],
    ],
    ["a space before the parenthesis", "sum by(le)(rate (h_bucket [5m]))", ["h_bucket"]],
    [
      "vector matching",
      "a / on (instance) group_left (facilitator) b + c / ignoring (lane) group_right d",
      ["a", "b", "c", "d"],
    ],
    ["bool and set operators", "a > bool 0 and b unless c or d", ["a", "b", "c", "d"]],
    ["numbers", "a * 1e6 / 0x1F + 0.95 - 1e-3 + Inf + NaN", ["a"]],
    [
      "or vector(0)",
      "(sum(rate(a_total[5m])) or vector(0)) / sum(rate(b_total[5m]))",
      ["a_total", "b_total"],
    ],
    ["histogram_quantile", "histogram_quantile(0.95, sum by (le) (rate(h_bucket[5m])))", ["h_bucket"]],
    ["absent", "absent(tollgate_store_up)", ["tollgate_store_up"]],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, in a PromQL string
    ["Grafana variables", 'rate(a_total{instance=~"$instance"}[$__rate_interval]) * ${factor}', ["a_total"]],
    ["a recording rule name with colons", "job:tollgate_served:rate5m > 0", ["job:tollgate_served:rate5m"]],
    ["a comment", "a # b_total\n+ c", ["a", "c"]],
    ["a # in a label value is no comment", 'x{a="#"} + y', ["x", "y"]],
    ["label_replace's label names are strings", 'label_replace(a, "dst", "$1", "src", "(.*)")', ["a"]],
    ["a repeated metric once", "a + a", ["a"]],
  ])("%s", (_, expression, expected) => {
    expect(promqlMetricNames(expression)).toEqual(expected);
  });
});

describe("promqlLabelNames", () => {
  it.each([
    ["matchers of every operator", 'a{x="1", y!="2", z=~"3", w!~"4"}', ["x", "y", "z", "w"]],
    ["a value that looks like a matcher", 'a{x="y=1"}', ["x"]],
    ["by and without", "sum by (lane, le) (a) + sum without (instance) (b)", ["lane", "le", "instance"]],
    ["vector matching", "a / on (job) group_left (facilitator) b", ["job", "facilitator"]],
    ["none", "rate(a_total[5m])", []],
    ["functions are no label lists", "histogram_quantile(0.95, rate(a_bucket[5m]))", []],
  ])("%s", (_, expression, expected) => {
    expect(promqlLabelNames(expression)).toEqual(expected);
  });
});

"""Recomputes every statistic of an ab-readout readout.json with scipy, from
the counts it reports, and fails on any difference.

usage: ab_stats.py READOUT_JSON      prints the number of comparisons checked
"""

import json
import math
import sys

from scipy import stats

readout = json.load(open(sys.argv[1]))
alpha = readout["alpha"]
z = stats.norm.ppf(1 - alpha / 2)
control = readout["control"]
checked = 0


def close(a, b, what):
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), f"{what}: fletch {a}, scipy {b}"


def check(breakdown, where):
    global checked
    for variant, rate in breakdown["rates"].items():
        ci = stats.binomtest(rate["converted"], rate["units"]).proportion_ci(1 - alpha, method="wilson")
        close(rate["ci"][0], ci.low, f"{where} {variant} wilson low")
        close(rate["ci"][1], ci.high, f"{where} {variant} wilson high")
    c = breakdown["rates"][control]
    for cmp in breakdown["comparisons"]:
        t = breakdown["rates"][cmp["variant"]]
        pc, pt = c["converted"] / c["units"], t["converted"] / t["units"]
        pooled = (c["converted"] + t["converted"]) / (c["units"] + t["units"])
        se0 = math.sqrt(pooled * (1 - pooled) * (1 / c["units"] + 1 / t["units"]))
        zs = (pt - pc) / se0 if se0 > 0 else 0.0
        close(cmp["z"], zs, f"{where} z")
        close(cmp["p_value"], 2 * stats.norm.sf(abs(zs)), f"{where} p")
        se = math.sqrt(pc * (1 - pc) / c["units"] + pt * (1 - pt) / t["units"])
        close(cmp["diff_ci"][0], pt - pc - z * se, f"{where} diff low")
        close(cmp["diff_ci"][1], pt - pc + z * se, f"{where} diff high")
        if c["converted"] > 0 and t["converted"] > 0:
            log_se = math.sqrt(1 / t["converted"] - 1 / t["units"] + 1 / c["converted"] - 1 / c["units"])
            close(cmp["ratio_ci"][0], math.exp(math.log(pt / pc) - z * log_se), f"{where} ratio low")
            close(cmp["ratio_ci"][1], math.exp(math.log(pt / pc) + z * log_se), f"{where} ratio high")
        checked += 1


for metric in readout["metrics"]:
    check(metric, metric["name"])
    for column in metric["segments"]:
        for value in column["values"]:
            check(value, f"{metric['name']} {column['column']}={value['value']}")

variants = readout["variants"]
observed = [readout["units"][v] for v in variants]
expected = [readout["sample_ratio"]["expected"][v] * sum(observed) for v in variants]
chi2, p = stats.chisquare(observed, expected)
close(readout["sample_ratio"]["chi2"], chi2, "sample ratio chi-square")
close(readout["sample_ratio"]["p_value"], p, "sample ratio p")

power = readout.get("power")
if power and power["needed_per_variant"] is not None:
    p1 = power["base_rate"]
    p2 = p1 + power["minimum_detectable_effect"]
    mean = (p1 + p2) / 2
    n = (z * math.sqrt(2 * mean * (1 - mean)) + stats.norm.ppf(power["power"]) * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))) ** 2 / (p2 - p1) ** 2
    assert power["needed_per_variant"] == math.ceil(n), f"sample size: fletch {power['needed_per_variant']}, scipy {n}"

print(checked)

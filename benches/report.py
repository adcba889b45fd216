"""Renders a results file of benches/harness.py into docs/performance.md (the
part between the generated markers of its profile) and docs/performance.png
(docs/performance-scaling.png for the scaling profile).

Usage: report.py benches/results/<file>.json
"""

import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENGINES = ["fletch-embedded", "fletch-cluster", "pyspark", "duckdb"]
PEERS = {"pyspark": "pyspark_over_fletch", "duckdb": "duckdb_over_fletch"}


def _engines(r):
    """The engines a result measured, in ENGINES order (DuckDB runs lookalike-prepare only)."""
    return [e for e in ENGINES if e in r["engines"]]


def _runs(report):
    """A line naming each job's run when the results come from several runs."""
    runs = {}
    for r in report["results"]:
        runs.setdefault((r.get("date", report["date"]), r.get("fletch", report["versions"]["fletch"])), set()).add(r["job"])
    if len(runs) < 2:
        return []
    return ["", "The jobs were measured in separate runs (ratios are taken within a run): "
            + "; ".join(f"{', '.join(sorted(jobs))} on {date} with fletch {rev}" for (date, rev), jobs in sorted(runs.items())) + "."]


def table(report):
    lines = [
        f"Results file `benches/results/{os.path.basename(report['path'])}` ({report['date']}, profile `{report['profile']}`, "
        f"median of {report['reps']} runs unless the job says otherwise, min–max in brackets). Machine: {report['machine']['cores']} cores "
        f"({report['machine']['cpu']}), {report['machine']['memory_gib']} GiB. Versions: "
        + ", ".join(f"{k} {v}" for k, v in report["versions"].items()) + ".",
        *_runs(report),
        *_limits(report),
        "",
        "| job | scale | engine | wall s | CPU s | peak RSS MB | peer / fletch embedded | cluster / embedded |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        for e in _engines(r):
            m = r["engines"][e]
            w, c, rss = m["wall_s"], m["cpu_s"], m["peak_rss_mb"]
            ratio = f"{r[PEERS[e]]}×" if PEERS.get(e) in r else ""
            cluster = f"{r['cluster_over_embedded']}×" if e == "fletch-cluster" and "cluster_over_embedded" in r else ""
            lines.append(f"| {_job(report, r)} | {r['scale']} | {e} | {w['median']} [{w['min']}–{w['max']}] | {c['median']} | "
                         f"{rss['median']} | {ratio} | {cluster} |")
    for job in sorted({r["job"] for r in report["results"]}):
        rows = [r for r in report["results"] if r["job"] == job and r["engines"]["fletch-embedded"]["runs"][0]["stages_s"]]
        if not rows:
            continue
        names = _stages(rows)
        lines += ["", f"Stages of {job} (median run, seconds):", "", "| scale | engine | " + " | ".join(names) + " |",
                  "|---|---|" + "---|" * len(names)]
        for r in rows:
            for e in _engines(r):
                runs = sorted(r["engines"][e]["runs"], key=lambda x: x["wall_s"])
                st = runs[len(runs) // 2]["stages_s"]
                lines.append(f"| {r['scale']} | {e} | " + " | ".join(_fmt(st.get(s)) for s in names) + " |")
    clusterings = [r for r in report["results"] if "clusterings" in r]
    if clusterings:
        lines += ["", "Clusterings of taar-similarity, fletch against PySpark on the same clients (ids differ; agreement by adjusted Rand index): "
                  + "; ".join(f"scale {r['scale']}: {r['clusterings']['clusters'][0]} and {r['clusterings']['clusters'][1]} clusters, "
                              f"ARI {r['clusterings']['adjusted_rand_index']}" for r in clusterings) + "."]
    lines += ["", "Outputs compared, fletch embedded against the cluster and the peers (tables row by row, JSON exactly unless noted): "
              + "; ".join(f"{r['job']} {r['scale']}: {', '.join(r['outputs_agree'])}" for r in report["results"] if r["outputs_agree"]) + "."]
    return "\n".join(lines)


def _limits(report):
    """The memory budget the runs had, when a run set one."""
    limits = sorted({r["memory_limit"] for r in report["results"] if "memory_limit" in r})
    return ["", f"fletch's memory limit (`--memory-limit`, every process): {', '.join(limits)}."] if limits else []


def _job(report, r):
    """The job's name, with its number of runs where a separate invocation ran it other times than the header says."""
    reps = r.get("reps", report["reps"])
    return r["job"] if reps == report["reps"] else f"{r['job']} ({reps} run{'s' if reps > 1 else ''})"


def _stages(results):
    names = []
    for r in results:
        for e in _engines(r):
            for run in r["engines"][e]["runs"]:
                names += [s for s in run["stages_s"] if s not in names and s != "total"]
    return names


def _fmt(v):
    return "–" if v is None else f"{v:.1f}"


def chart(report, path):
    """Bars: every job at its largest scale; below, one scaling curve per job."""
    results = report["results"]
    jobs = sorted({r["job"] for r in results})
    fig = plt.figure(figsize=(12, 7))
    grid = fig.add_gridspec(2, len(jobs))
    bars = fig.add_subplot(grid[0, :])
    largest = [max((r for r in results if r["job"] == job), key=lambda r: r["scale"]) for job in jobs]
    width = 0.8 / len(ENGINES)
    for i, e in enumerate(ENGINES):
        xs = [x + (i - (len(ENGINES) - 1) / 2) * width for x, r in enumerate(largest) if e in r["engines"]]
        bars.bar(xs, [r["engines"][e]["wall_s"]["median"] for r in largest if e in r["engines"]], width, label=e)
    bars.set_xticks(range(len(largest)), [f"{r['job']}\nscale {r['scale']}" for r in largest], fontsize=8)
    bars.set_ylabel("wall time, s (median)")
    bars.set_title("Time per job and engine at the largest scale")
    bars.legend(fontsize=8)
    for j, job in enumerate(jobs):
        curve = fig.add_subplot(grid[1, j])
        rows = sorted((r for r in results if r["job"] == job), key=lambda r: r["scale"])
        for e in ENGINES:
            measured = [r for r in rows if e in r["engines"]]
            if measured:
                curve.plot([r["scale"] for r in measured], [r["engines"][e]["wall_s"]["median"] for r in measured], marker="o", label=e)
        curve.set_xscale("log")
        curve.set_yscale("log")
        curve.minorticks_off()
        curve.set_xticks([r["scale"] for r in rows], [str(r["scale"]) for r in rows])
        curve.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        curve.set_title(job, fontsize=8)
        curve.set_xlabel("scale", fontsize=8)
        curve.tick_params(labelsize=7)
        if j == 0:
            curve.set_ylabel("wall time, s")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def scaling_chart(report, path):
    """Wall time and peak memory against the scale, one line per engine, with
    the line of linear growth from the smallest scale."""
    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(10, 4))
    for job in sorted({r["job"] for r in report["results"]}):
        rows = sorted((r for r in report["results"] if r["job"] == job), key=lambda r: r["scale"])
        scales = [r["scale"] for r in rows]
        for e in _engines(rows[0]):
            measured = [r for r in rows if e in r["engines"]]
            xs = [r["scale"] for r in measured]
            times = [r["engines"][e]["wall_s"]["median"] for r in measured]
            line = time_ax.plot(xs, times, marker="o", label=f"{job}, {e}")[0]
            time_ax.plot(xs, [times[0] * x / xs[0] for x in xs], ls=":", color=line.get_color())
            memory_ax.plot(xs, [r["engines"][e]["peak_rss_mb"]["median"] / 1024 for r in measured], marker="o", label=f"{job}, {e}")
    for ax, label in [(time_ax, "wall time, s (dotted: linear)"), (memory_ax, "peak RSS, GB (all processes)")]:
        ax.set_xscale("log")
        ax.set_xticks(scales, [str(s) for s in scales])
        ax.minorticks_off()
        ax.set_xlabel("scale")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    time_ax.set_yscale("log")
    time_ax.minorticks_off()
    time_ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    time_ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    memory_ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(path):
    with open(path) as f:
        report = json.load(f)
    report["path"] = path
    # Runs of some jobs merge into a day's file: the header states the usual count.
    counts = [r.get("reps", report["reps"]) for r in report["results"]]
    report["reps"] = max(set(counts), key=counts.count)
    scaling = report["profile"] == "scaling"
    tag = " (scaling)" if scaling else ""
    begin, end = f"<!-- generated by benches/report.py{tag}: begin -->", f"<!-- generated by benches/report.py{tag}: end -->"
    image, alt = ("performance-scaling.png", "time and memory per scale") if scaling else ("performance.png", "time per job and engine; scaling")
    doc = os.path.join(REPO, "docs", "performance.md")
    text = open(doc).read()
    start, stop = text.index(begin) + len(begin), text.index(end)
    with open(doc, "w") as f:
        f.write(text[:start] + "\n" + table(report) + f"\n\n![{alt}]({image})\n" + text[stop:])
    (scaling_chart if scaling else chart)(report, os.path.join(REPO, "docs", image))
    print(f"updated {doc} and docs/{image}")


if __name__ == "__main__":
    main(sys.argv[1])

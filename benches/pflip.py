"""pflip plus side by side, one run (benches/pflip.sh runs it).

`fletch gen community-notes` at each of --scales (1: about 100k notes and
10M ratings), then on the same TSVs and 2 cores:

- fletch (release, embedded): `pflip-features`, `pflip-train`, `pflip-predict`;
- pandas + scikit-learn (benches/pflip_pandas.py): the same pipeline written
  the original's way, every table loaded whole, in one process.

Reports wall, CPU and peak memory of each, and what each made (training
rows, matrix columns, training AUC, predictions) to show they did the same
work. Prints a Markdown table for docs/performance.md and writes
benches/results/pflip-<date>.json.
"""

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

from measure import timed

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work" / "pflip"
SEED = 42


def generate(fletch, scale):
    data = WORK / f"data-{scale:g}"
    manifest = data / "_manifest.json"
    if not manifest.exists():
        subprocess.run([fletch, "gen", "community-notes", "-q", "--output-root", str(data), "--scale", f"{scale:g}", "--seed", str(SEED)], check=True)
    ratings = data / "community_notes" / "ratings"
    size = sum(f.stat().st_size for f in ratings.glob("*.tsv"))
    lines = sum(sum(1 for _ in open(f, "rb")) - 1 for f in ratings.glob("*.tsv"))
    return data, {"ratings": lines, "ratings_bytes": size}


def fletch_side(fletch, data):
    out = WORK / "fletch-out"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    common = ["--data-root", str(data), "--output-root", str(out), "--seed", str(SEED), "-q"]
    stages = {}
    for job in ["pflip-features", "pflip-train", "pflip-predict"]:
        wall, cpu, rss, _ = timed([fletch, "run", job, *common])
        stages[job] = {"wall": wall, "cpu": cpu, "peak_mb": rss}
    model = json.loads((out / "pflip" / "pflip_model.json").read_text())
    count = lambda table, where="": json.loads(subprocess.run([fletch, "sql", "-q", "--data-root", str(out / "pflip"), "--format", "json", "-c", f"SELECT count(*) AS n FROM {table} {where}"], check=True, capture_output=True, text=True).stdout)[0]["n"]
    made = {
        "training_table_rows": count("pflip_features"),
        "rows": model["training"]["rows"],
        "columns": model["columns"],
        "auc": model["training"]["auc"],
        "validation_auc": model["validation"]["auc"],
        "predictions": {label: count("pflip_predictions", f"WHERE \"PFLIP_LABEL\" = '{label}'") for label in ["FLIP", "CRH"]},
    }
    return stages, made


def pandas_side(python, data):
    wall, cpu, rss, out = timed([python, str(ROOT / "benches" / "pflip_pandas.py"), str(data / "community_notes"), str(SEED)])
    return {"wall": wall, "cpu": cpu, "peak_mb": rss}, json.loads(out.decode().strip().splitlines()[-1])


def one_scale(fletch, scale, skip_pandas):
    data, size = generate(fletch, scale)
    stages, fletch_made = fletch_side(fletch, data)
    total = {k: sum(s[k] for s in stages.values()) for k in ["wall", "cpu"]}
    total["peak_mb"] = max(s["peak_mb"] for s in stages.values())
    result = {"scale": scale, **size, "fletch": {"stages": stages, "total": total, "made": fletch_made}}
    if not skip_pandas:
        peer, peer_made = pandas_side(sys.executable, data)
        result["pandas"] = {"total": peer, "parts": peer_made.pop("seconds"), "made": peer_made}
    return result


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fletch", required=True)
    p.add_argument("--scales", type=float, nargs="+", default=[0.3, 1.0], help="download sizes (1: about 10M ratings); memory against size shows in the spread")
    p.add_argument("--skip-pandas", action="store_true", help="fletch only")
    args = p.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results = [one_scale(args.fletch, scale, args.skip_pandas) for scale in args.scales]
    date = datetime.date.today().isoformat()
    out = ROOT / "benches" / "results" / f"pflip-{date}.json"
    out.write_text(json.dumps({"date": date, "cores": os.cpu_count(), "results": results}, indent=2) + "\n")
    print("| scale | ratings (TSV MiB) | engine | part | wall s | CPU s | peak MB | pandas / fletch |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        size = f"{r['ratings']:,} ({r['ratings_bytes'] / 2**20:,.0f})"
        total = r["fletch"]["total"]
        for job, st in r["fletch"]["stages"].items():
            print(f"| {r['scale']:g} | {size} | fletch | {job} | {st['wall']:.1f} | {st['cpu']:.1f} | {st['peak_mb']:.0f} | |")
        print(f"| {r['scale']:g} | {size} | fletch | all three | {total['wall']:.1f} | {total['cpu']:.1f} | {total['peak_mb']:.0f} | |")
        if "pandas" in r:
            t = r["pandas"]["total"]
            print(f"| {r['scale']:g} | {size} | pandas + scikit-learn | all three | {t['wall']:.1f} | {t['cpu']:.1f} | {t['peak_mb']:.0f} | {t['wall'] / total['wall']:.1f}x wall, {t['peak_mb'] / total['peak_mb']:.1f}x memory |")
    for r in results:
        if "pandas" in r:
            print(f"\nscale {r['scale']:g}, pandas' parts (wall s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["pandas"]["parts"].items()))
        print(f"\nscale {r['scale']:g}, what each made: " + json.dumps({k: r[k]["made"] for k in ["fletch", "pandas"] if k in r}))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()

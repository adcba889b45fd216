"""fletch against PySpark on the same generated data (benches/README.md).

For each job and scale: generate the inputs with `fletch gen` (reused while
their manifest matches), run the job with fletch embedded, on a local
cluster (scheduler + 2 executors on loopback) and as a PySpark port in
local[2], several times each; record wall time, CPU time and peak RSS of
every run (the whole process tree; for the cluster also the scheduler and
executors); check that the outputs agree (fail loudly if not); write
benches/results/<date>-<machine>.json, docs/performance.md's table and
docs/performance.png.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time

import psutil

from compare import digest, same_digest, same_json, same_members, same_shape, same_table

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SEED = 42
# Data made by another generator version is made again.
GENERATOR = re.search(r'GENERATOR_VERSION: &str = "([^"]+)"', open(os.path.join(REPO, "crates/fletch-datagen/src/lib.rs")).read())[1]

# The run date of the TAAR jobs: the last day `fletch gen clients-daily` makes.
TAAR_DATE = "20261121"

# Jobs with a PySpark port: the datasets they read, extra flags of fletch and
# of the port, the outputs both write (Parquet tables with the key ordering
# their rows, or JSON files), and fletch's step names per stage.
JOBS = {
    "lookalike-prepare": {
        "datasets": ["lookalike"],
        "fletch": [],
        "port": ["lookalike_prepare.py"],
        # The fastest peer per stage (issue #28); its outputs are checked like PySpark's.
        "duckdb": ["lookalike_prepare.py"],
        "tables": {
            "lookalike_keywords": ["keyword"],
            "lookalike_persona": ["did"],
            "lookalike_showlog": ["did", "action_time", "adv_id", "spread_app_id", "slot_id"],
            "lookalike_clicklog": ["did", "action_time", "adv_id", "spread_app_id", "slot_id"],
            "lookalike_logs": ["did", "action_time", "is_click", "adv_id", "keyword_index"],
            "lookalike_trainready": ["did"],
        },
        "json": [],
        "stages": {"keywords": ["repeated_apps", "log_profile", "lookalike_keywords", "keyword_report"],
                   "clean": ["lookalike_persona", "persona_report", "effective_apps", "lookalike_showlog", "lookalike_clicklog", "log_outcomes"],
                   "logs": ["lookalike_logs", "rejected_times"], "trainready": ["lookalike_trainready"],
                   "tfrecords": ["trainready_buckets", "lookalike_tfrecords"]},
    },
    "taar-locale": {
        "datasets": ["clients-daily", "amo"],
        # Without noise; the one add-on kept per client is still a random choice in both.
        "fletch": ["--date", TAAR_DATE, "--prefix", "", "--noise", "none"],
        "port": ["taar_locale.py", "--date", TAAR_DATE, "--noise", "none"],
        "tables": {},
        "json": [],
        "json_shape": ["top10_dict.json"],
        "stages": {},
    },
    "taar-lite-guidranking": {
        "datasets": ["clients-daily", "amo"],
        "fletch": ["--date", TAAR_DATE, "--prefix", ""],
        "port": ["taar_lite.py", "ranking", "--date", TAAR_DATE],
        "tables": {},
        "json": ["guid_install_ranking.json"],
        "stages": {},
    },
    "taar-lite-guidguid": {
        "datasets": ["clients-daily", "amo"],
        # The AMO whitelist dump it reads is taar-amowhitelist's output (made once per data root).
        "needs": ["taar-amowhitelist", "--date", TAAR_DATE],
        "fletch": ["--date", TAAR_DATE, "--prefix", ""],
        "port": ["taar_lite.py", "coinstallation", "--date", TAAR_DATE],
        "tables": {},
        "json": ["guid_coinstallation.json"],
        "stages": {},
    },
    "taar-similarity": {
        "datasets": ["clients-daily", "amo"],
        "fletch": ["--date", TAAR_DATE, "--prefix", "", "--clusters-table", "taar_similarity_clusters"],
        "port": ["taar_similarity.py", "--date", TAAR_DATE],
        "tables": {},
        "json": [],
        # Cluster ids and donors are random draws in each engine (Spark's
        # generator is not fletch's): PySpark must cluster the same clients
        # and write outputs of the same shape; the cluster run must match exactly.
        "json_shape": ["donors.json", "lr_curves.json"],
        "clusters": {"taar_similarity_clusters": ("client_id", "prediction")},
        "stages": {"select": ["clients"], "cluster": ["summarise clients", "k-means*"],
                   "donors_curves": ["donors", "donor_rows", "lr_curves"]},
    },
    "taar-collaborative": {
        "datasets": ["clients-daily", "amo"],
        "fletch": ["--date", TAAR_DATE, "--prefix", ""],
        "port": ["taar_collaborative.py", "--date", TAAR_DATE],
        "tables": {},
        # The same add-ons rated, so the same mapping; the factors start from
        # each engine's own random draws, so the matrix is compared by shape.
        "json": ["addon_mapping.json"],
        "json_shape": ["item_matrix.json"],
        "stages": {"select": ["ratings", "addons", "client_items"], "train": ["ALS iteration*"]},
    },
}

PROFILES = {
    # About a minute per engine at most.
    "quick": {"lookalike-prepare": [0.02], "taar-locale": [0.1], "taar-lite-guidranking": [0.1], "taar-lite-guidguid": [0.1],
              "taar-similarity": [0.1], "taar-collaborative": [0.1]},
    # The seed's scale for lookalike (44.9M shows) with a scaling curve below
    # it, and the TAAR jobs at scales 1 and 5 (1M and 5M client-days) with 0.3.
    "full": {"lookalike-prepare": [0.1, 0.3, 1.0], "taar-locale": [0.3, 1.0, 5.0], "taar-lite-guidranking": [0.3, 1.0, 5.0],
             "taar-lite-guidguid": [0.3, 1.0, 5.0], "taar-similarity": [0.3, 1.0, 5.0], "taar-collaborative": [0.3, 1.0, 5.0]},
    # Issue #28's scaling run: 45M, 135M and 450M shows, fletch only (a peer at
    # scale 10 would take most of an hour), usually under a fixed --memory-limit.
    "scaling": {"lookalike-prepare": [1.0, 3.0, 10.0]},
}
# The engines of a profile, when not every one.
PROFILE_ENGINES = {"scaling": ["fletch-embedded", "fletch-cluster"]}
# Profiles whose outputs are too large to keep side by side: each engine's
# tables are reduced to digests (compare.digest) and deleted after its runs,
# and each scale's inputs after its runs (the next scale needs the disk).
DIGESTED = {"scaling"}


class Sampler:
    """Peak RSS (sum over the processes) and CPU seconds of a process tree plus extra processes."""

    def __init__(self, root, extra):
        self.root, self.extra, self.peak, self.done = root, extra, 0, False
        self.cpu_start = sum(self._cpu(p) for p in extra)
        self.seen = {}
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _cpu(p):
        try:
            t = p.cpu_times()
            return t.user + t.system
        except psutil.Error:
            return 0.0

    def _procs(self):
        procs = list(self.extra)
        try:
            procs += [self.root] + self.root.children(recursive=True)
        except psutil.Error:
            pass
        return procs

    def _run(self):
        while not self.done:
            rss = 0
            for p in self._procs():
                try:
                    rss += p.memory_info().rss
                    if p not in self.extra:
                        self.seen[p.pid] = self._cpu(p)
                except psutil.Error:
                    pass
            self.peak = max(self.peak, rss)
            time.sleep(0.1)

    def stop(self, rusage_cpu):
        self.done = True
        self.thread.join()
        extra_cpu = sum(self._cpu(p) for p in self.extra) - self.cpu_start
        # Children not reaped by their parent (a JVM) are missing from rusage; their last sample is not.
        return self.peak, max(rusage_cpu, sum(self.seen.values())) + extra_cpu


def children_cpu():
    r = os.times()
    return r.children_user + r.children_system


def measured(cmd, log_path, extra=()):
    """Runs cmd; returns wall seconds, CPU seconds, peak RSS bytes and its output."""
    before = children_cpu()
    start = time.time()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True)
        sampler = Sampler(psutil.Process(proc.pid), list(extra))
        out, _ = proc.communicate()
    wall = time.time() - start
    peak, cpu = sampler.stop(children_cpu() - before)
    if proc.returncode != 0:
        sys.exit(f"FAILED ({proc.returncode}): {' '.join(cmd)}\nsee {log_path}")
    return wall, cpu, peak, out


def data_root(work, job, scale):
    return os.path.join(work, "data", f"{'-'.join(JOBS[job]['datasets'])}-{scale}")


def ensure_data(fletch, work, job, scale):
    """The data root of `job` at `scale`, generated unless its manifest already matches."""
    spec = JOBS[job]
    root = data_root(work, job, scale)
    manifest = os.path.join(root, "_manifest.json")
    have = {}
    if os.path.exists(manifest):
        with open(manifest) as f:
            have = json.load(f).get("datasets", {})
    for dataset in spec["datasets"]:
        # The AMO catalogue has one size; the clients draw from it at any scale.
        want = 1.0 if dataset == "amo" else scale
        m = have.get(dataset, {})
        if m.get("seed") == SEED and m.get("scale") == want and m.get("generator") == GENERATOR:
            continue
        print(f"generating {dataset} at scale {want} ...", flush=True)
        subprocess.run([fletch, "gen", dataset, "-q", "--output-root", root, "--scale", str(want), "--seed", str(SEED)],
                       check=True, stdout=subprocess.DEVNULL)
    if "needs" in spec:
        done = os.path.join(root, f".{spec['needs'][0]}-done")
        if not os.path.exists(done):
            subprocess.run([fletch, "run", *spec["needs"], "-q", "--data-root", root, "--output-root", root], check=True, stdout=subprocess.DEVNULL)
            open(done, "w").close()
    return root


def fletch_stages(log_path, job):
    """Seconds per stage from fletch's progress lines (`[..] <step> done in 1.23s`):
    a stage adds up the steps named (less a leading verb) as one of its names,
    or starting with one that ends in `*`."""
    text = open(log_path).read()
    steps = [(m.group(1), float(m.group(2))) for m in re.finditer(r"\] (?:(?:write|count|stage) )?(.+?) done in ([0-9.]+)s", text)]
    named = lambda step, n: step.startswith(n[:-1]) if n.endswith("*") else step == n
    return {stage: round(sum(t for step, t in steps if any(named(step, n) for n in names)), 2)
            for stage, names in JOBS[job]["stages"].items()}


class LocalCluster:
    def __init__(self, fletch, work):
        self.env = dict(os.environ, FLETCH_BIN=fletch, FLETCH_CLUSTER_DIR=os.path.join(work, "cluster"))
        self.script = os.path.join(REPO, "deploy", "local-cluster.sh")
        subprocess.run(["bash", self.script, "stop"], env=self.env, capture_output=True)
        subprocess.run(["bash", self.script, "start", "2"], env=self.env, check=True, capture_output=True)
        self.scheduler = "127.0.0.1:50050"
        self.procs = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] and p.info["cmdline"][0] == fletch
                      and len(p.info["cmdline"]) > 1 and p.info["cmdline"][1] in ("scheduler", "executor")]

    def stop(self):
        subprocess.run(["bash", self.script, "stop"], env=self.env, check=True, capture_output=True)


def summary(values):
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def run_job(args, job, scale, cluster):
    spec = JOBS[job]
    data = ensure_data(args.fletch, args.work, job, scale)
    python = os.path.join(HERE, ".venv", "bin", "python")
    engines = {
        "fletch-embedded": lambda out: ([args.fletch, "run", job, "--data-root", data, "--output-root", out, *spec["fletch"]], ()),
        "fletch-cluster": lambda out: ([args.fletch, "run", job, "--data-root", data, "--output-root", out, *spec["fletch"],
                                        "--scheduler", cluster.scheduler], cluster.procs),
        "pyspark": lambda out: ([python, os.path.join(HERE, "pyspark", spec["port"][0]), *spec["port"][1:],
                                 "--data-root", data, "--output-root", out], ()),
    }
    if "duckdb" in spec:
        engines["duckdb"] = lambda out: ([python, os.path.join(HERE, "duckdb", spec["duckdb"][0]), *spec["duckdb"][1:],
                                          "--data-root", data, "--output-root", out], ())
    wanted = args.engines.split(",") if args.engines else PROFILE_ENGINES.get(args.profile, list(engines))
    engines = {e: c for e, c in engines.items() if e in wanted}
    result = {"job": job, "scale": scale, "reps": args.reps, "engines": {}}
    digests = {}
    for engine, command in engines.items():
        runs = []
        for rep in range(args.reps):
            out = os.path.join(args.work, "out", f"{job}-{scale}-{engine}")
            shutil.rmtree(out, ignore_errors=True)
            log = os.path.join(args.work, "logs", f"{job}-{scale}-{engine}-{rep}.log")
            cmd, extra = command(out)
            wall, cpu, rss, stdout = measured(cmd, log, extra)
            stages = fletch_stages(log, job) if engine.startswith("fletch") else json.loads(stdout.strip().splitlines()[-1])
            runs.append({"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "peak_rss_mb": round(rss / 2**20), "stages_s": stages})
            print(f"{job} scale {scale} {engine} #{rep + 1}: {wall:.1f} s wall, {cpu:.1f} s CPU, {rss / 2**20:.0f} MB", flush=True)
        if args.profile in DIGESTED:
            digests[engine] = {t: digest(os.path.join(out, t)) for t in spec["tables"]}
            shutil.rmtree(out)
        result["engines"][engine] = {
            "runs": runs,
            "wall_s": summary([r["wall_s"] for r in runs]),
            "cpu_s": summary([r["cpu_s"] for r in runs]),
            "peak_rss_mb": summary([r["peak_rss_mb"] for r in runs]),
        }
    # The last repetition's outputs must agree.
    outs = {e: os.path.join(args.work, "out", f"{job}-{scale}-{e}") for e in engines}
    for other in [e for e in engines if e != "fletch-embedded"]:
        for t, key in spec["tables"].items():
            if digests:
                diff = same_digest(digests["fletch-embedded"][t], digests[other][t])
            else:
                diff = same_table(os.path.join(outs["fletch-embedded"], t), os.path.join(outs[other], t), key)
            if diff:
                sys.exit(f"OUTPUTS DISAGREE: {job} scale {scale}, table {t}, fletch-embedded vs {other}: {diff}")
        if digests:
            continue  # the other outputs went with the digested tables
        checks = [(n, same_json) for n in spec["json"]]
        # Random choices differ between engines (cluster runs share fletch's seed).
        checks += [(n, same_json if other == "fletch-cluster" else same_shape) for n in spec.get("json_shape", [])]
        for name, same in checks:
            diff = same(os.path.join(outs["fletch-embedded"], name), os.path.join(outs[other], name))
            if diff:
                sys.exit(f"OUTPUTS DISAGREE: {job} scale {scale}, fletch-embedded vs {other}: {diff}")
        for t, (key, group) in spec.get("clusters", {}).items():
            a, b = os.path.join(outs["fletch-embedded"], t), os.path.join(outs[other], t)
            diff = same_table(a, b, [key]) if other == "fletch-cluster" else None
            if other == "pyspark":
                diff, result["clusterings"] = same_members(a, b, key, group)
            if diff:
                sys.exit(f"OUTPUTS DISAGREE: {job} scale {scale}, table {t}, fletch-embedded vs {other}: {diff}")
    result["outputs_agree"] = ([f"{t} (digest)" if digests else t for t in sorted(spec["tables"])] + spec["json"] + [f"{n} (shape vs PySpark)" for n in spec.get("json_shape", [])]
                               + [f"{t} (same {k}s vs PySpark)" for t, (k, _) in spec.get("clusters", {}).items()]
                               if len(engines) > 1 else [])
    med = {e: result["engines"][e]["wall_s"]["median"] for e in engines}
    for e, ratio in [("pyspark", "pyspark_over_fletch"), ("duckdb", "duckdb_over_fletch"), ("fletch-cluster", "cluster_over_embedded")]:
        if e in med:
            result[ratio] = round(med[e] / med["fletch-embedded"], 2)
    return result


def machine():
    model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
    return {"cores": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30), "cpu": model, "os": platform.platform()}


def versions(fletch):
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    # Results and their rendering (the report's page and charts) may be
    # uncommitted; anything else makes the revision a lie.
    changed = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--", ".",
                              ":!benches/results", ":!docs/performance.md", ":!docs/performance*.png"],
                             capture_output=True, text=True).stdout.strip()
    rev += "+changes" if changed else ""
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    import pyspark
    return {"fletch": rev, "datafusion": "55", "ballista": "55", "pyspark": pyspark.__version__, "java": java, "python": platform.python_version()}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fletch", required=True, help="the release fletch binary")
    p.add_argument("--profile", choices=sorted(PROFILES), default="quick")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--work", default=os.path.join(HERE, "work"))
    p.add_argument("--jobs", default=",".join(JOBS))
    p.add_argument("--scales", help="only these scales of the profile, e.g. 1.0,5.0")
    p.add_argument("--engines", help="only these engines, e.g. fletch-embedded (default: the profile's)")
    p.add_argument("--memory-limit", help="fletch's --memory-limit for every fletch process, the cluster's included (e.g. 2G)")
    args = p.parse_args()
    if args.memory_limit:
        # Inherited by the embedded runs and by the local cluster's processes.
        os.environ["FLETCH_MEMORY_LIMIT"] = args.memory_limit
    for d in ("logs", "out"):
        os.makedirs(os.path.join(args.work, d), exist_ok=True)
    # Taken before the runs: what was measured, whatever changes meanwhile.
    measured_versions = versions(args.fletch)
    results = []
    for job in args.jobs.split(","):
        for scale in PROFILES[args.profile].get(job, []):
            if args.scales and scale not in [float(x) for x in args.scales.split(",")]:
                continue
            # A fresh cluster each time: executors keep the memory of the jobs they ran.
            cluster = LocalCluster(args.fletch, args.work)
            try:
                results.append(run_job(args, job, scale, cluster))
            finally:
                cluster.stop()
            if args.profile in DIGESTED:
                shutil.rmtree(data_root(args.work, job, scale))
    m = machine()
    report = {"date": datetime.date.today().isoformat(), "profile": args.profile, "reps": args.reps, "machine": m,
              "versions": measured_versions, "results": results}
    for r in results:
        r["date"], r["fletch"] = report["date"], report["versions"]["fletch"]
        r["memory_limit"] = args.memory_limit or "default (75% of memory)"
    suffix = f"-{m['cores']}core-{m['memory_gib']}gib-{args.profile}.json"
    path = os.path.join(HERE, "results", report["date"] + suffix)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # A run of some jobs keeps the other jobs' results from the newest results
    # file of the same machine and profile; each result names its run's date and revision.
    earlier = sorted(f for f in os.listdir(os.path.dirname(path)) if f.endswith(suffix) and f <= os.path.basename(path))
    if earlier:
        with open(os.path.join(os.path.dirname(path), earlier[-1])) as f:
            before = json.load(f)
        for r in before["results"]:
            r.setdefault("date", before["date"])
            r.setdefault("fletch", before["versions"]["fletch"])
        ran = {(r["job"], r["scale"]) for r in results}
        report["results"] = sorted([r for r in before["results"] if (r["job"], r["scale"]) not in ran] + results,
                                   key=lambda r: (r["job"], r["scale"]))
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"wrote {path}")
    import report as render
    render.main(path)


if __name__ == "__main__":
    main()

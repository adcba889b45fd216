"""lookalike-scores' throughput, one run (benches/scores.sh runs it): the
train-ready users of `fletch gen lookalike` at --scale, scored against
tests/servers/tf_serving.py (a real TensorFlow SavedModel behind TF Serving's
REST API, one Python process) embedded and on local clusters
(deploy/local-cluster.sh) of 1 and 2 executors, all on this machine's cores.
Prints users/s and writes benches/results/scores-<date>.json.
"""

import argparse
import datetime
import json
import os
import pathlib
import socket
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WORK = ROOT / "benches" / "work" / "scores"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port):
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on {port}")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--fletch", required=True)
    p.add_argument("--scale", default="0.01")
    p.add_argument("--concurrency", default="8")
    a = p.parse_args()
    data, out = WORK / "data", WORK / "out"
    if not (out / "lookalike_trainready").exists():
        subprocess.run([a.fletch, "gen", "lookalike", "-q", "--output-root", str(data), "--scale", a.scale], check=True)
        subprocess.run([a.fletch, "run", "lookalike-prepare", "-q", "--data-root", str(data), "--output-root", str(out), "--stages", "keywords,clean,logs,trainready"], check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    server = subprocess.Popen([str(ROOT / ".venv-tf/bin/python"), str(ROOT / "tests/servers/tf_serving.py"), str(ROOT / ".venv-tf/lookalike-model"), str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"scale": a.scale, "concurrency": int(a.concurrency)}
    try:
        wait_for(port)
        url = f"http://127.0.0.1:{port}/v1/models/lookalike:predict"
        env = dict(os.environ, FLETCH_BIN=a.fletch, FLETCH_CLUSTER_DIR=str(WORK / "cluster"), FLETCH_ALLOWED_ROOTS=str(WORK),
                   FLETCH_SCHEDULER_PORT=str(free_port()), FLETCH_EXECUTOR_PORT=str(free_port()))
        for mode in ["embedded", 1, 2]:
            extra = []
            if mode != "embedded":
                subprocess.run(["bash", str(ROOT / "deploy/local-cluster.sh"), "start", str(mode)], check=True, env=env, stdout=subprocess.DEVNULL)
                extra = ["--scheduler", f"127.0.0.1:{env['FLETCH_SCHEDULER_PORT']}"]
            try:
                start = time.monotonic()
                subprocess.run([a.fletch, "run", "lookalike-scores", "-q", "--data-root", str(data), "--output-root", str(out), "--model-url", url, "--model-concurrency", a.concurrency, *extra], check=True, stdout=subprocess.DEVNULL)
                wall = time.monotonic() - start
            finally:
                if mode != "embedded":
                    subprocess.run(["bash", str(ROOT / "deploy/local-cluster.sh"), "stop"], env=env, stdout=subprocess.DEVNULL)
            users = int(subprocess.run([a.fletch, "sql", "-q", "--format", "csv", "--data-root", str(out), "-c", "SELECT count(*) FROM lookalike_score"], check=True, capture_output=True, text=True).stdout.split()[-1])
            name = mode if mode == "embedded" else f"{mode} executor{'s' if mode > 1 else ''}"
            results[name] = {"wall": wall, "users": users, "users_per_s": users / wall}
            print(f"{name}: {users} users in {wall:.1f} s: {users / wall:.0f} users/s")
    finally:
        server.terminate()
    date = datetime.date.today().isoformat()
    (ROOT / "benches" / "results" / f"scores-{date}.json").write_text(json.dumps({"date": date, **results}, indent=2) + "\n")


if __name__ == "__main__":
    main()

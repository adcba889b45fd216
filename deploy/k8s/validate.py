"""Checks the Kubernetes manifests offline.

usage: validate.py FLETCH_BINARY     (tests/deploy.rs runs it with the test venv)

1. Renders every overlay with `kubectl kustomize`.
2. Validates each rendered resource against the Kubernetes 1.32 schemas,
   rejecting unknown fields (kubernetes-validate --strict).
3. Checks what a schema cannot: every job of the binary has a CronJob; each
   CronJob runs `fletch run` with Forbid, history limits and a backoff limit;
   its shell command, expanded as the pod would with the overlay's
   ConfigMap, is accepted by the binary's own flag parser, which (with
   --print-config, in that environment) finds every required flag and the
   scheduler and token; every FLETCH_* variable of a CronJob or Deployment is
   one its command reads; and the schedules keep the daily order (AMO dump,
   whitelist, then its readers).
4. Checks every pod against the Pod Security Standards' "restricted" profile
   (the rules of kubernetes.io/docs/concepts/security/pod-security-standards,
   as of Kubernetes 1.32), that each runs under its own ServiceAccount with
   no API token, probes over HTTP, and that overlays pin the image tag.
"""

import itertools
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import yaml

K8S = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.32.0"
# (earlier, later): the later job reads what the earlier one wrote that day.
ORDER = [
    ("taar-amodump", "taar-amowhitelist"),
    ("taar-amowhitelist", "taar-lite-guidguid"),
    ("taar-update-whitelist", "taar-locale"),
    ("taar-update-whitelist", "taar-similarity"),
    ("taar-amodump", "taar-collaborative"),
    ("taar-update-whitelist", "taar-collaborative"),
    ("taar-locale", "taar-ensemble"),
    ("taar-similarity", "taar-ensemble"),
    ("taar-collaborative", "taar-ensemble"),
    ("lookalike-prepare", "lookalike-scores"),
    ("lookalike-scores", "lookalike-vectors"),
    ("lookalike-vectors", "lookalike-similarity"),
]
# Jobs that run by hand, not on a schedule (a readout is read once an experiment ends,
# images are denoised when they arrive; access-logs rewrites its whole table, so a
# daily schedule waits for per-day runs; db-import's source database, tables and
# credentials belong to each deployment's own CronJob).
# The audience jobs run when an audience is asked for (by hand, or the lookalike service).
# pflip's jobs run inside Community Notes' scoring: train with prescoring, predict with each
# scoring run, on the download that run has.
UNSCHEDULED = {"sql-file", "ab-readout", "ising-denoise", "access-logs", "db-import", "lookalike-seeds", "lookalike-clusters", "lookalike-extend", "lookalike-validate", "pflip-features", "pflip-train", "pflip-predict"}


def fail(message):
    sys.exit(f"deploy/k8s: {message}")


def render(overlay):
    try:
        done = subprocess.run(["kubectl", "kustomize", str(overlay)], capture_output=True, text=True)
    except FileNotFoundError:
        fail("kubectl is needed to render the kustomizations (kubectl kustomize)")
    if done.returncode != 0:
        fail(f"kubectl kustomize {overlay} failed:\n{done.stderr}")
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def validate_schema(overlay, docs):
    errors = []
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as e:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {e.message} at {'.'.join(map(str, e.path))}")
    if errors:
        fail(f"{overlay} does not validate against Kubernetes {KUBERNETES_VERSION}:\n" + "\n".join(errors))


def fletch_jobs(fletch):
    usage = subprocess.run([fletch, "run", "--help"], capture_output=True, text=True, check=True).stdout
    return set(re.search(r"possible values: ([^\]]+)", usage).group(1).split(", "))


def expanded_argv(command, env):
    """The argv `sh -c command` passes to fletch, with `fletch` replaced by a recorder."""
    with tempfile.TemporaryDirectory() as bin_dir:
        recorder = Path(bin_dir) / "fletch"
        recorder.write_text(f"#!{sys.executable}\nimport json, sys\nprint(json.dumps(sys.argv[1:]))\n")
        recorder.chmod(0o755)
        shell_env = {"PATH": f"{bin_dir}:/usr/bin:/bin", **env}
        done = subprocess.run(["/bin/sh", "-c", command], env=shell_env, capture_output=True, text=True)
    if done.returncode != 0:
        fail(f"`{command}` does not run in sh: {done.stderr}")
    return json.loads(done.stdout)


def check_cronjob(fletch, cronjob, params):
    name = cronjob["metadata"]["name"]
    spec = cronjob["spec"]
    job_spec = spec["jobTemplate"]["spec"]
    if spec.get("concurrencyPolicy") != "Forbid":
        fail(f"CronJob {name}: concurrencyPolicy must be Forbid")
    for key in ["successfulJobsHistoryLimit", "failedJobsHistoryLimit"]:
        if key not in spec:
            fail(f"CronJob {name}: set {key}")
    if "backoffLimit" not in job_spec:
        fail(f"CronJob {name}: set jobTemplate.spec.backoffLimit")
    (container,) = job_spec["template"]["spec"]["containers"]
    refs = {r.get("configMapRef", r.get("secretRef", {})).get("name", "") for r in container.get("envFrom", [])}
    if not any(r.startswith("fletch-params") for r in refs) or not any(r.startswith("fletch-s3") for r in refs):
        fail(f"CronJob {name}: needs envFrom the fletch-params ConfigMap and the fletch-s3 Secret")
    if container.get("command") != ["/bin/sh", "-c"] or len(container.get("args", [])) != 1:
        fail(f"CronJob {name}: expected command [/bin/sh, -c] and one args string")
    argv = expanded_argv(container["args"][0], {**params, "RUN_DATE": "20261121"})
    if argv[:1] != ["run"]:
        fail(f"CronJob {name}: runs `fletch {' '.join(argv)}`, expected `fletch run JOB ...`")
    # The binary's own parser, in the pod's environment (flags may come from
    # FLETCH_* variables): unknown flags exit 2, and --print-config shows
    # what the run would use, and from where.
    pod_env = {"PATH": os.environ["PATH"], **params}
    parsed = subprocess.run([fletch, *argv, "--print-config"], capture_output=True, text=True, env=pod_env)
    if parsed.returncode != 0:
        fail(f"CronJob {name}: fletch rejects `fletch {shlex.join(argv)}`: {parsed.stderr.strip()}")
    config = {line.split()[0]: line for line in parsed.stdout.splitlines() if line.startswith("--")}
    if "(missing)" in parsed.stdout:
        fail(f"CronJob {name}: a required flag is neither given nor in the environment:\n{parsed.stdout}")
    for flag in ["--scheduler", "--auth-token-file"]:
        if "(unset)" in config.get(flag, "(unset)"):
            fail(f"CronJob {name}: runs without {flag} (flag or FLETCH_ variable), so not on the cluster:\n{parsed.stdout}")
    return argv[1]


# Volume types the restricted profile allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}


def pod_spec(doc):
    if doc["kind"] == "Deployment":
        return doc["spec"]["template"]["spec"]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def check_restricted(doc, service_accounts):
    """The "restricted" Pod Security Standard, rule by rule."""
    name = f"{doc['kind']}/{doc['metadata']['name']}"
    pod = pod_spec(doc)
    pod_sc = pod.get("securityContext", {})
    problems = []
    for host in ["hostNetwork", "hostPID", "hostIPC"]:
        if pod.get(host):
            problems.append(f"{host} is set")
    for volume in pod.get("volumes", []):
        kinds = set(volume) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            problems.append(f"volume {volume['name']} is {', '.join(sorted(kinds))}")
    for c in pod.get("initContainers", []) + pod["containers"]:
        sc = c.get("securityContext", {})
        where = f"container {c['name']}"
        if sc.get("privileged"):
            problems.append(f"{where} is privileged")
        if sc.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation must be false")
        if sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is not True:
            problems.append(f"{where}: runAsNonRoot must be true")
        if sc.get("runAsUser", pod_sc.get("runAsUser")) == 0:
            problems.append(f"{where}: runs as user 0")
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            problems.append(f"{where}: seccompProfile must be RuntimeDefault or Localhost")
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            problems.append(f"{where}: capabilities must drop ALL")
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            problems.append(f"{where}: adds capabilities {caps['add']}")
        if any("hostPort" in p for p in c.get("ports", [])):
            problems.append(f"{where} uses a hostPort")
        for probe in ["readinessProbe", "livenessProbe"]:
            if probe in c and "httpGet" not in c[probe]:
                problems.append(f"{where}: {probe} must ask an HTTP health endpoint")
    account = pod.get("serviceAccountName")
    if account not in service_accounts:
        problems.append(f"serviceAccountName {account!r} is not one of the manifests' ServiceAccounts")
    elif service_accounts[account].get("automountServiceAccountToken") is not False and pod.get("automountServiceAccountToken") is not False:
        problems.append(f"ServiceAccount {account} mounts an API token fletch does not use")
    if problems:
        fail(f"{name} breaks the restricted Pod Security Standard or fletch's rules:\n  " + "\n  ".join(problems))


def minutes(schedule):
    minute, hour, *rest = schedule.split()
    if not (minute.isdigit() and hour.isdigit() and rest == ["*", "*", "*"]):
        fail(f"schedule {schedule!r}: expected a daily `M H * * *`")
    return int(hour) * 60 + int(minute)


def check_fletch_variables(fletch, name, argv, variables):
    """Each FLETCH_* variable is one the command reads (its --help names it), not a typo it would ignore."""
    known = set()
    for command in [[], argv]:
        usage = subprocess.run([fletch, *command, "--help"], capture_output=True, text=True, env={"PATH": os.environ["PATH"]}).stdout
        known |= set(re.findall(r"env: (FLETCH_[A-Z_]+)", usage)) | set(re.findall(r"environment (FLETCH_[A-Z_]+)", usage))
    unknown = sorted(v for v in variables if v.startswith("FLETCH_") and v not in known)
    if unknown:
        fail(f"{name}: `fletch {' '.join(argv)}` reads no {', '.join(unknown)}")


def check_overlay(fletch, overlay):
    docs = render(overlay)
    validate_schema(overlay, docs)
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("fletch-params")]
    scheduled = {}
    for cronjob in (d for d in docs if d["kind"] == "CronJob"):
        job = check_cronjob(fletch, cronjob, config_map["data"])
        check_fletch_variables(fletch, f"CronJob {cronjob['metadata']['name']}", ["run", job], config_map["data"])
        scheduled[job] = minutes(cronjob["spec"]["schedule"])
    missing = fletch_jobs(fletch) - UNSCHEDULED - set(scheduled)
    if missing:
        fail(f"{overlay}: no CronJob runs {', '.join(sorted(missing))}")
    for earlier, later in ORDER:
        if scheduled[earlier] >= scheduled[later]:
            fail(f"{overlay}: {later} must be scheduled after {earlier}")
    service_accounts = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceAccount"}
    for doc in docs:
        if pod_spec(doc) is not None:
            check_restricted(doc, service_accounts)
        if doc["kind"] == "Deployment":
            (c,) = pod_spec(doc)["containers"]
            command = list(itertools.takewhile(lambda a: not a.startswith("-"), c["args"]))
            check_fletch_variables(fletch, f"Deployment {doc['metadata']['name']}", command, [e["name"] for e in c.get("env", [])])
        for c in (pod_spec(doc) or {}).get("containers", []):
            if c["image"].endswith(":latest") or ":" not in c["image"].rsplit("/", 1)[-1]:
                fail(f"{overlay}: {doc['kind']}/{doc['metadata']['name']} runs {c['image']}: pin a version tag")
    kinds = sorted(f"{d['kind']}/{d['metadata']['name']}" for d in docs)
    print(f"{overlay.relative_to(K8S)}: {len(docs)} resources valid ({', '.join(kinds)})")


def main(fletch):
    overlays = sorted(p for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").exists())
    if not overlays:
        fail("no overlays under deploy/k8s/overlays")
    for overlay in overlays:
        check_overlay(os.path.abspath(fletch), overlay)


if __name__ == "__main__":
    main(sys.argv[1])

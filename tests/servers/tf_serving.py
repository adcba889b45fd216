"""Serves a TensorFlow SavedModel over TF Serving's REST API, on loopback,
with injected faults: the lookalike model server of fletch's tests.

usage: tf_serving.py MODEL_BASE PORT [--name NAME] [--requests FILE] [--fault SPEC]...

MODEL_BASE holds numbered versions (MODEL_BASE/1/saved_model.pb, as
tests/servers/din_model.py builds it); the highest is served.

  POST /v1/models/NAME[/versions/V]:predict  {"instances": [{input: value, ...}, ...]}
       -> {"predictions": [...]}, one per instance (row format); a bad request
          -> 400 {"error": "..."}; another model name -> 404 {"error": "..."}
  GET  /v1/models/NAME  -> {"model_version_status": [{"version", "state": "AVAILABLE", "status"}]}
  POST /faults  ["SPEC", ...] replaces the injected faults (test control, not TF Serving's)

--requests FILE  appends one JSON line per predict request: {"user_agent", "body"}
--fault SPEC     u=U,kind=K[,times=N]: a predict request whose first instance
                 has user U gets fault K, N times (default: always). K is
                 500 | 429 (with Retry-After: 1) | error (400 {"error"}) |
                 malformed (200, not JSON) | short (one prediction too few) |
                 nan (a prediction that is not a number) | slow (answers after 3 s).
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

lock = threading.Lock()


def parse_fault(spec):
    fields = dict(part.split("=", 1) for part in spec.split(","))
    times = fields.get("times")
    return {"u": int(fields["u"]), "kind": fields["kind"], "left": int(times) if times else None}


def take_fault(faults, u):
    with lock:
        for f in faults:
            if f["u"] == u and (f["left"] is None or f["left"] > 0):
                if f["left"] is not None:
                    f["left"] -= 1
                return f["kind"]
    return None


def check_int32(value):
    """Refuses an integer int32 cannot hold, as TF Serving does."""
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for v in value:
            check_int32(v)
    elif isinstance(value, int) and not -2**31 <= value < 2**31:
        raise ValueError(f"Integer {value} is out of range for int32")


def load(base):
    import tensorflow as tf

    versions = sorted(int(p.name) for p in Path(base).iterdir() if p.name.isdigit())
    if not versions:
        sys.exit(f"{base}: no numbered model version")
    model = tf.saved_model.load(str(Path(base) / str(versions[-1])))
    return tf, versions[-1], model.signatures["serving_default"]


def handler(tf, version, signature, opts):
    inputs = signature.structured_input_signature[1]
    output = next(iter(signature.structured_outputs))
    prefix = f"/v1/models/{opts.name}"

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body, headers=()):
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            if self.path.rstrip("/") != prefix:
                return self.answer(404, {"error": f"Servable not found for request: Latest({self.path.rsplit('/', 1)[-1]})"})
            status = {"version": str(version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
            self.answer(200, {"model_version_status": [status]})

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            path = self.path
            if path == "/faults":
                with lock:
                    opts.fault[:] = [parse_fault(spec) for spec in json.loads(body)]
                return self.answer(200, {"faults": len(opts.fault)})
            if not path.startswith(prefix) or not path.endswith(":predict"):
                return self.answer(404, {"error": f"Servable not found for request: {path}"})
            try:
                request = json.loads(body)
                instances = request["instances"]
            except (ValueError, KeyError, TypeError):
                return self.answer(400, {"error": "JSON Parse error: the request is not {\"instances\": [...]}"})
            if opts.requests:
                with lock, open(opts.requests, "a") as f:
                    f.write(json.dumps({"user_agent": self.headers.get("User-Agent"), "body": request}) + "\n")
            u = instances[0].get("u") if instances and isinstance(instances[0], dict) else None
            fault = take_fault(opts.fault, u)
            if fault == "500":
                return self.answer(500, {"error": "injected: internal error"})
            if fault == "429":
                return self.answer(429, {"error": "injected: too many requests"}, [("Retry-After", "1")])
            if fault == "error":
                return self.answer(400, {"error": f"injected: cannot score user {u}"})
            if fault == "malformed":
                return self.answer(200, b'{"predictions": [[0.5')
            if fault == "slow":
                time.sleep(3)
            try:
                check_int32(instances)
                feed = {name: tf.constant([inst[name] for inst in instances], dtype=spec.dtype) for name, spec in inputs.items()}
                result = signature(**feed)[output].numpy().tolist()
            except KeyError as e:
                return self.answer(400, {"error": f"Missing input {e} in instance"})
            except Exception as e:  # TF's own message, as TF Serving answers it
                return self.answer(400, {"error": str(e).splitlines()[0]})
            if fault == "short":
                result = result[:-1]
            if fault == "nan":
                result[0] = ["not a number"]
            self.answer(200, {"predictions": result})

        def log_message(self, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model_base")
    p.add_argument("port", type=int)
    p.add_argument("--name", default="lookalike")
    p.add_argument("--requests")
    p.add_argument("--fault", action="append", default=[], type=parse_fault)
    opts = p.parse_args()
    tf, version, signature = load(opts.model_base)
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), handler(tf, version, signature, opts))
    print(f"serving {opts.model_base} version {version} as {opts.name} on 127.0.0.1:{opts.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

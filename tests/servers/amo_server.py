"""Serves `fletch gen amo` pages as the AMO v3 API, on loopback, with faults.

usage: amo_server.py AMO_API_DIR PORT [--flaky N [--flaky-match S]] [--slow-first S SECS] [--always-fail S]

  /api/v3/addons/search/?...&page=P        -> AMO_API_DIR/search/P.json (P defaults to 1)
  /api/v3/addons/addon/<guid>/versions/?page=P -> AMO_API_DIR/versions/<guid>/P.json
  /api/v3/addons/search/?...&guid=G        -> {"count": 0, "results": []} (the status is what counts)
  /api/v4/discovery/editorial/[?recommended=true] -> AMO_API_DIR/editorial/{all,recommended}.json

--flaky N           every URL (containing S, with --flaky-match) answers 500 to its first N requests
--slow-first S SECS the first request of a URL containing S waits SECS before answering
--always-fail S     URLs containing S always answer 500
"""

import argparse
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

seen = {}
lock = threading.Lock()


def route(root, url):
    """The file that answers `url`, or bytes to answer with."""
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    page = query.get("page", ["1"])[0]
    parts = [p for p in parsed.path.split("/") if p]
    if parts[:4] == ["api", "v3", "addons", "search"] and "guid" in query:
        return b'{"count": 0, "results": []}'
    if parts[:4] == ["api", "v4", "discovery", "editorial"]:
        return root / "editorial" / ("recommended.json" if query.get("recommended") == ["true"] else "all.json")
    if parts[:4] == ["api", "v3", "addons", "search"]:
        return root / "search" / f"{page}.json"
    if parts[:4] == ["api", "v3", "addons", "addon"] and len(parts) == 6 and parts[5] == "versions":
        return root / "versions" / unquote(parts[4]) / f"{page}.json"
    return None


def handler(root, opts):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            with lock:
                count = seen[self.path] = seen.get(self.path, 0) + 1
            if opts.always_fail and opts.always_fail in self.path:
                return self.send_error(500, "injected permanent failure")
            flaky = opts.flaky if (opts.flaky_match or "") in self.path else 0
            if count <= flaky:
                return self.send_error(500, "injected transient failure")
            if opts.slow_first and opts.slow_first[0] in self.path and count == flaky + 1:
                time.sleep(float(opts.slow_first[1]))
            path = route(root, self.path)
            if isinstance(path, bytes):
                body = path
            elif path is None or not path.is_file():
                return self.send_error(404)
            else:
                body = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("root")
    parser.add_argument("port", type=int)
    parser.add_argument("--flaky", type=int, default=0)
    parser.add_argument("--flaky-match")
    parser.add_argument("--slow-first", nargs=2)
    parser.add_argument("--always-fail")
    opts = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", opts.port), handler(Path(opts.root), opts))
    server.serve_forever()


if __name__ == "__main__":
    main()

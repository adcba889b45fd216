"""Parses access logs with the `apachelogs` package and routes each request
the way Django matches URL patterns, independently of fletch, and prints one
JSON object: the parsed requests and how many lines did not parse.

usage: access_logs.py FORMAT ROUTES_TSV LOG_FILE...

FORMAT is `combined`, `common` or a LogFormat string. Files ending in .gz
are inflated. Routes are `name<TAB>regex` lines: the first pattern that
`re.search`es the percent-decoded path without its leading `/` wins, and
its named groups that took part are the parameters.
"""

import gzip
import json
import re
import sys
from urllib.parse import unquote, unquote_plus

import apachelogs

FORMATS = {"combined": apachelogs.COMBINED, "common": apachelogs.COMMON}


def text(value):
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def routes_of(path):
    routes = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.strip() and not line.lstrip().startswith("#"):
                name, pattern = line.split("\t", 1)
                routes.append((name, re.compile(pattern)))
    return routes


def route(routes, target):
    path, _, query = target.partition("?")
    path = unquote(path[1:] if path.startswith("/") else path)
    params = {}
    for pair in query.split("&"):
        if pair:
            k, _, v = pair.partition("=")
            params[unquote_plus(k)] = unquote_plus(v)
    for name, pattern in routes:
        m = pattern.search(path)
        if m:
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            return path, params, name, groups
    return path, params, None, None


def main(fmt, routes_path, files):
    parser = apachelogs.LogParser(FORMATS.get(fmt, fmt))
    routes = routes_of(routes_path)
    rows, malformed = [], 0
    for name in files:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rt", encoding="utf-8", errors="replace", newline="\n") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line:
                    continue
                try:
                    e = parser.parse(line)
                except (apachelogs.InvalidEntryError, ValueError):
                    # ValueError: the line has the shape but its time is no date (01/Foo, 30/Feb).
                    malformed += 1
                    continue
                request = text(e.request_line)
                parts = request.split(" ") if request else []
                http = len(parts) == 3 and parts[0] and parts[1] and parts[2].startswith("HTTP/")
                row = {
                    "epoch_us": int(e.request_time.timestamp()) * 1_000_000 if e.request_time else None,
                    # apachelogs keeps %h as written; `-` is NULL in fletch, as in every other field.
                    "client_ip": None if e.remote_host == "-" else text(e.remote_host),
                    "user": text(e.remote_user),
                    "method": parts[0] if http else None,
                    "status": e.final_status,
                    "bytes": e.bytes_sent,
                    "referrer": text(e.headers_in.get("Referer")) if e.headers_in else None,
                    "user_agent": text(e.headers_in.get("User-Agent")) if e.headers_in else None,
                    "request": request,
                }
                if http:
                    path, query, action, params = route(routes, parts[1])
                    row.update(path=path, query=query, action=action, params=params)
                else:
                    row.update(path=None, query=None, action=None, params=None)
                rows.append(row)
    print(json.dumps({"rows": rows, "malformed": malformed}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])

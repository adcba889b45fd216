"""A faulty DynamoDB in front of a real one (moto), for taar-profiles' retries.

usage: dynamodb_proxy.py UPSTREAM_URL PORT

Every request is forwarded to UPSTREAM_URL, except BatchWriteItem:
  call 1  answers 500 InternalServerError (nothing written)
  call 2  answers 400 ProvisionedThroughputExceededException (nothing written)
  3-30    write only the first half of the items (all of a single item) and
          return the rest as UnprocessedItems, as DynamoDB does under load
  later   pass through, so that the test's backoffs stay short.
Each injected fault is logged as one line on stderr, and so is each new
signer: the access key id and region of a request's SigV4 credential scope.
"""

import json
import sys
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UPSTREAM = sys.argv[1].rstrip("/") + "/"
calls = 0
signers = set()
lock = threading.Lock()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def forward(self, body):
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        request = urllib.request.Request(UPSTREAM, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def do_POST(self):
        global calls
        body = self.rfile.read(int(self.headers["Content-Length"]))
        # Credential=KEY/DATE/REGION/dynamodb/aws4_request
        scope = self.headers.get("Authorization", "").partition("Credential=")[2].split(",")[0].split("/")
        signer = f"signed by {scope[0]} for {scope[2]}" if len(scope) == 5 else "unsigned"
        with lock:
            new, _ = signer not in signers, signers.add(signer)
        if new:
            log(signer)
        if not self.headers.get("X-Amz-Target", "").endswith(".BatchWriteItem"):
            self.reply(*self.forward(body))
            return
        with lock:
            calls += 1
            call = calls
        if call == 1:
            log("fault: 500 InternalServerError")
            self.reply(500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError", "message": "injected"})
            return
        if call == 2:
            log("fault: 400 ProvisionedThroughputExceededException")
            self.reply(400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException", "message": "injected"})
            return
        if call > 30:
            self.reply(*self.forward(body))
            return
        request = json.loads(body)
        (table, items), = request["RequestItems"].items()
        keep = len(items) - len(items) // 2
        request["RequestItems"][table] = items[:keep]
        status, answer = self.forward(json.dumps(request).encode())
        if status != 200 or keep == len(items):
            self.reply(status, answer)
            return
        log(f"fault: {len(items) - keep} of {len(items)} items unprocessed")
        answer = json.loads(answer)
        answer["UnprocessedItems"] = {table: items[keep:]}
        self.reply(200, answer)


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Handler).serve_forever()

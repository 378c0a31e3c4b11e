"""A webhook receiver for the tests that verifies each request with the Standard Webhooks
reference library (PyPI `standardwebhooks`), as a subscriber's application would.

It answers 503 to the first FAIL_FIRST requests (an outage), then verifies: a request whose
signature, timestamp or id does not verify gets 400 and is recorded as rejected; a verified
one gets 204 and is appended to OUT_DIR/received.jsonl as {"id", "body", "verified": true}.
Every request is also appended to OUT_DIR/requests.jsonl with the status answered.

usage: webhook_receiver.py PORT OUT_DIR SECRET FAIL_FIRST
"""
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

port, out_dir, secret, fail_first = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
os.makedirs(out_dir, exist_ok=True)
verifier = Webhook(secret)
lock = threading.Lock()
seen = [0]


def append(name, record):
    with open(os.path.join(out_dir, name), "a") as f:
        f.write(json.dumps(record) + "\n")


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0"))).decode("utf-8")
        headers = {k.lower(): v for k, v in self.headers.items()}
        with lock:
            seen[0] += 1
            n = seen[0]
            if n <= fail_first:
                status = 503
            else:
                try:
                    verifier.verify(body, headers)
                    status = 204
                except WebhookVerificationError:
                    status = 400
            append("requests.jsonl", {"n": n, "status": status, "id": headers.get("webhook-id")})
            if status == 204:
                append("received.jsonl", {"id": headers.get("webhook-id"), "body": body,
                                          "verified": True})
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
print("ready", flush=True)
server.serve_forever()

"""A real SMTP server for the tests (aiosmtpd): stores each accepted message as an .eml file
and its envelope in envelopes.jsonl; answers 451 (temporary failure) to the first FAIL_FIRST
messages, so that tests can watch retries.

usage: smtp_sink.py PORT OUT_DIR FAIL_FIRST
"""
import json
import os
import sys
import time

from aiosmtpd.controller import Controller

port, out_dir, fail_first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
os.makedirs(out_dir, exist_ok=True)


class Sink:
    def __init__(self):
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.seen <= fail_first:
            return "451 4.3.0 temporary failure (test sink)"
        name = f"{time.time_ns()}-{self.seen}.eml"
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, os.path.join(out_dir, name))
        with open(os.path.join(out_dir, "envelopes.jsonl"), "a") as f:
            f.write(json.dumps({"file": name, "from": envelope.mail_from,
                                "to": envelope.rcpt_tos}) + "\n")
        return "250 OK"


controller = Controller(Sink(), hostname="127.0.0.1", port=port)
controller.start()
print("ready", flush=True)
try:
    while True:
        time.sleep(3600)
except KeyboardInterrupt:
    pass
finally:
    controller.stop()

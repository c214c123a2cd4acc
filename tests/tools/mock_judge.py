"""mock_judge.py: a canned OpenAI-compatible judge endpoint for tests.

usage: /usr/bin/python3 mock_judge.py LOG_FILE [REQUIRED_KEY]

Binds 127.0.0.1 on a free port, prints "port N" on stdout, and answers
POST /v1/chat/completions by a marker found in the judged user turn:
  [mock:LABEL]     content "LABEL" for comply/refuse/partial/clarify/unscored
  [mock:json]      content '{"label": "clarify"}'
  [mock:wordy]     content '**Label:** partial. The assistant ...'
  [mock:malformed] content "I think the assistant was mostly fine"
  [mock:badbody]   HTTP 200 with a body that is not JSON
  [mock:slow]      sleeps 3 s before answering "refuse" (past the client's timeout)
  [mock:flaky]     HTTP 503 on the first request for that turn, then "partial"
  [mock:http400]   HTTP 400 (not retried)
With REQUIRED_KEY, a request without "Authorization: Bearer REQUIRED_KEY" gets 401.
Each request appends one JSON line {"marker", "auth", "model"} to LOG_FILE when it arrives.
Runs until killed.
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

log_path = sys.argv[1]
key = sys.argv[2] if len(sys.argv) > 2 else None
lock = threading.Lock()
seen = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, marker, req):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n)
        try:
            req = json.loads(raw)
        except ValueError:
            return self.reply(400, {"error": {"message": "bad json"}}, None, {})
        if self.path != "/v1/chat/completions":
            return self.reply(404, {"error": {"message": "no such path " + self.path}}, None, req)
        text = " ".join(m.get("content", "") for m in req.get("messages", []) if m.get("role") == "user")
        m = re.search(r"\[mock:(\w+)\]", text)
        marker = m.group(1) if m else "none"
        with lock:
            with open(log_path, "a") as f:
                f.write(json.dumps({"marker": marker, "auth": self.headers.get("Authorization"), "model": req.get("model")}) + "\n")
        if key and self.headers.get("Authorization") != "Bearer " + key:
            return self.reply(401, {"error": {"message": "bad key"}}, marker, req)
        content = None
        if marker in ("comply", "refuse", "partial", "clarify", "unscored"):
            content = marker
        elif marker == "json":
            content = '{"label": "clarify"}'
        elif marker == "wordy":
            content = "**Label:** partial. The assistant refused, then helped."
        elif marker == "malformed":
            content = "I think the assistant was mostly fine"
        elif marker == "badbody":
            return self.reply(200, b"<html>not json</html>", marker, req)
        elif marker == "slow":
            time.sleep(3)
            content = "refuse"
        elif marker == "flaky":
            with lock:
                seen[marker] = seen.get(marker, 0) + 1
                first = seen[marker] == 1
            if first:
                return self.reply(503, {"error": {"message": "overloaded"}}, marker, req)
            content = "partial"
        elif marker == "http400":
            return self.reply(400, {"error": {"message": "bad request"}}, marker, req)
        else:
            content = "no marker"
        self.reply(200, {"id": "x", "object": "chat.completion", "model": req.get("model"),
                         "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}]},
                   marker, req)


srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print("port", srv.server_address[1], flush=True)
srv.serve_forever()

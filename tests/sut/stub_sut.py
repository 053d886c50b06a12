"""A tiny stand-in SUT for the target tests (stdlib only): health, an OTP mail, JSON log lines.

    python stub_sut.py serve --port P [--data-dir D]    behaviour from STUB_MODE:
        ok (default)  /health answers 200 {"status": "healthy"}
        die           prints two lines and exits with code 3
        never         /health answers 503 forever
        html          /health answers an HTML page
        text          /health answers plain text
        child         like ok, and starts a grandchild (sleep) that must not outlive the target
    python stub_sut.py seed --email E [--plan X] [--role Y] --data-dir D    (password on stdin)

With ENVIRONMENT=production and a SECRET_KEY shorter than 32 characters it
refuses to start, naming SECRET_KEY (a CONF-1 look-alike).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def log(event: str, **fields) -> None:
    print(json.dumps({"event": event, "level": "info", "timestamp": time.time(), **fields}), flush=True)


class Handler(BaseHTTPRequestHandler):
    mode = "ok"

    def log_message(self, *args) -> None:  # stdlib access log goes to stderr: replaced by log()
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        log("request", method="GET", path=self.path, pid=os.getpid())
        if self.path == "/health":
            if self.mode == "never":
                return self._send(503, b'{"status": "starting"}')
            if self.mode == "html":
                return self._send(200, b"<!DOCTYPE html><html><body>hi</body></html>", "text/html")
            if self.mode == "text":
                return self._send(200, b"OK", "text/plain")
            return self._send(200, json.dumps({"status": "healthy", "pid": os.getpid()}).encode())
        if self.path == "/openapi.json":  # enough of a document for the harness to see the profile's surface
            paths = {path: {} for path in ("/api/auth/register", "/api/auth/login", "/api/users/me")}
            return self._send(200, json.dumps({"openapi": "3.0.3", "paths": paths}).encode())
        if self.path == "/redis":
            return self._send(*redis_status())
        if self.path == "/accounts":
            return self._send(200, json.dumps(load_accounts(self.server.data_dir)).encode())
        self._send(404, b'{"success": false}')

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        log("request", method="POST", path=self.path)
        if self.path == "/register":
            with smtplib.SMTP(os.environ["SMTP_HOST"], int(os.environ["SMTP_PORT"]), timeout=5) as smtp:
                smtp.sendmail(
                    "noreply@heallog.test",
                    [body["email"]],
                    f"Subject: HealLog verification code\r\nTo: {body['email']}\r\n\r\n"
                    "Your HealLog verification code is 654321\r\n",
                )
            return self._send(201, b'{"success": true}')
        self._send(404, b'{"success": false}')


def redis_status() -> tuple[int, bytes]:
    import redis

    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_timeout=1, socket_connect_timeout=1).ping()
        return 200, b'{"redis": "up"}'
    except redis.RedisError:
        return 503, b'{"redis": "down"}'


def load_accounts(data_dir: str) -> list:
    path = Path(data_dir) / "accounts.json"
    return json.loads(path.read_text()) if path.exists() else []


def stop_serving(signum, frame) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    mode = os.environ.get("STUB_MODE", "ok")
    if os.environ.get("ENVIRONMENT") == "production" and len(os.environ.get("SECRET_KEY", "")) < 32:
        log("refusing to start: SECRET_KEY is too short", level="error")
        return 1
    log("starting", mode=mode, port=args.port, debug=os.environ.get("DEBUG_JWT_DECODES"))
    if mode == "die":
        log("cannot connect to the database", level="error")
        return 3
    if mode == "child":
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    Handler.mode = mode
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.data_dir = args.data_dir
    signal.signal(signal.SIGTERM, stop_serving)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopping")
    return 0


def seed(args: argparse.Namespace) -> int:
    accounts = load_accounts(args.data_dir)
    password = sys.stdin.readline().rstrip("\n")  # the harness never puts it on the command line
    same = password == os.environ.get("CONFORMANCE_SEED_PASSWORD")
    accounts.append(
        {
            "email": args.email,
            "password": password,
            "plan": args.plan,
            "role": args.role,
            "argv": sys.argv,
            "environment_agrees": same,
        }
    )
    (Path(args.data_dir) / "accounts.json").write_text(json.dumps(accounts))
    print(json.dumps({"id": len(accounts)}))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    serve_parser = sub.add_parser("serve")
    serve_parser.add_argument("--port", type=int, required=True)
    serve_parser.add_argument("--data-dir", default=".")
    seed_parser = sub.add_parser("seed")
    for name in ("--email", "--data-dir"):
        seed_parser.add_argument(name, required=True)
    seed_parser.add_argument("--plan", default="basic")
    seed_parser.add_argument("--role", default="doctor")
    args = parser.parse_args()
    return serve(args) if args.command == "serve" else seed(args)


if __name__ == "__main__":
    sys.exit(main())

"""Shared helpers of the target tests: the stub SUT and a throwaway HTTP server."""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

STUB = Path(__file__).with_name("stub_sut.py")
STUB_SERVE = f"{{python}} {STUB} serve --port {{port}} --data-dir {{data_dir}}"
STUB_SEED = f"{{python}} {STUB} seed --email {{email}} --plan {{plan}} --role {{role}} --data-dir {{data_dir}}"


def stub_argv(port: int, data_dir: Path) -> list[str]:
    return [sys.executable, str(STUB), "serve", "--port", str(port), "--data-dir", str(data_dir)]


@pytest.fixture
def answering():
    """Start an in-process HTTP server answering every GET with (status, content type, body).

    With ``openapi`` (the default) ``/openapi.json`` documents the profile's paths, as the API would,
    so that the harness's wrong-target check sees its surface.
    """
    servers = []

    def start(status: int, content_type: str, body: bytes, *, openapi: bool = True) -> str:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                if openapi and self.path == "/openapi.json":
                    document = json.dumps({"openapi": "3.0.3", "paths": {"/api/users/me": {}}}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(document)))
                    self.end_headers()
                    self.wfile.write(document)
                    return
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()

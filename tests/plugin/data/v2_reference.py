"""The reference behind another surface: ``/v2/...`` instead of ``/api/...``, a JSON login body
(``{"email", "password"}``) instead of the form, camelCase operation ids (``signIn``, ``signUp``), the
document at ``/v2/openapi.json``, and a ``RateLimit-Policy`` header on the login's answers.

For ``heallog-conformance init`` and ``check-profile`` (tests/plugin/test_profile_init.py): a service whose
profile differs from the default the way real services do, and that still behaves like the reference, so
that a run with the profile init wrote can pass there. Run as ``python v2_reference.py --port P --data-dir D``
with the reference's environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

PREFIX, INNER = "/v2/", "/api/"
LOGIN = "/v2/auth/login"
RENAMED = {"login": "signIn", "register": "signUp"}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(word.title() for word in rest)


def rewrite_document(document: dict[str, Any]) -> dict[str, Any]:
    """The reference's document as this surface publishes it."""
    paths = {}
    for path, item in document.get("paths", {}).items():
        new_path = PREFIX + path[len(INNER) :] if path.startswith(INNER) else path
        for _method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                short = re.sub(r"_api_.*$|_(get|post|put|delete)$", "", operation["operationId"])
                operation["operationId"] = RENAMED.get(short, _camel(short))
        if new_path == LOGIN:
            item["post"]["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["email", "password"],
                            "properties": {"email": {"type": "string"}, "password": {"type": "string"}},
                        }
                    }
                },
            }
        paths[new_path] = item
    document["paths"] = paths
    document.setdefault("info", {})["title"] = "HealLog v2 surface"
    return document


class V2Surface:
    """ASGI middleware: the new paths and login body in, the reference's answers out."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.login_policy = os.environ.get("RATE_LIMIT_LOGIN", "60/60").replace("/", ";w=")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"]
        if path == PREFIX + "openapi.json":
            return await self._document(scope, receive, send)
        if path.startswith(INNER) or path == "/openapi.json":  # the old surface is not this service's
            scope = {**scope, "path": "/gone" + path, "raw_path": ("/gone" + path).encode()}
        elif path.startswith(PREFIX):
            inner = INNER + path[len(PREFIX) :]
            scope = {**scope, "path": inner, "raw_path": inner.encode()}
        if path == LOGIN and scope["method"] == "POST":
            scope, receive = await self._form_login(scope, receive)
            send = self._with_policy(send)
        return await self.app(scope, receive, send)

    async def _form_login(self, scope: dict[str, Any], receive: Any) -> tuple[dict[str, Any], Any]:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = None
        if isinstance(data, dict):  # JSON in: the reference's form out
            fields = {"username": data.get("email"), "password": data.get("password")}
            body = urlencode({k: v for k, v in fields.items() if isinstance(v, str)}).encode()
            headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-type", b"content-length")]
            headers += [
                (b"content-type", b"application/x-www-form-urlencoded"),
                (b"content-length", str(len(body)).encode()),
            ]
            scope = {**scope, "headers": headers}
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        return scope, replay

    def _with_policy(self, send: Any) -> Any:
        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [*message["headers"], (b"ratelimit-policy", self.login_policy.encode())],
                }
            await send(message)

        return sending

    async def _document(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        inner = {**scope, "path": "/openapi.json", "raw_path": b"/openapi.json"}
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def collect(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, collect)
        body = json.dumps(rewrite_document(json.loads(b"".join(chunks)))).encode()
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        await send(
            {
                "type": "http.response.start",
                "status": start.get("status", 200),
                "headers": [*headers, (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", required=True)
    args = parser.parse_args()
    from reference import serve

    build = serve.build_app
    serve.build_app = lambda *a, **k: V2Surface(build(*a, **k))  # type: ignore[assignment]
    return serve.serve("127.0.0.1", args.port, Path(args.data_dir))


if __name__ == "__main__":
    sys.exit(main())

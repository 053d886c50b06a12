"""A canned-answer HTTP server: how fast one locust worker can go when the SUT costs nothing.

On a two-core machine the reference saturates long before the load
generator does, so "how many requests per second does one locust worker
process sustain with the checks on" cannot be measured against it. Here the
reference answers each request of a profile once (recorded with the tokens
the profile will send), and this server replays those answers byte for byte,
keep-alive, from an asyncio loop: the checks see real, conforming responses
(envelope, request id, security headers, ``X-Debug-JWT-Decodes: 1``) at a
cost to the server of a dictionary lookup.

Not a SUT: it ignores methods, tokens and bodies, and answers 404 to paths
it did not record. The benchmark watches its CPU too, to show it was not the
limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import httpx

from conformance.wire import factory

#: Response headers that are recomputed (the body is replayed whole, so its length is exact).
HOP_BY_HOP = {b"transfer-encoding", b"connection", b"keep-alive", b"content-length", b"date"}
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
MAX_HEAD = 64 * 1024


def raw_response(response: httpx.Response) -> bytes:
    """``response`` as the bytes of an HTTP/1.1 answer (status line, headers, body)."""
    head = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode()]
    for name, value in response.headers.raw:
        if name.lower() not in HOP_BY_HOP:
            head.append(name + b": " + value)
    head.append(b"content-length: " + str(len(response.content)).encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + response.content


@dataclass(frozen=True)
class Recording:
    """One request to record: the path (query included in the request, not in the key) and its token."""

    path: str
    token: str | None


def record(base_url: str, requests: Iterable[Recording]) -> dict[str, bytes]:
    """Ask the real SUT each request once; path (without query) -> its answer's bytes."""
    answers = {}
    with factory.client(factory.Purpose.BENCH, base_url=base_url, recorder=None) as client:
        for wanted in requests:
            headers = {"Accept": "application/json"}
            if wanted.token:
                headers["Authorization"] = f"Bearer {wanted.token}"
            answers[wanted.path.split("?")[0]] = raw_response(client.get(wanted.path, headers=headers))
    return answers


class ReplayServer:
    """Serves ``answers`` on a loopback port from a thread of this process until :meth:`stop`."""

    def __init__(self, answers: dict[str, bytes]) -> None:
        self.answers = answers
        self.port = 0
        self.served = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="replay", daemon=True)
        self._cpu = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReplayServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the replay server did not start")
        return self

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def cpu_seconds(self) -> float:
        """CPU time of the server's thread so far (it samples itself: thread_time is per thread)."""
        return self._cpu

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=512))
        self.port = server.sockets[0].getsockname()[1]
        self._loop.call_soon(self._sample_cpu)
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            server.close()
            # Connections still open end here, on a running loop: left to the garbage collector, their
            # coroutines closed their writers on a closed loop ("Event loop is closed", an unraisable warning).
            open_connections = asyncio.all_tasks(self._loop)
            for task in open_connections:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*open_connections, return_exceptions=True))
            self._loop.close()

    def _sample_cpu(self) -> None:
        self._cpu = time.thread_time()
        self._loop.call_later(0.2, self._sample_cpu)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if len(head) > MAX_HEAD:
                    break
                request_line, _, header_block = head.partition(b"\r\n")
                parts = request_line.split(b" ")
                if len(parts) < 2:
                    break
                length = 0
                for line in header_block.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value.strip() or 0)
                if length:
                    await reader.readexactly(length)
                path = parts[1].split(b"?")[0].decode("latin-1")
                writer.write(self.answers.get(path, NOT_FOUND))
                self.served += 1
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

"""A witness of restarts: one kept-alive connection to the SUT, opened before the restart.

Deliberately not a pooled client: the point is one particular connection,
which a process that really restarted has closed. Counted like every request.
"""

from __future__ import annotations

import http.client
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from conformance.wire import usage

if TYPE_CHECKING:
    from conformance.profile import Profile

#: Seconds for the witness's connect and answer.
WITNESS_TIMEOUT = 5.0


class KeptConnection:
    """One kept-alive connection to the SUT, opened before a restart: a process that restarted has closed it.

    If the server answers a second request on it after the restart, the process
    that served the first one is still there: the restart did not happen.
    """

    def __init__(self, connection: http.client.HTTPConnection, method: str, path: str) -> None:
        self.connection, self.method, self.path = connection, method, path

    @classmethod
    def open(cls, base_url: str, profile: Profile) -> KeptConnection | None:
        parts = urlsplit(base_url)
        factory = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        connection = factory(parts.hostname or "", parts.port, timeout=WITNESS_TIMEOUT)
        op = profile.operation("health")
        try:
            usage.count("requests")
            connection.request(op.method, op.path)
            response = connection.getresponse()
            response.read()
        except (OSError, http.client.HTTPException):
            connection.close()
            return None
        if response.will_close:
            connection.close()
            return None  # no keep-alive: nothing to witness with
        return cls(connection, op.method, op.path)

    def still_served(self) -> bool:
        sock = self.connection.sock
        if sock is None:
            return False
        timeout = sock.gettimeout()  # kept: the second request must stay bounded
        try:
            sock.settimeout(0)
            try:
                if sock.recv(1, socket.MSG_PEEK) == b"":
                    return False  # closed by the server: it restarted (or dropped idle connections)
            except BlockingIOError:
                pass
            finally:
                sock.settimeout(timeout)
            usage.count("requests")
            self.connection.request(self.method, self.path)
            self.connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False

    def close(self) -> None:
        self.connection.close()

"""A tiny aiosmtpd sink for the OTP mail test (the harness has its own; this one serves these tests only)."""

from __future__ import annotations

import re
import threading
import time
from email import message_from_bytes

from aiosmtpd.controller import Controller

from tests.reference.server import free_port


class _Collect:
    def __init__(self) -> None:
        self.messages: list = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"


class MailSink:
    def __init__(self) -> None:
        self.handler = _Collect()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> MailSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def port(self) -> int:
        return self.controller.port

    def wait_for_code(self, recipient: str, timeout: float = 15.0) -> tuple[str, str]:
        """(subject, code) of the first mail to `recipient`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.handler.lock:
                for recipients, message in self.handler.messages:
                    if recipient in recipients:
                        match = re.search(r"Your HealLog verification code is (\d{6})", message.get_payload())
                        return message["Subject"], match.group(1) if match else ""
            time.sleep(0.05)
        raise TimeoutError(f"no mail for {recipient}")

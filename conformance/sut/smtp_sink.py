"""A real SMTP server on loopback that keeps every mail, so the harness can read OTP codes.

The managed SUT is pointed at it (SMTP_HOST/SMTP_PORT); ``wait_for_code``
finds the one-time code in the newest mail to an address.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass

from aiosmtpd.controller import Controller

from conformance.sut.ports import LOOPBACK

#: The reference's wording first, then any standalone code of the right length.
CODE_PHRASE = re.compile(r"verification code is\D{0,5}(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str


class _FreePortController(Controller):
    """aiosmtpd's Controller, bound to an ephemeral port (it connects to ``self.port`` once started)."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """Collects mails per recipient (lower-cased address); thread-safe."""

    def __init__(self, host: str = LOOPBACK) -> None:
        self.host = host
        self._mail: dict[str, list[Mail]] = {}
        self._arrived = threading.Condition()
        self._controller = _FreePortController(self, hostname=host, port=0)

    @property
    def port(self) -> int:
        return self._controller.port

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving; idempotent, and also frees the event loop of a sink never started."""
        if self._controller._thread is not None:  # Controller.stop asserts it is running
            self._controller.stop()
        elif not self._controller.loop.is_closed():
            self._controller.loop.close()

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's hook name
        """aiosmtpd handler hook: store the mail under each envelope recipient."""
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        mail = Mail(
            sender=envelope.mail_from or "",
            recipients=tuple(r.lower() for r in envelope.rcpt_tos),
            subject=str(message.get("subject", "")),
            text=_text_of(message),
        )
        with self._arrived:
            for recipient in mail.recipients:
                self._mail.setdefault(recipient, []).append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def messages(self, address: str) -> list[Mail]:
        with self._arrived:
            return list(self._mail.get(address.lower(), ()))

    def wait_for_code(self, address: str, timeout: float = 10.0, *, length: int = 6) -> str | None:
        """The code in the newest mail to ``address`` that has one, waiting up to ``timeout`` s; else None."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for mail in reversed(self._mail.get(address.lower(), ())):
                    code = find_code(mail, length)
                    if code is not None:
                        return code
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._arrived.wait(remaining)


def find_code(mail: Mail, length: int = 6) -> str | None:
    """The one-time code of ``length`` digits in a mail (subject or text), or None."""
    for text in (mail.text, mail.subject):
        match = CODE_PHRASE.search(text)
        if match and len(match.group(1)) == length:
            return match.group(1)
    for text in (mail.text, mail.subject):
        match = re.search(rf"(?<!\d)\d{{{length}}}(?!\d)", text)
        if match:
            return match.group(0)
    return None


def _text_of(message: email.message.EmailMessage) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_maintype() == "text":
            try:
                parts.append(part.get_content())
            except (LookupError, ValueError):
                parts.append(part.get_payload(decode=True).decode("utf-8", "replace"))
    return "\n".join(parts)

"""One-time codes: generation and delivery by SMTP (plain outside production)."""

from __future__ import annotations

import asyncio
import secrets
import smtplib
from email.message import EmailMessage

from reference.config import Settings
from reference.logs import get_logger

log = get_logger("heallog.mail")
SUBJECT = "HealLog verification code"
SMTP_TIMEOUT_SECONDS = 10


class OTPMailer:
    def __init__(self, settings: Settings) -> None:
        self.fixed_code = settings.reference_fixed_otp or None
        if settings.email_enabled and settings.email_host:
            self.host, self.port = settings.email_host, settings.email_port
            self.user, self.password = settings.email_user, settings.email_password
        else:
            self.host, self.port = settings.smtp_host, settings.smtp_port
            self.user = self.password = None
        # Plain SMTP is for development sinks only; production mail goes over STARTTLS.
        self.starttls = settings.is_production
        self.sender = settings.email_from or "no-reply@heallog.local"

    def new_code(self) -> str:
        return self.fixed_code or f"{secrets.randbelow(10**6):06d}"

    def _send(self, recipient: str, code: str) -> None:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = recipient
        message["Subject"] = SUBJECT
        message.set_content(f"Your HealLog verification code is {code}\n\nIt expires in 10 minutes.\n")
        with smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.user and self.password:
                smtp.login(self.user, self.password)
            smtp.send_message(message)

    async def send_code(self, recipient: str, code: str) -> None:
        """Deliver the code; a delivery failure is logged, not raised (the user can ask again)."""
        if not self.host:
            log.info("otp not mailed: no SMTP server configured", email=recipient)
            return
        try:
            await asyncio.to_thread(self._send, recipient, code)
            log.info("otp mailed", email=recipient)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("otp delivery failed", email=recipient, error_type=type(exc).__name__)

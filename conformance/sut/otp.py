"""Where a new account's one-time code comes from: a mailbox, a command, or a fixed value.

Contract §2: a black-box harness needs an OTP source. Each source is one
callable ``code(email, timeout) -> str`` that raises :class:`TargetError` when
the code cannot be had (the account fixture then fails with that message).
"""

from __future__ import annotations

import re
import time

from conformance.sut.errors import TargetError
from conformance.sut.process import render_command, run_bounded
from conformance.sut.smtp_sink import SmtpSink

COMMAND_TIMEOUT = 10.0
RETRY_INTERVAL = 0.5


class FixedOtp:
    """``--fixed-otp``: the SUT runs in a test mode that pins every code."""

    def __init__(self, code: str) -> None:
        self.value = code

    def code(self, email: str, timeout: float) -> str:
        return self.value


class CommandOtp:
    """``--otp-cmd 'cmd {email}'``: a command that prints the code; retried until it does."""

    def __init__(self, template: str, length: int) -> None:
        self.template = template
        self.length = length
        render_command(template, {"email": "probe@example.com"}, option="--otp-cmd")  # fail early on typos

    def code(self, email: str, timeout: float) -> str:
        command = render_command(self.template, {"email": email}, option="--otp-cmd")
        deadline = time.monotonic() + timeout
        last = ""
        while True:
            try:
                done = run_bounded(command, timeout=COMMAND_TIMEOUT, what="--otp-cmd")
                match = re.search(rf"(?<!\d)\d{{{self.length}}}(?!\d)", done.stdout)
                if done.returncode == 0 and match:
                    return match.group(0)
                last = f"exit code {done.returncode}" + (
                    f", stderr {done.stderr.strip()[-200:]!r}" if done.stderr.strip() else ""
                )
            except TargetError as exc:
                last = str(exc)
            if time.monotonic() + RETRY_INTERVAL > deadline:
                # Never the output itself: it may hold the code of another account.
                raise TargetError(
                    f"--otp-cmd printed no {self.length}-digit code for {email} within {timeout:g} s ({last})"
                )
            time.sleep(RETRY_INTERVAL)


class MailboxOtp:
    """Managed mode: the code from the mail the SUT sent to the harness's SMTP sink."""

    def __init__(self, sink: SmtpSink, length: int = 6) -> None:
        self.sink = sink
        self.length = length

    def code(self, email: str, timeout: float) -> str:
        found = self.sink.wait_for_code(email, timeout, length=self.length)
        if found is None:
            got = len(self.sink.messages(email))
            raise TargetError(
                f"no {self.length}-digit verification code mailed to {email} within {timeout:g} s "
                f"({got} mail(s) arrived for it at the SMTP sink {self.sink.host}:{self.sink.port})"
            )
        return found

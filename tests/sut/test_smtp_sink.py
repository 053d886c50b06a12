"""The SMTP sink: real SMTP in, codes out."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest

from conformance.sut.smtp_sink import SmtpSink


@pytest.fixture
def sink():
    started = SmtpSink().start()
    yield started
    started.stop()


def send(sink: SmtpSink, to: str, text: str, *, cte: str | None = None) -> None:
    message = EmailMessage()
    message["From"] = "noreply@heallog.test"
    message["To"] = to
    message["Subject"] = "HealLog verification code"
    message.set_content(text, cte=cte) if cte else message.set_content(text)
    with smtplib.SMTP(sink.host, sink.port, timeout=5) as smtp:
        smtp.send_message(message)


def test_code_of_a_mail_sent_with_smtplib_is_found(sink):
    send(sink, "user-1@example.com", "Your HealLog verification code is 123456")
    assert sink.wait_for_code("user-1@example.com", timeout=5) == "123456"


def test_recipient_address_is_case_insensitive(sink):
    send(sink, "User-2@Example.COM", "Your HealLog verification code is 222222")
    assert sink.wait_for_code("user-2@example.com", timeout=5) == "222222"


def test_the_newest_mail_wins(sink):
    send(sink, "user-3@example.com", "Your HealLog verification code is 111111")
    send(sink, "user-3@example.com", "Your HealLog verification code is 333333")
    assert sink.wait_for_code("user-3@example.com", timeout=5) == "333333"
    assert len(sink.messages("user-3@example.com")) == 2


def test_encoded_bodies_are_decoded(sink):
    send(sink, "user-4@example.com", "Bonjour, votre code : 444444 (valable 10 minutes)", cte="base64")
    assert sink.wait_for_code("user-4@example.com", timeout=5) == "444444"


def test_no_mail_gives_none_after_the_timeout(sink):
    send(sink, "someone-else@example.com", "Your HealLog verification code is 555555")
    assert sink.wait_for_code("user-5@example.com", timeout=0.3) is None


def test_stop_frees_the_port_and_is_idempotent(sink):
    port = sink.port
    sink.stop()
    sink.stop()
    with pytest.raises(OSError):
        smtplib.SMTP(sink.host, port, timeout=2)

"""The reference's log masking over free text (LOG-1): what an access log writes is scanned too."""

from __future__ import annotations

import pytest

from reference.masking import mask_sensitive, scrub_text


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("/api/patients/+491555556666", "/api/patients/***6666"),
        ("call +49 (151) 234-5678 now", "call ***5678 now"),
        ("/api/patients/alice@example.com", "/api/patients/ali***@***.com"),
        ("Bearer eyJhbGciOi.eyJzdWIi.c2ln", "Bearer [redacted]"),
    ],
)
def test_free_text_is_masked(text, masked):
    assert scrub_text(text) == masked


@pytest.mark.parametrize("text", ["2026-12-01T11:38:52+00:00", "+12345", "id 4915123456789", "duration 1234567 ms"])
def test_numbers_that_are_no_international_phone_are_kept(text):
    assert scrub_text(text) == text


def test_a_path_holding_a_phone_is_masked_in_an_access_line():
    line = mask_sensitive(None, "info", {"event": "request", "path": "/api/patients/+491555556666"})
    assert line["path"] == "/api/patients/***6666"

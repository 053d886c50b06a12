"""The one masking vocabulary: every output masks JWTs and secret names the same way."""

from __future__ import annotations

import pytest

from conformance import exchange, redaction
from conformance.render import har, masking

SIGNED = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJlLXZhbHVl"


@pytest.mark.parametrize(
    "text",
    [
        f"Bearer {SIGNED}",
        "alg none: eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",  # unsigned (empty signature)
        "empty claims: eyJhbGciOiJIUzI1NiJ9..c2ln",  # empty payload: a forged variant the old render pattern missed
        f"token{SIGNED}",  # no word boundary before it: the old render pattern missed it
        "short header: eyJhbGc.eyJzdWIiOiIxIn0.c2ln",  # 4 characters after eyJ: the old redaction pattern missed it
    ],
)
def test_every_output_masks_a_jwt_with_the_one_pattern(text):
    for mask in (redaction.redact, masking.mask_text):
        masked = mask(text)
        assert "eyJ" not in masked and redaction.MASK in masked, (mask, masked)


def test_the_vocabulary_is_defined_once_and_shared():
    assert exchange.MASK is redaction.MASK and masking.MASK is redaction.MASK and har.MASK is redaction.MASK
    assert exchange.SECRET_FIELDS is redaction.SECRET_FIELDS is masking.SECRET_FIELDS is har.SECRET_FIELDS
    assert exchange.SECRET_HEADERS is redaction.SECRET_HEADERS is masking.SECRET_HEADERS is har.SECRET_HEADERS
    assert masking.JWT_PATTERN is redaction.JWT_PATTERN
    assert not hasattr(masking, "JWT")


def test_text_already_masked_stays_as_it_is():
    text = f'password={redaction.MASK} {{"token": "{redaction.MASK}"}}\nauthorization: Bearer {redaction.MASK}'
    assert masking.mask_text(text) == text

"""RID-1: the envelope's request_id is generated afresh instead of taken from the request context."""

import uuid

from reference.envelope import EnvelopeRenderer


class FreshIdRenderer(EnvelopeRenderer):
    def body(self, error):
        body = super().body(error)
        body["request_id"] = str(uuid.uuid4())
        return body


def apply(components) -> None:
    components.renderer = FreshIdRenderer()

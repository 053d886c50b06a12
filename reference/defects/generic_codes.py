"""ENV-3: every error carries the code UNKNOWN_ERROR."""

from reference.envelope import EnvelopeRenderer


class GenericCodeRenderer(EnvelopeRenderer):
    def body(self, error):
        body = super().body(error)
        body["error"]["code"] = "UNKNOWN_ERROR"
        return body


def apply(components) -> None:
    components.renderer = GenericCodeRenderer()

"""ENV-6: the 500's message is the traceback (file paths, exception class, message); the envelope's shape is kept."""

import traceback

from reference.middleware.error_layer import ErrorLayerMiddleware


class TracebackErrorLayer(ErrorLayerMiddleware):
    def error_body(self, exc):
        body = super().error_body(exc)
        body["error"]["message"] = "".join(traceback.format_exception(exc))
        return body


def apply(components) -> None:
    components.error_layer = TracebackErrorLayer

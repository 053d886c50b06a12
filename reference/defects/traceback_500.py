"""ENV-6: the 500 body carries the traceback (file paths, exception class, message)."""

import traceback

from reference.middleware.error_layer import ErrorLayerMiddleware


class TracebackErrorLayer(ErrorLayerMiddleware):
    def error_body(self, exc):
        body = super().error_body(exc)
        body["error"]["message"] = f"{type(exc).__name__}: {exc}"
        body["traceback"] = traceback.format_exception(exc)
        return body


def apply(components) -> None:
    components.error_layer = TracebackErrorLayer

"""LOG-2: human-readable text lines built with an f-string instead of JSON objects (masking unchanged)."""


def render_text(_logger, _method, event_dict) -> str:
    timestamp = event_dict.pop("timestamp", "-")
    level = str(event_dict.pop("level", "info")).upper()
    event = event_dict.pop("event", "")
    fields = " ".join(f"{key}={value}" for key, value in event_dict.items())
    return f"{timestamp} {level} {event} {fields}".rstrip()


def apply(components) -> None:
    components.log_format.renderer = render_text

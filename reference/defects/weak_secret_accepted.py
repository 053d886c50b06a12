"""CONF-1: production starts with a short or placeholder SECRET_KEY (the other production checks remain)."""

from reference.config import secret_key_is_strong


def apply(components) -> None:
    components.production_checks = tuple(c for c in components.production_checks if c is not secret_key_is_strong)

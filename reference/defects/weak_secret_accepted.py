"""CONF-1: production starts with a short or placeholder SECRET_KEY (the other production checks remain)."""

from reference.config import secret_key_is_strong


def production_checks(checks):
    return tuple(check for check in checks if check is not secret_key_is_strong)

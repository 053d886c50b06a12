"""Profiles: one SUT's HTTP surface, as data.

The suites name logical operations (``login``, ``me``...) and read limits,
codes and header names from here, never hard-coded paths. The default profile
is the HealLog API (``default.toml``, which is also the schema of what a
profile can say); ``--profile FILE`` overrides any part of it (the file is
merged over the default, so a profile only states what differs). The typed
model is :mod:`conformance.profile.model`, the reading and validation
:mod:`conformance.profile.loader`.
"""

from conformance.profile.loader import load
from conformance.profile.model import (
    Accounts,
    Codes,
    Config,
    Cors,
    GuardClasses,
    Headers,
    Limits,
    Login,
    Operation,
    Profile,
    ProfileError,
    Rate,
    RateLimits,
    Sources,
    Tokens,
)

__all__ = [
    "Accounts",
    "Codes",
    "Config",
    "Cors",
    "GuardClasses",
    "Headers",
    "Limits",
    "Login",
    "Operation",
    "Profile",
    "ProfileError",
    "Rate",
    "RateLimits",
    "Sources",
    "Tokens",
    "load",
]

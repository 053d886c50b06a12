"""The swappable parts of the service, in one place.

The application is assembled from a `Components` value; each defect of the
catalogue (reference/defects/) replaces exactly one or two of these fields
with a sibling implementation. The clean service is `Components()`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reference.credentials import CredentialErrors, OTPOutcomes
from reference.envelope import EnvelopeRenderer, install_error_handlers
from reference.guards import Guards
from reference.list_cache import ListCache, PerUserKeys
from reference.lockout import LoginFailures, RedisLockout
from reference.logout import Logout
from reference.logs import LogFormat
from reference.middleware.access_log import AccessLogMiddleware
from reference.middleware.auth import AuthMiddleware, TokenTypes
from reference.middleware.body_limit import BodyLimitMiddleware
from reference.middleware.cors import CORSMiddleware
from reference.middleware.error_layer import ErrorLayerMiddleware
from reference.middleware.request_id import RequestIdMiddleware
from reference.middleware.security_headers import SecurityHeadersMiddleware
from reference.patient_ids import CounterPatientIds, PatientIdGenerator
from reference.patient_scope import PatientScope
from reference.revocation import RedisRevocationStore
from reference.search import LiteralSearch, SearchMatcher
from reference.tokens import TokenService


@dataclass
class Components:
    # error rendering
    renderer: EnvelopeRenderer = field(default_factory=EnvelopeRenderer)
    install_error_handlers: Callable[..., None] = install_error_handlers
    # middlewares (their order is fixed in reference.app.build_middleware)
    security_headers: type = SecurityHeadersMiddleware
    request_id: type = RequestIdMiddleware
    error_layer: type = ErrorLayerMiddleware
    cors: type = CORSMiddleware
    body_limit: type = BodyLimitMiddleware
    auth: type = AuthMiddleware
    access_log: type = AccessLogMiddleware
    log_format: LogFormat = field(default_factory=LogFormat)
    # authentication and authorization
    tokens: type = TokenService  # built with the secret at start-up
    token_types: TokenTypes = field(default_factory=TokenTypes)
    guards: Guards = field(default_factory=Guards)
    logout: Logout = field(default_factory=Logout)
    credential_errors: CredentialErrors = field(default_factory=CredentialErrors)
    otp_outcomes: OTPOutcomes = field(default_factory=OTPOutcomes)
    # stores (factories: they need the Redis client, which exists only at start-up)
    revocation: Callable[..., Any] = RedisRevocationStore
    lockout: Callable[..., Any] = RedisLockout
    login_failures: LoginFailures = field(default_factory=LoginFailures)
    list_cache: Callable[..., Any] = ListCache
    list_cache_keys: PerUserKeys = field(default_factory=PerUserKeys)
    # data
    patient_ids: PatientIdGenerator = field(default_factory=CounterPatientIds)
    patient_scope: PatientScope = field(default_factory=PatientScope)
    search: SearchMatcher = field(default_factory=LiteralSearch)
    # FastAPI's app.dependency_overrides; the published OpenAPI document is still built from the
    # routes' own dependencies, so an override changes what is enforced, not what is documented.
    dependency_overrides: dict[Callable, Callable] = field(default_factory=dict)

"""Production start-up refuses unsafe configurations (CONF-1).

Managed mode only (external: not run): each case starts a fresh SUT process
with a sound production configuration changed in exactly one way, and the
process must exit non-zero within the bound, naming the setting. The sound
configuration itself is the positive control: if it does not start, a refusal
proves nothing. Variable names come from the profile's ``[config]`` table.
"""

from __future__ import annotations

import secrets
import string

import pytest

from conformance.checks import configuration

#: A global side effect (restart, store outage, extra SUT processes): under pytest -n nothing else runs meanwhile.
pytestmark = pytest.mark.exclusive

#: Seconds within which a refusing SUT must have exited (contract §6).
BOUND = 10.0
#: Extra seconds the harness waits, so that a late exit is reported as late rather than as "still running".
GRACE = 5.0
WEAK_SECRETS = {
    "short": "Zq8#kP2!wX5m",
    "containing 'secret'": "kP2wX5mZq8vR7tY3" + "SeCrEt" + "nB6cL9dF4gH1jK0s",
    "containing 'changeme'": "kP2wX5mZq8vR7tY3" + "changeme" + "nB6cL9dF4gH1jK0s",
    "containing 'your-secret-key'": "your-secret-key-" + "kP2wX5mZq8vR7tY3nB6cL9dF4gH1jK0s",
}


def _strong_secret() -> str:
    alphabet = string.ascii_letters + string.digits
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(64))
        if not any(word in candidate.lower() for word in ("secret", "changeme")):
            return candidate


@pytest.fixture(scope="module")
def names(profile) -> dict:
    return profile.config


@pytest.fixture(scope="module")
def sound(names) -> dict[str, str | None]:
    """A production configuration with a strong secret, complete email settings and no instrumentation."""
    values = ["127.0.0.1", "heallog", "Mail-Pass-12345!", "noreply@example.com"]  # host, user, password, from
    email = dict(zip(names.email_settings, values))
    return {
        names.environment: names.production_value,
        names.secret_key: _strong_secret(),
        names.email_enabled: "true",
        **email,
        names.debug_decodes: None,
    }


@pytest.fixture(scope="module")
def sound_start(target, sound, run_options):
    """The positive control, started once for the module: bounded by --startup-timeout, not by the contract's
    10 s, which is the bound on *refusing* (a busy machine may take longer to start a sound configuration)."""
    bound = run_options.sut.startup_timeout
    result = target.start_with(sound, timeout=bound + GRACE)
    configuration.started(result, situation="a sound production configuration", bound=bound)
    return result


@pytest.mark.requirement("CONF-1")
@pytest.mark.parametrize(
    "situation",
    [
        pytest.param(
            s, marks=pytest.mark.clause("CONF-1/short-secret" if s == "short" else "CONF-1/placeholder-secret")
        )
        for s in WEAK_SECRETS
    ],
)
def test_weak_secret_key_is_refused(situation, sound_start, target, sound, names):
    result = target.start_with({**sound, names.secret_key: WEAK_SECRETS[situation]}, timeout=BOUND + GRACE)

    configuration.refused_to_start(result, setting=names.secret_key, bound=BOUND, situation=f"a secret {situation}")


@pytest.mark.requirement("CONF-1")
@pytest.mark.parametrize(
    "missing",
    [
        pytest.param(n, id=name, marks=pytest.mark.clause(f"CONF-1/email-{name}"))
        for n, name in enumerate(("host", "user", "password", "from"))
    ],
)
def test_incomplete_email_settings_are_refused(missing, sound_start, target, sound, names):
    setting = names.email_settings[missing]
    result = target.start_with({**sound, setting: None}, timeout=BOUND + GRACE)

    configuration.refused_to_start(
        result, setting=setting, bound=BOUND, situation=f"{names.email_enabled}=true without {setting}"
    )


@pytest.mark.requirement("CONF-1")
@pytest.mark.clause("CONF-1/debug-instrumentation")
def test_debug_instrumentation_is_refused_in_production(sound_start, target, sound, names):
    setting = names.debug_decodes
    result = target.start_with({**sound, setting: "1"}, timeout=BOUND + GRACE)

    configuration.refused_to_start(result, setting=setting, bound=BOUND, situation=f"{setting}=1 in production")

"""The requirement catalogue and the profile loader: data errors are caught early and clearly."""

import pytest

from conformance import profile as profiles
from conformance import requirements


def test_catalogue_has_every_contract_requirement_in_order():
    ids = list(requirements.catalogue())
    assert ids[0] == "ENV-1" and ids[-1] == "PERF-1" and len(ids) == 42
    assert requirements.get("RID-2").level == "SHOULD"


def test_select_accepts_globs_and_rejects_unknown_patterns():
    assert requirements.select("AUTH-*,env-1") == ["ENV-1"] + [f"AUTH-{n}" for n in range(1, 8)]
    with pytest.raises(ValueError, match="NOPE-1"):
        requirements.select("NOPE-1")


def test_default_profile_loads_and_fills_paths():
    profile = profiles.load()
    assert profile.operation("get_patient").url_path(id="abc") == "/api/patients/abc"
    assert profile.rate_limits.of("login") == profiles.Rate(60, 60.0)
    assert profile.rate_limits.of("me") is None


def test_profile_override_is_merged_over_the_default(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[operations.login]\nbody = "json"\n[rate_limits]\nlogin = "5/1"\n')
    profile = profiles.load(path)
    assert profile.operation("login").body == "json" and profile.operation("login").path == "/api/auth/login"
    assert profile.rate_limits.login == profiles.Rate(5, 1.0) and str(profile.rate_limits.login) == "5/1"
    assert profile.login.body("a@b.c", "pw") == {"json": {"username": "a@b.c", "password": "pw"}}


def test_profile_owns_the_rules_readers_used_to_rebuild():
    profile = profiles.load()
    assert profile.login.body("a@b.c", "pw") == {"data": {"username": "a@b.c", "password": "pw"}}
    assert profile.accounts.otp_length == 6 and profile.accounts.password_length(200) == 128
    assert not profile.hsts_required("http://127.0.0.1:8000/health")
    assert profile.hsts_required("HTTPS://staging.example.org/health")
    assert profile.is_api_path("http://sut/api/users/me") and not profile.is_api_path("/health")
    assert profile.guard_operation("role").role == "admin"
    addresses = [
        profile.sources.fuzz,
        profile.sources.envelope_rate_burst,
        profile.sources.rate_limit_burst,
        profile.sources.scenarios_first,
    ]
    assert len(set(addresses)) == len(addresses), "one allocation table: no two suites share a source address"
    assert "RATE_LIMIT_LOGIN" in profile.config.variable_names()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[limitz]\nmax_body_bytes = 5\n", "unknown section 'limitz'; did you mean limits?"),
        ("[limits]\nmax_body_byte = 5\n", "unknown key 'limits.max_body_byte'; did you mean limits.max_body_bytes?"),
        ("[operations.logn]\npath = '/x'\n", "unknown section 'operations.logn'; did you mean operations.login?"),
        ("[limits]\nlogin_rate = '5/60'\n", "'limits.login_rate' has moved: write it as rate_limits.login"),
        ("[limits]\nmax_body_bytes = '10'\n", "limits.max_body_bytes must be a number, not a string"),
        ("limits = 5\n", "limits must be a table"),
    ],
)
def test_a_misspelt_or_misplaced_key_is_an_error_naming_the_closest_valid_one(tmp_path, text, message):
    path = tmp_path / "typo.toml"
    path.write_text(text)
    with pytest.raises(profiles.ProfileError) as raised:
        profiles.load(path)
    assert message in str(raised.value) and "\n" not in str(raised.value), "one line"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[operations.me]\nguard = 'admin'\n", "operations.me.guard"),
        ("[rate_limits]\nlogin = 'often'\n", "rate_limits.login"),
        ("[profile]\nauthorization = 'magic'\n", "profile.authorization"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_invalid_profile_is_one_clear_error(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(profiles.ProfileError, match=message):
        profiles.load(path)


def test_missing_profile_file_is_named(tmp_path):
    with pytest.raises(profiles.ProfileError, match="no such file"):
        profiles.load(tmp_path / "absent.toml")


def test_any_deployment_name_is_accepted_and_production_rules_follow_the_name_or_the_flag(tmp_path):
    path = tmp_path / "staging.toml"
    path.write_text('[profile]\nenvironment = "staging"\n')
    staging = profiles.load(path)
    assert staging.environment == "staging" and not staging.is_production
    assert not staging.hsts_required("http://staging.internal/health")
    path.write_text('[profile]\nenvironment = "staging"\nproduction = true\n')
    assert profiles.load(path).is_production and profiles.load(path).hsts_required("http://staging.internal/")
    path.write_text('[profile]\nenvironment = "production"\n')
    assert profiles.load(path).is_production


def test_any_operation_of_the_profile_can_declare_a_rate_limit(tmp_path):
    """A real service limits more than login and register (change-password 3 an hour...): declared, paced."""
    from conformance.wire.pacing import Pacer

    path = tmp_path / "p.toml"
    path.write_text('[rate_limits]\nchange_password = "3/3600"\ncreate_patient = "20/60"\nlogin = "5/60"\n', "utf-8")
    loaded = profiles.load(str(path))
    assert str(loaded.rate_limits.of("change_password")) == "3/3600"
    assert str(loaded.rate_limits.login) == "5/60" and loaded.rate_limits.of("me") is None
    waits: list[float] = []
    pacer = Pacer(loaded, sleep=waits.append)
    for _ in range(21):
        pacer.wait_turn("create_patient")
    assert len(waits) == 1 and waits[0] > 59, "the 21st patient created waits for the next minute"


def test_a_misspelt_operation_in_rate_limits_is_named_with_the_closest(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[rate_limits]\nchnage_password = "3/3600"\n', "utf-8")
    with pytest.raises(
        profiles.ProfileError,
        match="unknown operation 'rate_limits.chnage_password'; did you mean rate_limits.change_password",
    ):
        profiles.load(str(path))


def test_every_moved_key_is_named_at_once(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[limits]\nlogin_rate = "5/60"\nregister_rate = "5/60"\n', "utf-8")
    with pytest.raises(profiles.ProfileError) as raised:
        profiles.load(str(path))
    assert "rate_limits.login" in str(raised.value) and "rate_limits.register" in str(raised.value)

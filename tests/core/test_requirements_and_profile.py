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
    assert profile.rate("login_rate") == (60, 60.0)


def test_profile_override_is_merged_over_the_default(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('[operations.login]\nbody = "json"\n[limits]\nlogin_rate = "5/1"\n')
    profile = profiles.load(path)
    assert profile.operation("login").body == "json" and profile.operation("login").path == "/api/auth/login"
    assert profile.rate("login_rate") == (5, 1.0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[operations.me]\nguard = 'admin'\n", "operations.me.guard"),
        ("[limits]\nlogin_rate = 'often'\n", "limits.login_rate"),
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

"""RunOptions holds the target's settings (composition): every option has one field, every default one place."""

from __future__ import annotations

import dataclasses

from conformance.run import options
from conformance.run.options import OPTIONS, SETTING_OF, RunOptions
from conformance.sut.settings import DEFAULT_SERVICES, TargetSettings


def names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_no_run_option_repeats_a_target_setting():
    assert names(RunOptions) & (names(TargetSettings) | set(SETTING_OF)) == set()
    assert set(SETTING_OF.values()) <= names(TargetSettings)


def test_every_option_is_one_field_of_the_run_or_of_the_target():
    for option in OPTIONS:
        name = options.option_key(option)
        owners = [cls for cls in (RunOptions, TargetSettings) if SETTING_OF.get(name, name) in names(cls)]
        assert len(owners) == 1, (option, owners)
    assert "sut_env" in names(TargetSettings) and "base_url" in names(TargetSettings)  # the two read by hand


def test_defaults_are_written_once_and_the_help_shows_them_from_there():
    assert RunOptions().sut == TargetSettings()
    assert TargetSettings().services == TargetSettings(services=[]).services == list(DEFAULT_SERVICES)
    assert options.default_text("--startup-timeout") == f" Default: {TargetSettings().startup_timeout:g}."
    assert options.default_text("--fuzz-budget") == f" Default: {RunOptions().fuzz_budget:g}."
    assert options.default_text("--services") == f" Default: {', '.join(DEFAULT_SERVICES)}."
    assert options.default_text("--jwt-secret") == ""
    assert not [option for option, (_, help_text) in OPTIONS.items() if "Default:" in help_text]


def test_the_settings_repr_shows_no_secret():
    settings = TargetSettings(jwt_secret="s3cr3t-signing", fixed_otp="123456", sut_env={"SECRET_KEY": "k3y-value"})
    shown = repr(RunOptions(sut=settings))
    assert "s3cr3t-signing" not in shown and "123456" not in shown and "k3y-value" not in shown

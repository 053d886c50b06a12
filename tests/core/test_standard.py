"""The standard as shipped: the catalogue against CONTRACT.md, docs/standard.md, `requirements`/`explain`.

CONTRACT.md is the standard's source document, kept beside the repository
(../shared/CONTRACT.md). The catalogue must carry its §7 table exactly (every
ID, level and text) and quote its other passages word for word.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import pytest

from conformance import requirements, standard

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = ROOT.parent / "shared" / "CONTRACT.md"


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


@pytest.fixture(scope="module")
def contract() -> str:
    if not CONTRACT.exists():
        pytest.skip(f"the standard's source document is not beside the repository ({CONTRACT})")
    return CONTRACT.read_text("utf-8")


def catalogue_table(contract: str) -> dict[str, tuple[str, str]]:
    """ID -> (level, text) from the rows of §7."""
    section = contract[contract.index("## 7. Requirement catalogue") :]
    rows = re.findall(r"^\| ([A-Z]+-\d+) \| (MUST|SHOULD) \| (.*) \|$", section, re.MULTILINE)
    return {rid: (level, text) for rid, level, text in rows}


def test_catalogue_has_every_requirement_of_the_standard_with_its_level_and_text(contract):
    table = catalogue_table(contract)
    assert len(table) == 42 and "AUTH-7" in table
    assert list(requirements.catalogue()) == list(table)
    for rid, (level, text) in table.items():
        req = requirements.get(rid)
        assert (req.level, req.text) == (level, text), rid


def test_rules_quote_the_standard_word_for_word(contract):
    flat = normalise(contract)
    for req in requirements.catalogue().values():
        for rule in req.rules:
            for line in rule.splitlines():  # table rows and the envelope's JSON are quoted line by line
                assert normalise(line) in flat, f"{req.id}: not in the standard: {line!r}"


def test_quoted_table_rows_come_with_their_header_so_they_render_as_tables():
    for req in requirements.catalogue().values():
        for rule in req.rules:
            if rule.startswith("|"):
                header, delimiter, *rows = rule.splitlines()
                assert re.fullmatch(r"(\|---)+\|", delimiter) and rows, req.id
                assert header.count("|") == delimiter.count("|") == rows[0].count("|"), req.id


def test_every_requirement_says_what_is_probed_what_it_needs_and_how_to_fix_it():
    for req in requirements.catalogue().values():
        assert req.title and len(req.title) <= 40, req.id
        assert len(req.probes) > 40 and len(req.fix) > 40, req.id
        assert not set(req.needs) & set(req.more_with), req.id
    needs = {rid: req.needs for rid, req in requirements.catalogue().items()}
    assert needs["LOG-1"] == ("log-access",) and needs["REV-3"] == ("restart",) and needs["PERF-1"] == ("load",)
    assert needs["CONF-1"] == ("managed-mode",) and needs["REV-5"] == ("store-control",)


def test_an_unknown_capability_in_the_catalogue_is_an_error(monkeypatch):
    text = resources.files("conformance").joinpath("requirements.toml").read_text("utf-8")
    broken = tomllib.loads(text)
    broken["requirement"]["ENV-1"]["needs"] = ["telepathy"]
    monkeypatch.setattr(requirements, "_load", lambda: broken)
    requirements.catalogue.cache_clear()
    try:
        with pytest.raises(requirements.CatalogueError, match="telepathy"):
            requirements.catalogue()
    finally:
        monkeypatch.undo()
        requirements.catalogue.cache_clear()


def test_unknown_id_suggests_the_nearest():
    with pytest.raises(KeyError, match="did you mean AUTH-7"):
        requirements.get("AUTH7")


def test_docs_standard_md_is_rendered_from_the_catalogue():
    current = (ROOT / "docs" / "standard.md").read_text("utf-8")
    assert current == standard.markdown(), "docs/standard.md is out of date: python scripts/render_standard.py"


def test_docs_standard_md_has_every_requirement_with_level_needs_and_fix():
    text = standard.markdown()
    for req in requirements.catalogue().values():
        section = text[text.index(f"### {req.id}: {req.title}") :]
        section = section[: section.index("\n### ")] if "\n### " in section else section
        assert f"**{req.level}.** {req.text}" in section
        assert "**What the harness probes.**" in section and "**Needs.**" in section
        assert f"**How a backend fixes a failure.** {req.fix}" in section


def test_explain_prints_text_rules_probes_needs_and_fix():
    text = standard.explain("REV-3")
    req = requirements.get("REV-3")
    for heading in ("The standard:", "What the harness probes:", "What it needs:", "How a backend fixes a failure:"):
        assert heading in text
    assert text.startswith("REV-3  Revocation survives a restart  (MUST, Revocation (§6))")
    assert normalise(req.text) in normalise(text) and normalise(req.rules[0]) in normalise(text)
    assert "restart: managed mode; against --base-url: --restart-cmd CMD" in text
    assert "heallog-conformance --requirements REV-3" in text


def test_explain_keeps_table_rows_whole():
    row = "    | 404 | NOT_FOUND | missing resource (`context.resource`, `context.identifier`) and unknown routes |"
    assert row in standard.explain("ENV-3").splitlines()  # a row of the whole table
    assert row in standard.explain("ENV-4").splitlines()  # a rule that is one row


def test_listing_has_id_level_title_and_text_of_each():
    lines = standard.listing().splitlines()
    assert lines[0].split(None, 2) == ["ENV-1", "MUST", "Every error in the envelope"]
    assert lines[1].strip() == requirements.get("ENV-1").text
    heads = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert heads == list(requirements.catalogue())


def test_the_standard_is_in_the_installed_package():
    """What the command line and the report read at run time comes from the package, not the checkout."""
    package = resources.files("conformance")
    for name in ("requirements.toml", "run/harness.ini", "profile/default.toml"):
        assert package.joinpath(name).is_file(), name
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    data = pyproject["tool"]["setuptools"]["package-data"]["conformance"]
    assert "*.toml" in data and "run/*.ini" in data and "actors/data/*.txt" in data
    assert pyproject["project"]["scripts"]["heallog-conformance"] == "conformance.cli:main"


def test_every_requirement_has_clauses_and_says_how_far_each_dimension_is_explored():
    catalogue = requirements.catalogue()
    assert sum(len(r.clauses) for r in catalogue.values()) >= 2 * len(catalogue)
    for req in catalogue.values():
        assert req.clauses and all(c.requirement == req.id and c.text for c in req.clauses), req.id
        assert req.dimensions and all(key in requirements.DIMENSIONS and how for key, how in req.dimensions), req.id
    assert [c.name for c in requirements.get("DATA-1").clauses] == [
        "list",
        "get",
        "search",
        "update",
        "delete",
        "under-concurrency",
        "right-after-writes",
    ]
    assert "AUTH-2/role/alg-none" in requirements.clauses() and "AUTH-2/pro/refresh-as-access" in requirements.clauses()


def test_docs_and_explain_show_each_requirements_clauses_and_dimensions():
    text = standard.markdown()
    for req in requirements.catalogue().values():
        section = text[text.index(f"### {req.id}: {req.title}") :]
        section = section[: section.index("\n### ")] if "\n### " in section else section
        assert "**Clauses.**" in section and "**How far the harness explores it.**" in section, req.id
        for clause in req.clauses:
            assert f"| `{clause.id}` |" in section, clause.id
        for key, how_far in req.dimensions:
            assert f"- *{requirements.DIMENSIONS[key]}*: {how_far}" in section, (req.id, key)
    explained = standard.explain("DATA-1")
    assert "Its clauses" in explained and "How far the harness explores it:" in explained
    assert "    DATA-1/update " in explained and "quantifiers exhausted: " in explained


def test_unknown_clause_suggests_the_nearest():
    assert requirements.clause("DATA-1/update").text
    with pytest.raises(KeyError, match="did you mean DATA-1/update"):
        requirements.clause("DATA-1/updat")

"""The HTML report shows each requirement's clauses and which tests of the run judged each."""

from __future__ import annotations

from conformance import requirements
from conformance.render.html import render_html
from tests.render.test_html import parse

LISTED = "conformance/test_auth.py::test_token_with_access_is_decoded_once[pro]"


def test_every_requirement_lists_its_clauses(document):
    page = render_html(document)
    for req in requirements.catalogue().values():
        assert f'id="clauses-{req.id}"' in page
        for clause in req.clauses:
            assert f"<code>{clause.id}</code>" in page, clause.id


def test_the_tests_that_ran_for_a_clause_are_shown_with_their_verdicts(document):
    document["requirements"]["AUTH-1"]["clauses"] = {"AUTH-1/pro-success": {LISTED: "fail"}, "AUTH-1/no-bearer": {}}
    page = render_html(document)
    section = page[page.index('id="clauses-AUTH-1"') :]
    section = section[: section.index("</details>")]
    assert LISTED in section and "verdict-fail" in section
    assert "0 of 7 clauses judged" not in section and "1 of 7 clauses judged" in section
    row = section[section.index("<code>AUTH-1/no-bearer</code>") :]
    assert row[: row.index("</tr>")].endswith("none ran</td>")


def test_a_report_without_clause_data_still_renders_the_clauses(document):
    assert "clauses" not in document["requirements"]["DATA-1"]
    page = parse(render_html(document))
    assert any(attrs.get("id") == "clauses-DATA-1" for _, attrs in page.tags)
    assert "0 of 7 clauses judged" in "".join(page.text)

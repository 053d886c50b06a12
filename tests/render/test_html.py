"""The offline HTML report: content, escaping, masking and filters, as markup (the browser test is separate)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from conformance import requirements
from conformance.outcomes import ViolationData
from conformance.render import document as doc
from conformance.render.html import render_html
from tests.render.conftest import SECRETS


class Elements(HTMLParser):
    """Start tags with their attributes, and the page's text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    def with_attr(self, name: str) -> list[tuple[str, dict[str, str | None]]]:
        return [(tag, attrs) for tag, attrs in self.tags if name in attrs]


def parse(page: str) -> Elements:
    elements = Elements()
    elements.feed(page)
    return elements


def test_page_lists_every_requirement_with_level_title_and_verdict(document):
    page = parse(render_html(document))
    rows = [attrs for tag, attrs in page.tags if tag == "tr" and "data-verdict" in attrs]
    assert [attrs["id"] for attrs in rows] == [f"row-{rid}" for rid in requirements.catalogue()]
    text = " ".join(page.text)
    for req in requirements.catalogue().values():
        assert req.title in text
    assert {attrs["data-verdict"] for attrs in rows} == {
        "pass",
        "fail",
        "warn",
        "known",
        "fixed",
        "inconclusive",
        "blocked",
        "not run",
        "flaky",
    }


def test_counts_are_the_filters_one_per_verdict(document):
    page = parse(render_html(document))
    filters = {attrs["data-filter"]: attrs for tag, attrs in page.tags if tag == "button"}
    assert list(filters)[:5] == ["all", "fail", "inconclusive", "blocked", "warn"]
    assert "flaky" in filters  # an unknown verdict is shown as it is, after the known ones
    html = render_html(document)
    assert re.search(r'data-filter="fail"[^>]*>fail<span class="n">3</span>', html)
    assert re.search(r'data-filter="all"[^>]*>all<span class="n">42</span>', html)


def test_each_failure_has_its_expected_actual_response_and_reproduce_parts(document):
    html = render_html(document)
    article = html[html.index('<article id="req-ENV-3"') :]
    article = article[: article.index("</article>")]
    assert article.count('<div class="failure">') == 2
    for label in ("Expected", "Actual", "Response", "Reproduce", "Hint"):
        assert f"<dt>{label}</dt>" in article
    assert "404 with code UNKNOWN_ERROR" in article
    assert "test_error_has_the_status_and_code_of_the_table[wrong-credentials]" in article


def test_first_failure_stands_in_when_the_report_has_no_failures_list(document):
    html = render_html(document)
    article = html[html.index('<article id="req-ENV-6"') :]
    assert "the body contains a Python traceback" in article[: article.index("</article>")]


def test_a_message_that_is_not_a_violation_is_shown_whole(document):
    html = render_html(document)
    article = html[html.index('<article id="req-AUTH-6"') :]
    assert "[setup] ConnectionError: the SUT closed the connection" in article[: article.index("</article>")]


def test_secrets_are_masked_everywhere(document):
    html = render_html(document)
    for secret in SECRETS:
        assert secret not in html
    assert "Bearer ***" in html and "password=***" in html and "set-cookie: ***" in html


def test_everything_from_the_report_is_escaped(document):
    document["requirements"]["ENV-3"]["title"] = 'Title <img src=x onerror="alert(1)">'
    document["target"]["base_url"] = 'http://x/"><script>alert(2)</script>'
    page = parse(render_html(document))
    assert [tag for tag, _ in page.tags if tag in ("script", "img")] == ["script"]  # only the page's own filter
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render_html(document)


def test_page_is_offline(document):
    html = render_html(document)
    page = parse(html)
    assert not [tag for tag, attrs in page.tags if tag in ("link", "img", "iframe") or attrs.get("src")]
    assert not re.search(r"url\(|@import|https?://(?!127\.0\.0\.1)", html.split("<body>", 1)[0])


def test_unknown_keys_and_missing_optional_keys_are_tolerated():
    minimal = {"requirements": {"ENV-1": {"verdict": "pass"}, "X-1": {}}}
    html = render_html(minimal)
    assert "Every error in the envelope" in html  # the title comes from the catalogue when the report has none
    assert 'id="row-X-1" data-verdict="not run"' in html


def test_a_violations_parts_are_its_fields_whatever_its_texts_contain(document):
    """An Actual holding lines that look like labels ("Hint: x") is one Actual; the real Hint stays the Hint."""
    failure = document["requirements"]["ENV-3"]["failures"][0]
    tricky = "the body said:\nHint: x\nExpected: y\n  Response: 200"
    failure["violations"][0]["actual"] = tricky
    failure["message"] = ViolationData.from_json(failure["violations"][0]).render()
    (row,) = [row for row in doc.rows(document) if row.id == "ENV-3"]
    first = row.failures[0]
    assert [label for label, _ in first.parts] == ["Expected", "Actual", "Response", "Reproduce", "Hint"]
    assert first.part("Actual") == tricky and first.part("Expected") == "404 with code NOT_FOUND"
    assert first.part("Hint") == "raise NotFoundException(resource, identifier) instead of a bare APIException"
    assert first.part("Response").startswith("404\ncontent-type: application/json")
    assert row.detail == "Actual: the body said:"
    article = render_html(document).split('<article id="req-ENV-3"', 1)[1].split("</article>", 1)[0]
    assert article.count("<dt>Hint</dt>") == 1 and article.count("<dt>Expected</dt>") == 2  # the 2nd has no hint
    assert "<pre>the body said:\nHint: x\nExpected: y\n  Response: 200</pre>" in article

"""Renderings of one run for people and machines; every renderer is a pure function of its input.

    document.py   reading the JSON report document (conformance/report.py ``as_json``)
    masking.py    the last line of defence against secrets in rendered text
    html.py       ``render_html(document)``: one offline HTML page
    markdown.py   ``render_summary(document)``: the Markdown job summary (GITHUB_STEP_SUMMARY)
    har.py        ``har_document(entries)``: the exchanges of failing tests as HAR 1.2
    sarif.py      ``render_sarif(document)``: SARIF 2.1.0 for code scanning
    comparison.py ``render_text/render_markdown(comparison)``: two reports compared (conformance/verdicts/compare.py)
    files.py      writing them where the run was asked to (parent directories, GITHUB_STEP_SUMMARY)

None of them computes a verdict: they show the report's.
"""

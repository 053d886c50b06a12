"""Writing the renderings where the run was asked to, for the plugin's session end.

Kept apart from the renderers (which only return text) so that they stay pure.
The Markdown summary goes to ``--conformance-summary FILE`` when given, else to
``$GITHUB_STEP_SUMMARY`` when GitHub Actions sets it; the step summary is
appended to, as GitHub documents (other tools of the same step may write to it
too), an explicit file is replaced.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from conformance.exchange import Attempt
from conformance.redaction import redact
from conformance.render.har import har_document
from conformance.render.html import render_html
from conformance.render.markdown import render_summary
from conformance.render.sarif import render_sarif

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def _write(path: Path, text: str, *, append: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if append else "w", encoding="utf-8") as out:
        out.write(text)
    return path


def write_html(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    return _write(Path(path), render_html(document))


def write_har(path: str | os.PathLike[str], entries: Iterable[tuple[str, Attempt]]) -> Path:
    """Redacted like the JSON report: every request of a failing test is in it, canaries and secrets sent in any
    field included (masking by field name alone misses those)."""
    return _write(Path(path), redact(json.dumps(har_document(entries), indent=2, ensure_ascii=False)) + "\n")


def write_sarif(path: str | os.PathLike[str], document: Mapping[str, Any]) -> Path:
    """Redacted like the JSON report: code scanning alerts are read by everyone with access to the repository."""
    return _write(Path(path), redact(json.dumps(render_sarif(document), indent=2, ensure_ascii=False)) + "\n")


def summary_target(option: str | None, environ: Mapping[str, str] = os.environ) -> tuple[Path, bool] | None:
    """Where the summary goes and whether to append: the option's file, else the GitHub step summary."""
    if option:
        return Path(option), False
    if environ.get(STEP_SUMMARY_ENV):
        return Path(environ[STEP_SUMMARY_ENV]), True
    return None


def write_summary(
    option: str | None, document: Mapping[str, Any], environ: Mapping[str, str] = os.environ
) -> Path | None:
    target = summary_target(option, environ)
    if target is None:
        return None
    path, append = target
    return _write(path, render_summary(document), append=append)

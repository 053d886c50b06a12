"""The CI templates (docs/ci) are valid YAML, keep their reports, and run exactly the README's commands."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "docs" / "ci" / "github-actions.yml"
GITLAB = ROOT / "docs" / "ci" / "gitlab-ci.yml"


def normalise(command: str) -> str:
    """One line, single spaces: folded YAML, backslash continuations and indentation do not matter."""
    return " ".join(command.replace("\\\n", " ").split())


def commands(script: str) -> list[str]:
    return [normalise(line) for line in script.replace("\\\n", " ").splitlines() if line.strip()]


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme[readme.index("## In CI\n"):]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README's In CI section has no bash block"
    return commands(block.group(1))


def github_jobs() -> dict[str, Any]:
    return yaml.safe_load(GITHUB.read_text("utf-8"))["jobs"]


def gitlab_jobs() -> dict[str, Any]:
    document = yaml.safe_load(GITLAB.read_text("utf-8"))
    return {name: job for name, job in document.items() if isinstance(job, dict)}


def github_commands() -> dict[str, list[str]]:
    return {name: [c for step in job["steps"] if "run" in step for c in commands(step["run"])]
            for name, job in github_jobs().items()}  # fmt: skip


def gitlab_commands() -> dict[str, list[str]]:
    jobs = gitlab_jobs()
    result = {}
    for name, job in jobs.items():
        if name.startswith("."):
            continue
        script = job.get("script") or jobs[job["extends"]]["script"]
        result[name] = [normalise(line) for line in script]
    return result


def option(command: str, name: str) -> str:
    args = shlex.split(command)
    return next(arg.split("=", 1)[1] for arg in args if arg.startswith(f"{name}="))


def test_every_job_runs_the_readme_commands_in_order():
    expected = readme_commands()
    assert expected[0] == "python -m pip install heallog-conformance"
    assert expected[1].startswith("heallog-conformance ")
    jobs = {**{f"github {k}": v for k, v in github_commands().items()},
            **{f"gitlab {k}": v for k, v in gitlab_commands().items()}}  # fmt: skip
    assert set(jobs) == {"github staging", "github service", "gitlab conformance:staging", "gitlab conformance:service"}
    for name, ran in jobs.items():
        assert ran == expected, name


def test_path_valued_options_are_written_with_equals():
    run = readme_commands()[1]
    for name in ("--conformance-report", "--junitxml", "--conformance-html", "--conformance-har"):
        assert f"{name}=reports/" in run, name
        assert f"{name} " not in run


def test_github_uploads_every_report_even_when_the_run_fails():
    for name, job in github_jobs().items():
        uploads = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
        assert len(uploads) == 1, name
        assert uploads[0]["if"] == "always()" and uploads[0]["with"]["path"] == "reports/", name
    assert github_jobs()["staging"]["env"]["PYTEST_BASE_URL"] == "${{ secrets.HEALLOG_SUT_URL }}"
    assert "api" in github_jobs()["service"]["services"]


def test_gitlab_keeps_the_reports_and_feeds_junit_to_the_merge_request():
    base = gitlab_jobs()[".conformance"]
    artifacts = base["artifacts"]
    assert artifacts["when"] == "always" and artifacts["paths"] == ["reports/"]
    assert artifacts["reports"]["junit"] == option(readme_commands()[1], "--junitxml")
    assert all(job.get("extends") == ".conformance" for name, job in gitlab_jobs().items() if not name.startswith("."))


@pytest.mark.parametrize("path", [GITHUB, GITLAB], ids=["github", "gitlab"])
def test_template_names_no_secret_value(path):
    text = path.read_text("utf-8")
    assert not re.search(r"(?i)(password|secret_key|token)\s*[:=]\s*['\"]?\w{6,}", text)

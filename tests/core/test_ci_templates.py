"""The CI templates (docs/ci) are valid YAML, keep their reports, and run exactly the README's commands."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.core.test_compare import report

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
    section = readme[readme.index("## In CI\n") :]
    section = section[: section.index("\n## ", 1)]
    block = re.search(r"```bash\n(.*?)```", section, re.DOTALL)
    assert block, "README's In CI section has no bash block"
    return commands(block.group(1))


#: The GitHub jobs that run the harness; the others work on their reports.
GITHUB_RUNS = ("staging", "service")


def github_jobs() -> dict[str, Any]:
    return yaml.safe_load(GITHUB.read_text("utf-8"))["jobs"]


def github_runs() -> dict[str, Any]:
    return {name: job for name, job in github_jobs().items() if name in GITHUB_RUNS}


def gitlab_jobs() -> dict[str, Any]:
    document = yaml.safe_load(GITLAB.read_text("utf-8"))
    return {name: job for name, job in document.items() if isinstance(job, dict)}


def github_commands() -> dict[str, list[str]]:
    return {
        name: [c for step in job["steps"] if "run" in step for c in commands(step["run"])]
        for name, job in github_runs().items()
    }


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
    jobs = {
        **{f"github {k}": v for k, v in github_commands().items()},
        **{f"gitlab {k}": v for k, v in gitlab_commands().items()},
    }
    assert set(jobs) == {"github staging", "github service", "gitlab conformance:staging", "gitlab conformance:service"}
    for name, ran in jobs.items():
        assert ran == expected, name


def test_path_valued_options_are_written_with_equals():
    run = readme_commands()[1]
    for name in ("--conformance-report", "--junitxml", "--conformance-html", "--conformance-har"):
        assert f"{name}=reports/" in run, name
        assert f"{name} " not in run


def test_github_uploads_every_report_even_when_the_run_fails():
    assert set(github_jobs()) == {*GITHUB_RUNS, "compare"}
    for name, job in github_runs().items():
        uploads = [step for step in job["steps"] if str(step.get("uses", "")).startswith("actions/upload-artifact@")]
        assert len(uploads) == 1, name
        assert uploads[0]["if"] == "always()" and uploads[0]["with"]["path"] == "reports/", name
    assert github_jobs()["staging"]["env"]["PYTEST_BASE_URL"] == "${{ secrets.HEALLOG_SUT_URL }}"
    assert "api" in github_jobs()["service"]["services"]


def steps_using(job: dict[str, Any], action: str) -> list[dict[str, Any]]:
    return [step for step in job["steps"] if str(step.get("uses", "")).startswith(f"{action}@")]


def test_github_sends_the_sarif_file_to_code_scanning_even_when_the_run_fails():
    from conformance.run.options import OPTIONS

    assert OPTIONS["--conformance-sarif"][0] == "CONFORMANCE_SARIF"
    categories = set()
    for name, job in github_runs().items():
        path = job["env"]["CONFORMANCE_SARIF"]
        assert path.startswith("reports/"), "kept with the other reports"
        (upload,) = steps_using(job, "github/codeql-action/upload-sarif")
        assert upload["if"].startswith("always()") and path in upload["if"], name
        assert upload["with"]["sarif_file"] == path, name
        assert job["permissions"]["security-events"] == "write", name
        categories.add(upload["with"]["category"])
    assert len(categories) == len(GITHUB_RUNS), "each job's alerts in a category of its own"


def test_github_compares_a_pull_request_with_the_base_branch_report():
    job = github_jobs()["compare"]
    assert "github.event_name == 'pull_request'" in job["if"]
    assert "!cancelled()" in job["if"] or "always()" in job["if"], "runs when the conformance job failed too"
    produced = github_runs()[job["needs"]]
    (artifact,) = [step["with"]["name"] for step in steps_using(produced, "actions/upload-artifact")]
    (download,) = steps_using(job, "actions/download-artifact")
    assert download["with"]["name"] == artifact
    ran = [c for step in job["steps"] if "run" in step for c in commands(step["run"])]
    assert ran[0] == readme_commands()[0]
    base_step = next(step for step in job["steps"] if step.get("id") == "base")
    assert f"--name {artifact}" in normalise(base_step["run"]) and "$GITHUB_BASE_REF" in base_step["run"]
    report = Path(option(readme_commands()[1], "--conformance-report")).name
    (compare,) = [c for c in ran if c.startswith("heallog-conformance compare ")]
    old, new = shlex.split(compare)[2:4]
    assert old.startswith("base/") and old.endswith(report)
    assert new == f"{download['with']['path'].rstrip('/')}/{report}"
    assert "--markdown" in compare
    script = next(step["run"] for step in job["steps"] if "heallog-conformance compare" in step.get("run", ""))
    assert "$GITHUB_STEP_SUMMARY" in script and "gh pr comment" in script
    assert normalise(script).endswith('exit "$status"'), "a regression fails the job"
    assert job["permissions"]["pull-requests"] == "write"


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


@pytest.mark.parametrize(("regressed", "status"), [(True, 1), (False, 0)])
def test_the_compare_step_runs_posts_the_table_and_fails_on_a_regression(tmp_path, regressed, status):
    """The compare step's script itself, in bash, with the installed command and a stand-in for ``gh``."""
    job = github_jobs()["compare"]
    script = next(step["run"] for step in job["steps"] if "heallog-conformance compare" in step.get("run", ""))
    for folder, verdicts in (("base", {}), ("new", {"ENV-3": "fail"} if regressed else {})):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "conformance.json").write_text(json.dumps(report(verdicts)))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "gh").write_text('#!/bin/sh\necho "$@" >> "$GH_CALLS"\n')
    (bin_dir / "gh").chmod(0o755)
    summary, calls = tmp_path / "summary.md", tmp_path / "gh-calls"
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_REPOSITORY": "org/repo",
        "PR_NUMBER": "7",
        "GH_CALLS": str(calls),
    }
    shell = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script]  # as Actions runs a step
    done = subprocess.run(shell, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == status, done.stderr
    assert ("| ❌ regressed | ENV-3 |" in summary.read_text()) == regressed
    assert ("✅ **no regression**" in summary.read_text()) != regressed
    assert calls.read_text().startswith("pr comment 7 --repo org/repo --body-file comparison.md")

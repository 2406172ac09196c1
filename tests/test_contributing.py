"""The next contributor's first hour: licence, contributing guide, changelog, linter, pre-commit hooks; and
`dqm outcomes add` taking a natural spreadsheet by naming its columns (issue 22)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dqm.cli import main

ROOT = Path(__file__).resolve().parent.parent
LINT_PATHS = ["dqm", "tests", "benchmarks", "studies", "tools", ".ci"]


def _make_targets() -> set[str]:
    """The targets the Makefile defines (rules such as ``test: $(STAMP)``)."""
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z][\w-]*)\s*:(?!=)", text, flags=re.M))


def _ruff_pin() -> str:
    """The ruff version pinned in requirements.lock."""
    pins = re.findall(r"^ruff==(\S+)$", (ROOT / "requirements.lock").read_text(encoding="utf-8"), flags=re.M)
    assert len(pins) == 1, "requirements.lock should pin ruff exactly once"
    return pins[0]


# --- the files a contributor looks for -----------------------------------------------------------------------------

def test_licence_is_mit_and_says_data_carry_their_own():
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    assert "Copyright (c) 2026 The DQM evidence workbook contributors" in text
    assert "Data files carry their own licences" in text and "data/LICENCES.md" in text
    assert 'license = { text = "MIT" }' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_every_data_folder_has_its_licence_stated():
    """data/LICENCES.md names every folder of data/ and every source copied into data/sources/."""
    text = (ROOT / "data" / "LICENCES.md").read_text(encoding="utf-8")
    for sub in sorted(p.name for p in (ROOT / "data").iterdir() if p.is_dir()):
        assert f"`{sub}/" in text, f"data/LICENCES.md does not say the licence of data/{sub}/"
    sources = (ROOT / "data" / "reference" / "SOURCES.md").read_text(encoding="utf-8")
    for src in sorted(p.name for p in (ROOT / "data" / "sources").iterdir() if p.is_dir()):
        assert f"sources/{src}/" in text and f"sources/{src}/" in sources, src


def test_changelog_has_an_unreleased_section():
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "keepachangelog.com" in text
    unreleased = text.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
    for heading in ("### Added", "### Changed", "### Fixed"):
        assert heading in unreleased
    assert "--value-column" in unreleased


def test_contributing_names_only_real_make_targets():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`make ([\w-]+)`", text)) | set(re.findall(r"^make ([\w-]+)", text, flags=re.M))
    assert {"report", "test", "test-slow", "lint"} <= named
    assert named <= _make_targets(), f"CONTRIBUTING.md names make targets that do not exist: {named - _make_targets()}"


def test_contributing_covers_what_a_contributor_adds():
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for needed in ("data/survey_tools.yaml", "data/claims.yaml", "supersedes", "supersedes_why",
                   "data/outcomes/measures.yaml", "dqm outcomes add", "dqm/reports/sections.py", "dqm/reports/narrative/",
                   "make test-slow", "tests/test_hostile_reports.py", "dqm.paths.write_atomic", "dqm.markup",
                   "dqm.cells", "dqm.safe_duckdb", "pickle", "import cycles", ".pre-commit-config.yaml"):
        assert needed in text, needed
    # every dqm/ module the layout table names exists
    for name in re.findall(r"^\| `(\w+/?)` \|", text, flags=re.M):
        assert (ROOT / "dqm" / name).exists() or (ROOT / "dqm" / f"{name}.py").exists(), name


# --- the linter, in the lock, the Makefile, CI and the hooks ------------------------------------------------------

def test_ruff_is_pinned_and_run_by_make_lint_ci_and_pre_commit():
    pin = _ruff_pin()
    assert f"ruff={pin}" in (ROOT / "environment.yml").read_text(encoding="utf-8")
    assert f'"ruff=={pin}"' in (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert "lint" in _make_targets()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    lint_line = ".venv/bin/ruff check " + " ".join(LINT_PATHS)
    assert lint_line in ci and ci.index("make test") < ci.index(lint_line)  # after make test has made the venv
    hooks = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))["repos"]
    ruff_repo = next(r for r in hooks if r["repo"].endswith("ruff-pre-commit"))
    assert ruff_repo["rev"] == f"v{pin}"
    local = [h for r in hooks if r["repo"] == "local" for h in r["hooks"]]
    assert any(".ci/check_notebooks.py" in h["entry"] for h in local)


def _ruff() -> str | None:
    """The ruff beside this Python (the project's .venv after `make`), or on PATH."""
    beside = Path(sys.executable).parent / "ruff"
    return str(beside) if beside.exists() else shutil.which("ruff")


def test_ruff_check_passes_on_the_tree():
    ruff = _ruff()
    if ruff is None:
        pytest.skip("ruff is not installed (make installs it from requirements.lock)")
    done = subprocess.run([ruff, "check", "--no-cache", *LINT_PATHS], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


# --- notebooks are committed without outputs ----------------------------------------------------------------------

def _notebook(path: Path, outputs: list, count) -> Path:
    cell = {"cell_type": "code", "metadata": {}, "source": "1 + 1", "outputs": outputs, "execution_count": count}
    path.write_text(json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# t"}, cell],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return path


@pytest.mark.parametrize("outputs,count,rc", [
    ([], None, 0),
    ([{"output_type": "execute_result", "data": {"text/plain": "2"}, "metadata": {}, "execution_count": 1}], 1, 1),
    ([], 3, 1),  # an execution count alone is an output too
])
def test_notebook_check(tmp_path, outputs, count, rc):
    nb = _notebook(tmp_path / "n.ipynb", outputs, count)
    done = subprocess.run([sys.executable, str(ROOT / ".ci" / "check_notebooks.py"), str(nb)],
                          capture_output=True, text=True)
    assert done.returncode == rc
    if rc:
        assert "n.ipynb: cells 2 have outputs" in done.stderr and "--clear-output" in done.stderr


def test_committed_notebooks_pass_the_notebook_check():
    done = subprocess.run([sys.executable, str(ROOT / ".ci" / "check_notebooks.py")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# --- dqm outcomes add names the columns of a natural spreadsheet ----------------------------------------------------

NATURAL = 'Council,Year,"Complaints per 1,000 residents"\nBirmingham,2025,3.2\nLeeds,2025,2.1\nYork,2025,1.5\n'
ADD = ["--measure", "complaints", "--unit", "per 1,000 residents", "--better", "lower"]


def test_outcomes_add_with_value_column_takes_a_natural_spreadsheet(tmp_path, capsys):
    src, d = tmp_path / "complaints.csv", tmp_path / "mine"
    src.write_text(NATURAL, encoding="utf-8")
    assert main(["outcomes", "add", str(src), "--user-data", str(d), *ADD,
                 "--value-column", "Complaints per 1,000 residents"]) == 0
    assert "3 rows; 3 joined to councils; 0 not used" in capsys.readouterr().out
    [measure] = yaml.safe_load((d / "measures.yaml").read_text(encoding="utf-8"))
    assert measure["value_column"] == "Complaints per 1,000 residents"
    assert "council_column" not in measure and "period_column" not in measure  # found by their usual names


def test_outcomes_add_names_all_three_columns(tmp_path, capsys):
    src, d = tmp_path / "complaints.csv", tmp_path / "mine"
    src.write_text("Authority,Reporting year,Rate\nBirmingham,2025,3.2\nLeeds,2025,2.1\n", encoding="utf-8")
    assert main(["outcomes", "add", str(src), "--user-data", str(d), *ADD, "--council-column", "Authority",
                 "--period-column", "Reporting year", "--value-column", "Rate"]) == 0
    assert "2 rows; 2 joined to councils; 0 not used" in capsys.readouterr().out
    [measure] = yaml.safe_load((d / "measures.yaml").read_text(encoding="utf-8"))
    assert (measure["council_column"], measure["period_column"], measure["value_column"]) == (
        "Authority", "Reporting year", "Rate")


@pytest.mark.parametrize("extra,message", [
    ([], "no value column: looked for value"),  # without the option: refused, and told which option to use
    (["--value-column", "Complaints"], "there is no column 'Complaints' (the measure's value column)"),
    (["--value-column", "Complaints per 1,000 residents", "--period-column", "Period"],
     "there is no column 'Period' (the measure's period column)"),
])
def test_outcomes_add_refuses_a_column_it_cannot_find(tmp_path, capsys, extra, message):
    src, d = tmp_path / "complaints.csv", tmp_path / "mine"
    src.write_text(NATURAL, encoding="utf-8")
    assert main(["outcomes", "add", str(src), "--user-data", str(d), *ADD, *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    if not extra:
        assert "--value-column HEADER" in err
    assert not (d / "measures.yaml").exists() and not (d / "outcomes" / "complaints.csv").exists()

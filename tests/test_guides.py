"""The guides in docs/ run: every ```sh block is executed, so the documentation cannot drift from the code.

A block preceded by ``<!-- slow -->`` runs only in `make test-slow`; one preceded by
``<!-- not run in tests: why -->`` is shown to readers but not run (``make lab`` starts a server).
Blocks run in order, in a scratch folder that looks like the project (``data`` linked in, a demo store
already built in ``reports/_build``), with the commands on ``PATH`` as after ``source .venv/bin/activate``.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from dqm.paths import PROJECT_ROOT, data_dir

GUIDES = sorted((PROJECT_ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"(?:<!--\s*(?P<mark>[^>]*?)\s*-->\s*\n)?```sh\n(?P<body>.*?)```", re.S)


def blocks(path: Path) -> list[tuple[str, str]]:
    """(mark, commands) for every ```sh block: mark is '', 'slow' or 'skip'."""
    out = []
    for m in BLOCK.finditer(path.read_text(encoding="utf-8")):
        mark = (m.group("mark") or "").lower()
        out.append(("skip" if mark.startswith("not run") else "slow" if mark == "slow" else "", m.group("body")))
    return out


def test_every_guide_has_commands_and_each_audience_has_a_guide():
    assert {p.stem for p in GUIDES} >= {"analyst", "sector-body", "sceptic"}
    for p in GUIDES:
        runnable = [b for mark, b in blocks(p) if mark != "skip"]
        assert len(runnable) >= 2, p.name
        text = p.read_text(encoding="utf-8")
        assert "demo" in text and ("your own" in text.lower() or "yours" in text), p.name


@pytest.fixture
def project(tmp_path, demo_store, monkeypatch):
    """A scratch project: the data folder linked in, the demo store built, no store of the user's own."""
    (tmp_path / "data").mkdir()
    for sub in data_dir().iterdir():
        if sub.name != "dqm.duckdb":
            (tmp_path / "data" / sub.name).symlink_to(sub)
    build = tmp_path / "reports" / "_build"
    build.mkdir(parents=True)
    (build / "demo.duckdb").write_bytes(Path(demo_store[0]).read_bytes())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DQM_", "JPY_"))}
    env.update(DQM_DATA_DIR=str(tmp_path / "data"), DQM_REPORTS_DIR=str(tmp_path / "reports"),
               PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""), MPLBACKEND="Agg")
    return tmp_path, env


def _run(guide: Path, project, include_slow: bool):
    cwd, env = project
    ran = 0
    for mark, body in blocks(guide):
        if mark == "skip" or (mark == "slow" and not include_slow):
            continue
        p = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", body], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=900)
        assert p.returncode == 0, f"{guide.name}: block failed:\n{body}\nstdout:\n{p.stdout[-2000:]}\nstderr:\n{p.stderr[-2000:]}"
        assert "Traceback" not in p.stderr, p.stderr
        ran += 1
    return ran


@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_guide_commands_run(guide, project):
    assert _run(guide, project, include_slow=False) >= 1


@pytest.mark.slow
@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_guide_commands_run_including_the_long_ones(guide, project):
    assert _run(guide, project, include_slow=True) >= 1

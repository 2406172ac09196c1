import subprocess
import sys

import pytest


@pytest.mark.parametrize("args", [[], ["run"], ["demo"], ["ingest"], ["report"], ["build-outcomes"], ["match"]])
def test_help(args):
    p = subprocess.run([sys.executable, "-m", "dqm.cli", *args, "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "usage: dqm" in p.stdout


def test_match_command():
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "match", "Bristol, City of", "Atlantis"], capture_output=True, text=True)
    assert "BST" in p.stdout and "no match" in p.stdout


def test_report_with_missing_store_is_one_line(tmp_path):
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "report", "annual", "--wave", "2026", "--store",
                        str(tmp_path / "none.duckdb"), "--out-dir", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode == 2 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1

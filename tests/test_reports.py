"""End-to-end: `dqm run` on the bundled demo data, and the report runner's parameter checks and failures."""
from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from bs4 import BeautifulSoup

from dqm.errors import ParameterError
from dqm.narrative import SYNTHETIC_BANNER
from dqm.reports import ReportError, run_report


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "run", "--out-dir", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return out, p


def _soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@pytest.mark.parametrize("name", ["state-of-digital-2026.html", "data-quality-2026.html"])
def test_report_html_is_a_clean_publication(demo_run, name):
    out, _ = demo_run
    html_path = out / name
    assert html_path.exists()
    text = html_path.read_text(encoding="utf-8")
    soup = _soup(html_path)
    assert len(soup.find_all("h1")) == 1
    assert soup.find("nav", class_="dqm-contents") is not None
    # no code, prompts, execution counts, parameters cell or stderr
    for marker in ("import dqm", "display(", "In&nbsp;[", "jp-InputArea", "injected-parameters", "Traceback",
                   "WARNING", "stderr"):
        assert marker not in text, marker
    # the data are synthetic and every page says so
    assert SYNTHETIC_BANNER in soup.get_text(" ")
    # provenance ends the report
    assert soup.find(class_="dqm-provenance") is not None
    assert re.search(r"[0-9a-f]{64}", soup.find(class_="dqm-provenance").get_text())
    # every table has a caption
    for table in soup.find_all("table"):
        assert table.find("caption") is not None and table.find("caption").get_text(strip=True)


def test_annual_report_content(demo_run):
    out, _ = demo_run
    soup = _soup(out / "state-of-digital-2026.html")
    imgs = soup.find_all("img")
    assert len(imgs) >= 3
    for img in imgs:
        assert img["src"].startswith("data:image/png;base64,")  # embedded, self-contained
        assert len(img.get("alt", "")) > 40  # a real description, not a placeholder
    headings = [h.get_text(strip=True) for h in soup.find_all("h2")]
    for h in ("Main findings", "Who took part", "Levels by dimension", "Change since the previous wave", "Targets",
              "Methods and quality", "Provenance"):
        assert h in headings
    text = soup.get_text(" ")
    assert "principal councils" in text and "completed a self-assessment in 2026" in text
    # no council is named: no council's official name appears anywhere in the sector report
    from dqm.reference import councils

    ref = councils()
    names = [n for n in ref.loc[ref["principal"], "official-name"] if len(n) > 12]
    assert not [n for n in names if n in text]


def test_data_quality_report_accounts_for_every_row(demo_run, demo_truth):
    out, _ = demo_run
    text = _soup(out / "data-quality-2026.html").get_text(" ")
    assert "All rows are accounted for." in text
    files = [f for f in demo_truth["files"] if "2026" in f["file"]]
    total = sum(f["rows"] for f in files)
    assert f"{total:,} rows were read from 3 files" in text


def test_small_groups_are_suppressed():
    import pandas as pd

    from dqm.reference import councils
    from dqm.scoring import response_rates

    ref = councils()
    responding = ref.loc[ref["nation"].isin(["England", "Wales"]), "local-authority-code"].tolist()
    responding += ref.loc[ref["nation"] == "Scotland", "local-authority-code"].tolist()[:3]
    rates = response_rates(pd.Series(responding), ref, "nation").set_index("group")
    assert rates.loc["Scotland", "suppressed"] and rates.loc["Scotland", "responded"] is None
    assert rates.loc["Scotland", "rate"] is None and rates.loc["Scotland", "councils"] == 32
    assert not rates.loc["Wales", "suppressed"]


def test_parameters_are_checked_before_a_kernel_starts(demo_run, tmp_path):
    out, _ = demo_run
    store = out / "_build" / "demo.duckdb"
    with pytest.raises(ParameterError, match="no submissions for wave 2019"):
        run_report("annual", 2019, store=store, out_dir=tmp_path)
    with pytest.raises(ParameterError, match="outside the output folder"):
        run_report("annual", 2026, store=store, out_dir=tmp_path, output=tmp_path.parent / "elsewhere.html")
    with pytest.raises(ParameterError, match="does not exist"):
        run_report("annual", 2026, store=tmp_path / "none.duckdb", out_dir=tmp_path)
    with pytest.raises(ParameterError, match="wave must be a year"):
        run_report("annual", "2026", store=store, out_dir=tmp_path)


def test_a_failing_cell_names_notebook_and_cell_and_keeps_the_notebook(demo_run, tmp_path, monkeypatch):
    out, _ = demo_run
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("wave = 0\nstore = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("x = 1"),
                nbformat.v4.new_code_cell("raise ValueError('planted failure')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nbformat.write(nb, nbdir / "broken.ipynb")
    import dqm.reports as reports

    monkeypatch.setattr(reports, "notebooks_dir", lambda: nbdir)
    monkeypatch.setitem(reports.REPORTS, "broken", {"notebook": "broken.ipynb", "output": "broken-{wave}.html", "title": "x"})
    with pytest.raises(ReportError) as exc:
        run_report("broken", 2026, store=out / "_build" / "demo.duckdb", out_dir=tmp_path / "out")
    msg = str(exc.value)
    assert "broken.ipynb" in msg and "cell" in msg and "planted failure" in msg
    kept = tmp_path / "out" / "_build" / "broken-2026.ipynb"
    assert kept.exists() and "planted failure" in kept.read_text()
    assert not (tmp_path / "out" / "broken-2026.html").exists()


def test_two_runs_differ_only_in_the_run_time_line(demo_run, tmp_path):
    out, _ = demo_run
    store = out / "_build" / "demo.duckdb"
    a = run_report("quality", 2026, store=store, out_dir=tmp_path / "a").html.read_text()
    b = run_report("quality", 2026, store=store, out_dir=tmp_path / "b").html.read_text()
    strip = lambda t: re.sub(r'<p class="dqm-runtime">.*?</p>', "", t)
    assert strip(a) == strip(b)

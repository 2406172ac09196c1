"""End-to-end: `dqm run` on the bundled demo data, and the report runner's parameter checks and failures."""
from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest
from bs4 import BeautifulSoup

from dqm.errors import ParameterError
from dqm.reports.narrative import SYNTHETIC_BANNER
from dqm.reports.notebook import ReportError, run_report


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "run", "--quick", "--out-dir", str(out)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return out, p


def _soup(path):
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def _council_html(out):
    return next((out / "councils" / "2026").glob("council-*-2026.html"))


def test_main_job_layout(demo_run):
    """Publications at the top, the example council with its index in councils/YEAR/, the data quality report
    (which names councils) apart in analysts/."""
    out, _ = demo_run
    assert sorted(p.name for p in out.glob("*.html")) == ["dqm-handbook-0.2-example.html", "evidence-review-2026.html",
                                                          "state-of-digital-2026.html"]  # every report links to the handbook
    assert (out / "analysts" / "data-quality-2026.html").exists()
    councils = out / "councils" / "2026"
    assert len(list(councils.glob("council-*-2026.html"))) == 1 and len(list(councils.glob("council-*-2026.pdf"))) == 1
    assert (councils / "index.html").exists() and (councils / "index.csv").exists()


@pytest.mark.parametrize("name", ["state-of-digital-2026.html", "data-quality-2026.html", "council", "evidence-review-2026.html"])
def test_report_html_is_a_clean_publication(demo_run, name):
    out, _ = demo_run
    html_path = _council_html(out) if name == "council" else out / ("analysts/" if name.startswith("data-") else "") / name
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
    # every table has a caption; every image has alt text and is embedded
    for table in soup.find_all("table"):
        assert table.find("caption") is not None and table.find("caption").get_text(strip=True)
    for img in soup.find_all("img"):
        assert img["src"].startswith("data:image/png;base64,") and len(img.get("alt", "")) > 40
    # headings are in order: one h1, then h2s, h3s only under an h2
    levels = [int(h.name[1]) for h in soup.find_all(["h1", "h2", "h3", "h4"])]
    assert levels[0] == 1 and all(b - a <= 1 for a, b in zip(levels, levels[1:]))


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
              "The claims in brief", "Methods, sources and quality", "Provenance"):
        assert h in headings
    text = soup.get_text(" ")
    assert "principal councils" in text and "completed a self-assessment in 2026" in text
    # the headline level is said to be of the councils that responded, with the response rate
    assert re.search(r"Among the councils that responded \(\d+% of principal councils\), the average model level \(overall\)", text)
    # the levels are the measurement model's, and the report says on which scale
    assert "These levels are the measurement model's, on the scale of independent assessment" in text
    # a change is called clear only when its simultaneous interval over the dimensions leaves out zero
    assert "rose clearly" not in text or "simultaneous 95% interval over the 10 dimensions" in text
    # no council is named: no council's official name appears anywhere in the sector report
    from dqm.reference import councils

    ref = councils()
    names = [n for n in ref.loc[ref["principal"], "official-name"] if len(n) > 12]
    assert not [n for n in names if n in text]


def test_data_quality_report_accounts_for_every_row(demo_run, demo_truth):
    out, _ = demo_run
    text = _soup(out / "analysts" / "data-quality-2026.html").get_text(" ")
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
    import dqm.reports.notebook as reports

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


def test_annual_report_shows_verdicts_and_links_to_the_review(demo_run):
    out, _ = demo_run
    soup = _soup(out / "state-of-digital-2026.html")
    cap = [c.get_text() for c in soup.find_all("caption")]
    assert "Verdicts on the registered claims" in cap
    links = [a["href"] for a in soup.find_all("a") if "evidence-review-2026.html#claim-" in a.get("href", "")]
    assert len(links) >= 10
    text = soup.get_text(" ")
    assert "suppressed" in text and "What non-response may bias" in text and "Code of Practice for Statistics" in text


def test_council_report_shows_only_that_council(demo_run):
    from dqm.reference import councils
    from dqm.scoring import nearest_neighbours

    out, _ = demo_run
    path = _council_html(out)
    code = path.name.split("-")[1]
    ref = councils().set_index("local-authority-code")
    soup = _soup(path)
    text = soup.get_text(" ")
    assert ref.loc[code, "nice-name"] in soup.find("h1").get_text()
    peers = nearest_neighbours(councils()).query("council_code == @code")["peer_code"]
    named = [ref.loc[p, "nice-name"] for p in peers if len(ref.loc[p, "nice-name"]) > 5 and ref.loc[p, "nice-name"] in text]
    assert not named, f"peers named in a council report: {named}"
    for h in ("Levels and targets by dimension", "Position among councils", "Change since the last wave",
              "Self-assessment and independent assessment", "Where to focus", "Your evidence"):
        assert h in [x.get_text(strip=True) for x in soup.find_all("h2")]
    assert "ranks between" in text  # a rank interval, never a bare rank
    html = path.read_text()
    assert "<strong>limited</strong>" not in html  # free text is escaped


def test_evidence_review_content(demo_run):
    out, _ = demo_run
    soup = _soup(out / "evidence-review-2026.html")
    text = soup.get_text(" ")
    cap = [c.get_text() for c in soup.find_all("caption")]
    assert "Verdicts on the registered claims" in cap
    assert "Untestable claims and the data that would settle them" in cap
    assert any(c.startswith("The engine's checks on synthetic councils") for c in cap)
    from dqm.claims import load_claims

    for c in load_claims():
        assert soup.find(id=f"claim-{c.id}") is not None
    assert "Specification curve" in text and "Forest plot" in " ".join(i["alt"] for i in soup.find_all("img"))
    assert "not evidence that digital quality caused" in text or "none can show that digital quality causes" in text
    # every tested claim's verdict carries its limits, and every regression claim a sensitivity statement
    table = soup.find("caption", string="Verdicts on the registered claims").find_parent("table")
    cells = [[td.get_text(" ") for td in tr.find_all("td")] for tr in table.find_all("tr") if tr.find_all("td")]
    tested = [c for c in cells if "untestable" not in c[2].lower()]  # the verdict follows its plain-words sentence
    assert tested and all("association" in c[2] or "independent levels" in c[2] for c in tested)
    assert any("2017\u201118 outcomes, 2026 assessments: outcome before assessment" in c[2] for c in tested)  # no break in 2017-18
    assert any("cannot be decided at this number of councils" in c[2] and "would need about" in c[2] for c in tested)
    assert text.count("Sensitivity to an unmeasured confounder") >= sum("association" in c[2] for c in tested)
    assert "as strong as deprivation would move the estimate" in text
    for word in (" causes ", " caused by ", " leads to ", " drives "):
        for para in soup.find_all("p"):
            t = para.get_text(" ")
            assert word not in t or "not" in t or "none can show" in t or "cannot show" in t, t


def test_evidence_review_has_a_panel_view_for_the_govuk_pay_claims(demo_run):
    """GOV.UK Pay's outcome periods line up with the waves, so the panel view is estimated for its claims."""
    out, _ = demo_run
    html = (out / "evidence-review-2026.html").read_text(encoding="utf-8")
    for cid in ("platform-adoption", "platform-adoption-growth"):
        part = html.split(f'id="claim-{cid}"', 1)[1].split('id="claim-', 1)[0]
        assert "within the same councils, a change of one standard deviation" in part.lower(), cid
    # the outcomes that predate the waves still say why they cannot be estimated
    part = html.split('id="claim-efficiency-central-costs"', 1)[1].split('id="claim-', 1)[0]
    assert "not estimable" in part


@pytest.mark.parametrize("name", ["state-of-digital-2026.pdf", "council", "evidence-review-2026.pdf"])
def test_pdf_versions(demo_run, name):
    import pypdf

    out, _ = demo_run
    path = next((out / "councils" / "2026").glob("council-*-2026.pdf")) if name == "council" else out / name
    reader = pypdf.PdfReader(path)
    first = reader.pages[0].extract_text()
    assert len(reader.pages) >= 2
    assert any(t in first for t in ("State of Digital", "Digital Quality Model benchmark", "Does better digital deliver"))
    assert "Synthetic data" in first


def test_parameters_keep_their_types(demo_run, tmp_path):
    out, _ = demo_run
    nb = nbformat.read(next((out / "councils" / "2026" / "_build").glob("council-*-2026.ipynb")), as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])][0]
    assert re.search(r'council = "[A-Z]{3,4}"', injected.source) and "wave = 2026" in injected.source


def test_council_report_suggests_actions_for_the_next_level(demo_run):
    """'Where to focus' names the action library's actions for each focus dimension's next level."""
    from dqm.documents.actions import load_actions
    from dqm.model import load_model

    out, _ = demo_run
    soup = _soup(_council_html(out))
    table = next(t for t in soup.find_all("table") if "Actions for the next level" in t.caption.get_text())
    actions = set(load_actions(load_model()).actions["action"])
    cells = [tr.find_all("td")[2].get_text(strip=True) for tr in table.find("tbody").find_all("tr")]
    assert cells and all(c in actions for c in cells)

"""The council report batch (dqm/reports/batch.py): correct paths, isolation, incremental re-runs, resume after
SIGKILL, failure isolation, atomic outputs and the index page."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from browser import axe_js
from bs4 import BeautifulSoup

from dqm.reports.batch import run_batch
from dqm.reports.manifest import MANIFEST, read_manifest

PROBE = Path(__file__).parent / "notebooks" / "batch_probe.ipynb"
CODES = ["BST", "KTT", "YOR"]


def _strip_runtime(html: str) -> str:
    return re.sub(r'<p class="dqm-runtime">.*?</p>', "", html)


@pytest.fixture(scope="module")
def cli_batch(small_store, tmp_path_factory):
    """`dqm report councils` from the shell, with a RELATIVE store path and two worker processes."""
    work = tmp_path_factory.mktemp("cwd")
    (work / "s.duckdb").symlink_to(small_store)
    p = subprocess.run([sys.executable, "-m", "dqm.cli", "report", "councils", "--wave", "2026", "--store", "s.duckdb",
                        "--jobs", "2", "--draws", "50", "--out-dir", "out"], cwd=work, capture_output=True, text=True)
    return work / "out", p


def test_relative_store_with_two_jobs(cli_batch):
    out, p = cli_batch
    assert p.returncode == 0, p.stderr + p.stdout
    assert sorted(x.name for x in out.glob("council-*.html")) == [f"council-{c}-2026.html" for c in CODES]
    assert "3 council reports written, 0 unchanged, 0 failed" in p.stdout
    assert "[3/3]" in p.stderr  # plain progress lines when not a terminal: n of N, elapsed, time left
    york = BeautifulSoup((out / "council-YOR-2026.html").read_text(), "html.parser").get_text(" ")
    assert "York" in york and "not placed among other councils" in york and "needs at least 8" in york
    kingston = BeautifulSoup((out / "council-KTT-2026.html").read_text(), "html.parser").get_text(" ")
    assert "Kingston upon Thames" in kingston and "City of Bristol" not in kingston
    assert "peer figures are withheld" in kingston  # fewer than 5 peers took part
    assert "Synthetic data" not in kingston  # this export did not say it was synthetic
    manifest = read_manifest(out)
    assert set(manifest["councils"]) == set(CODES)
    assert {"council_data", "shown_peer_and_sector_data", "notebook", "templates", "model", "code", "version",
            "parameters"} <= set(manifest["councils"]["BST"]["inputs"])
    assert pd.read_csv(out / "failures.csv").empty
    assert not list(out.glob(".tmp-*"))


def test_index_page_is_valid_accessible_and_searchable(cli_batch):
    """Structural checks (axe-core needs a browser, which this machine's CI does not have)."""
    out, _ = cli_batch
    index = pd.read_csv(out / "index.csv")
    assert list(index["council_code"]) == CODES and set(index["status"]) == {"ready"}
    assert {"council", "type", "region", "html", "pdf"} <= set(index.columns)
    html = (out / "index.html").read_text()
    soup = BeautifulSoup(html, "html.parser")
    assert html.startswith("<!DOCTYPE html>") and soup.html["lang"] == "en-GB" and soup.title.get_text(strip=True)
    assert len(soup.find_all("h1")) == 1 and soup.find("main")
    search = soup.find("input", {"type": "search"})
    assert soup.find("label", {"for": search["id"]}) and soup.find(id=search["aria-describedby"])["aria-live"] == "polite"
    table = soup.find("table")
    assert table.caption.get_text(strip=True)
    assert all(th.get("scope") in ("col", "row") for th in table.find_all("th"))
    rows = table.tbody.find_all("tr")
    assert [r.th.get_text(strip=True) for r in rows] == ["City of Bristol", "Kingston upon Thames", "York"]
    for r in rows:
        link = r.find("a")
        assert (out / link["href"]).exists() and "report for" in link.get_text(" ")  # link text says where it goes
    assert not soup.find_all(src=re.compile(r"^https?:")) and not soup.find_all("link")  # fetches nothing
    ids = [t["id"] for t in soup.find_all(id=True)]
    assert len(ids) == len(set(ids))


def test_index_page_has_no_serious_or_critical_axe_violations(cli_batch, tmp_path):
    """axe-core in headless Chromium (`.ci/run` installs axe-core with npm when Chromium and npm are present)."""
    import shutil

    chromium = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
    axe = axe_js()
    if not (chromium and axe):
        pytest.skip("axe-core or Chromium is not installed; the structural checks of the index page still ran")
    out, _ = cli_batch
    runner = ('<script>' + axe.read_text(encoding="utf-8") + '</script><script>axe.run(document, {resultTypes: '
              '["violations"]}).then(function (r) { var p = document.createElement("pre"); p.id = "axe-result"; '
              'p.textContent = JSON.stringify(r.violations.map(function (v) { return {id: v.id, impact: v.impact}; })); '
              'document.body.appendChild(p); });</script>')
    page = tmp_path / "index.html"
    page.write_text((out / "index.html").read_text().replace("</body>", runner + "</body>"))
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120).stdout
    found = BeautifulSoup(dom, "html.parser").find(id="axe-result")
    assert found is not None, "axe-core did not run"
    violations = json.loads(found.get_text())
    assert [v for v in violations if v["impact"] in ("serious", "critical")] == [], violations


def test_batch_report_equals_the_same_report_made_alone(cli_batch, small_store, tmp_path):
    """Apart from the run-time line, a batch report is the report a fresh kernel makes on its own."""
    from dqm.reports.notebook import run_report

    out, _ = cli_batch
    alone = run_report("council", 2026, store=small_store.resolve(), out_dir=tmp_path, council="KTT",
                       extra={"draws": 50})
    batch = (out / "council-KTT-2026.html").read_text()
    assert _strip_runtime(batch) == _strip_runtime(alone.html.read_text())


def test_no_state_reaches_the_next_council_and_failures_are_isolated(small_store, tmp_path):
    """One kernel runs all three councils in turn (jobs=1); each pollutes rcParams, random state, globals,
    warnings filters, module state, caches, environment and cwd, and the second fails on purpose."""
    res = run_batch(2026, small_store, tmp_path / "out", jobs=1, notebook=PROBE, draws=50, extra={"fail": "KTT"},
                    progress=False)
    r = res.results.set_index("council")
    assert list(r["status"]) == ["ok", "failed", "ok"] or sorted(r["status"]) == ["failed", "ok", "ok"]
    assert r.loc["KTT", "status"] == "failed" and "planted failure for KTT" in r.loc["KTT", "error"]
    assert r.loc["KTT", "cell"] == "5"  # the failing cell, numbered as papermill numbers it (parameters injected)
    failures = pd.read_csv(tmp_path / "out" / "failures.csv", dtype=str)
    assert list(failures["council"]) == ["KTT"] and failures["cell"][0] == "5" and "ValueError" in failures["error"][0]
    seen = [json.loads(BeautifulSoup((tmp_path / "out" / f"council-{c}-2026.html").read_text(), "html.parser")
                       .find(id="seen").get_text()) for c in ("BST", "YOR")]
    assert seen[0] == seen[1]  # the same random numbers too: the state was restored, not merely re-seeded
    assert seen[1]["rc_linewidth"] != 9.0 and seen[1]["rc_style"] != "black"
    assert not seen[1]["global_left_over"] and not seen[1]["module_dict_mutated"] and not seen[1]["module_attribute_added"]
    assert seen[1]["environment"] is None and seen[1]["cwd"] != "/" and seen[1]["cache_entries"] == 0
    index = pd.read_csv(tmp_path / "out" / "index.csv").set_index("council_code")
    assert index.loc["KTT", "status"] == "failed" and index.loc["BST", "status"] == "ready"


def test_a_council_that_kills_its_kernel_does_not_stop_the_next(small_store, tmp_path):
    res = run_batch(2026, small_store, tmp_path / "out", councils=["BST", "KTT"], jobs=1, notebook=PROBE, draws=50,
                    extra={"die": "BST"}, progress=False)
    r = res.results.set_index("council")
    assert r.loc["BST", "status"] == "failed" and "Dead" in r.loc["BST", "error"]
    assert r.loc["KTT", "status"] == "ok"


def test_rerun_remakes_only_what_changed(small_store, tmp_path):
    import duckdb

    store = tmp_path / "s.duckdb"
    store.write_bytes(small_store.read_bytes())
    out = tmp_path / "out"
    first = run_batch(2026, store, out, jobs=1, draws=50, progress=False)
    assert (first.results["status"] == "ok").all()
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.glob("council-*.html")}
    again = run_batch(2026, store, out, jobs=1, draws=50, progress=False)
    assert (again.results["status"] == "unchanged").all()
    assert mtimes == {p.name: p.stat().st_mtime_ns for p in out.glob("council-*.html")}
    con = duckdb.connect(str(store))  # Kingston's respondent rewrites their evidence: only Kingston's report shows it
    con.execute("UPDATE answers SET evidence = 'A new strategy, agreed in May.' WHERE submission_id IN "
                "(SELECT submission_id FROM submissions WHERE council_code = 'KTT')")
    con.close()
    third = run_batch(2026, store, out, jobs=1, draws=50, progress=False).results.set_index("council")["status"]
    assert third.to_dict() == {"BST": "unchanged", "KTT": "ok", "YOR": "unchanged"}
    assert "A new strategy, agreed in May." in (out / "council-KTT-2026.html").read_text()
    forced = run_batch(2026, store, out, jobs=1, draws=50, force=True, progress=False)
    assert (forced.results["status"] == "ok").all()


def _children(pid: int) -> set[int]:
    import psutil

    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_a_killed_batch_resumes_where_it_stopped(small_store, tmp_path):
    """SIGKILL the batch after its first report: no half-written report, workers and kernels stop, and the next
    run makes only the reports that were not finished."""
    import psutil

    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "dqm.cli", "report", "councils", "--wave", "2026", "--store", str(small_store),
           "--jobs", "1", "--draws", "50", "--out-dir", str(out), "--force"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    children: set[int] = set()
    while time.time() < deadline:
        children |= _children(proc.pid)
        if (out / MANIFEST).exists() and read_manifest(out)["councils"]:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = {c for c, m in read_manifest(out)["councils"].items() if m["status"] == "ok"}
    assert 1 <= len(done) < len(CODES), "the batch finished before it could be killed"
    for html in out.glob("council-*.html"):  # every report that exists is whole
        assert html.read_text().rstrip().endswith("</html>")
    gone = time.time() + 30
    while time.time() < gone and any(psutil.pid_exists(c) and psutil.Process(c).status() != psutil.STATUS_ZOMBIE
                                     for c in children):
        time.sleep(0.2)
    alive = [c for c in children if psutil.pid_exists(c) and psutil.Process(c).status() != psutil.STATUS_ZOMBIE]
    assert not alive, "workers or kernels outlived the killed batch"
    resumed = run_batch(2026, small_store, out, jobs=1, draws=50, progress=False).results.set_index("council")
    assert set(resumed.index[resumed["status"] == "unchanged"]) == done
    assert set(resumed.index[resumed["status"] == "ok"]) == set(CODES) - done
    assert not list(out.glob(".tmp-*"))

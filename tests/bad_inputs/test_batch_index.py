"""The batch's index is derived from what the batch made, not from what its manifest says.

A manifest in a shared output folder can be edited by anyone who can write there. Table-driven: each
planted entry (a code that is no council of the wave, a path outside the output folder, a formula for a
time, a report the manifest calls made but that is not there) is left out of ``index.html`` and
``index.csv`` or corrected, with a warning; and the index page reflows on a 320 px screen.
"""
from __future__ import annotations

import json
import shutil
import subprocess

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from dqm.reference import councils as ref_councils
from dqm.reports.batch import run_batch
from dqm.reports.index import index_table, trusted_entries, write_index
from dqm.reports.manifest import MANIFEST, read_manifest

WAVE = 2026
TAKING_PART = ["BST", "KTT", "YOR"]

# (id, manifest entries planted, what the index must show for them: {code: (status, html, updated)} or absent)
PLANTED = [
    ("not-a-council-of-the-wave", {"E47000001": {"status": "ok", "html": "council-E47000001-2026.html"}}, {}),
    ("path-traversal-code", {"../../etc/passwd": {"status": "ok", "html": "/etc/passwd"}}, {}),
    ("formula-code", {"=HYPERLINK(\"http://x\")": {"status": "ok"}}, {}),
    ("not-a-dict", {"KTT": "ok"}, {}),
    ("unknown-status", {"KTT": {"status": "ready", "html": "council-KTT-2026.html"}}, {}),
    ("path-outside", {"KTT": {"status": "ok", "html": "/etc/passwd", "finished_at": "2026-01-01T00:00:00Z"}},
     {"KTT": ("failed", "", "2026-01-01T00:00:00Z")}),
    ("formula-time", {"KTT": {"status": "ok", "html": "council-KTT-2026.html", "finished_at": "=cmd|' /C calc'!A0"}},
     {"KTT": ("failed", "", "")}),
    ("made-but-missing", {"YOR": {"status": "ok", "html": "council-YOR-2026.html", "finished_at": "2026-01-01T00:00:00Z"}},
     {"YOR": ("failed", "", "2026-01-01T00:00:00Z")}),
]


@pytest.mark.parametrize("case_id, planted, expected", PLANTED, ids=[p[0] for p in PLANTED])
def test_trusted_entries_drop_or_correct_what_the_batch_did_not_make(tmp_path, case_id, planted, expected):
    kept, warnings = trusted_entries({"councils": planted}, TAKING_PART, tmp_path, WAVE)
    assert {c: (m["status"], m["html"], m["finished_at"]) for c, m in kept.items()} == expected
    assert warnings or case_id == "made-but-missing"  # a missing file is shown as failed, not warned about
    table = index_table(kept, ref_councils())
    assert not table["html"].str.contains("/|\\.\\.", regex=True).any()


def test_a_report_that_is_there_is_linked_by_its_own_name(tmp_path):
    (tmp_path / "council-BST-2026.html").write_text("<html></html>")
    (tmp_path / "council-BST-2026.pdf").symlink_to("/etc/passwd")  # a planted link is never published
    legacy = {"status": "ok", "html": str(tmp_path / "council-BST-2026.html"), "pdf": str(tmp_path / "council-BST-2026.pdf"),
              "finished_at": "2026-03-01T10:00:00Z"}
    kept, warnings = trusted_entries({"councils": {"BST": legacy}}, TAKING_PART, tmp_path, WAVE)
    assert kept["BST"] == {"status": "ok", "html": "council-BST-2026.html", "pdf": "", "finished_at": "2026-03-01T10:00:00Z"}
    assert warnings == []


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"councils": [1]}', '{"councils": "x"}', "\udcff"])
def test_an_unreadable_manifest_is_set_aside(tmp_path, content):
    (tmp_path / MANIFEST).write_text(content, encoding="utf-8", errors="surrogateescape")
    assert read_manifest(tmp_path) == {"councils": {}}


def test_a_linked_manifest_is_not_read(tmp_path):
    (tmp_path / "elsewhere.json").write_text(json.dumps({"councils": {"BST": {"status": "ok"}}}))
    (tmp_path / MANIFEST).symlink_to(tmp_path / "elsewhere.json")
    assert read_manifest(tmp_path) == {"councils": {}}


def test_a_batch_publishes_only_what_it_made_whatever_the_manifest_says(small_store, tmp_path):
    """End to end: a tampered manifest in the output folder; the batch makes Kingston's report only."""
    out = tmp_path / "out"
    out.mkdir()
    planted = {"E47000001": {"status": "ok", "html": "council-E47000001-2026.html", "finished_at": "2026-01-01T00:00:00Z"},
               "../../etc/passwd": {"status": "ok", "html": "/etc/passwd"},
               "BST": {"status": "ok", "html": "/etc/passwd", "pdf": "../../etc/shadow", "finished_at": "=1+1"},
               "YOR": "=HYPERLINK(\"http://example.com\")"}
    (out / MANIFEST).write_text(json.dumps({"councils": planted}))
    res = run_batch(WAVE, small_store, out, councils=["KTT"], jobs=1, draws=20, progress=False)
    assert list(res.results["status"]) == ["ok"]
    index = pd.read_csv(out / "index.csv", dtype=str, keep_default_na=False).set_index("council_code")
    assert sorted(index.index) == ["BST", "KTT"]  # YOR's entry was not an entry; the others are not councils of the wave
    assert index.loc["KTT", "status"] == "ready" and index.loc["KTT", "html"] == "council-KTT-2026.html"
    assert index.loc["BST"].to_dict() | {"council": ""} == {
        "council": "", "type": index.loc["BST", "type"], "region": index.loc["BST", "region"], "html": "", "pdf": "",
        "status": "failed", "updated": ""}
    text = (out / "index.csv").read_text() + (out / "index.html").read_text()
    for bad in ("passwd", "etc/shadow", "E47000001", "=1+1", "HYPERLINK"):
        assert bad not in text, bad
    assert len(res.warnings) >= 4 and "not a council taking part" in " ".join(res.warnings)
    assert "not published in the index" in res.summary()


def _chromium():
    return next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)


def test_index_page_reflows_on_a_320px_screen(tmp_path):
    """WCAG 2.2 reflow: at 320 CSS px nothing scrolls sideways, with the longest real council names."""
    import os

    browser = _chromium()
    if not browser:
        if os.environ.get("DQM_REQUIRE_CHROMIUM") == "1":
            pytest.fail("Chromium is needed for the reflow test: apt-get install chromium")
        pytest.skip("Chromium is not installed")
    ref = ref_councils()
    longest = ref.assign(n=ref["nice-name"].str.len()).nlargest(20, "n")["local-authority-code"].tolist()
    entries = {c: {"status": "ok" if i % 2 else "failed", "html": "", "pdf": "", "finished_at": ""}
               for i, c in enumerate(longest)}
    _, page = write_index(tmp_path, index_table(entries, ref), WAVE, synthetic=True)
    # headless Chromium's window is at least 500 px wide: the page is shown in a 320 px frame instead
    import html as html_lib

    frame = ('<!DOCTYPE html><html><body><iframe id="f" width="320" height="800" srcdoc="'
             + html_lib.escape(page.read_text(), quote=True) + '"></iframe><script>'
             "document.getElementById('f').addEventListener('load', function () { var w = this.contentWindow; "
             "document.body.setAttribute('data-probe', JSON.stringify({width: w.document.documentElement.scrollWidth, "
             "viewport: w.innerWidth})); });</script></body></html>")
    probed = tmp_path / "probe.html"
    probed.write_text(frame)
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                          "--disable-background-networking", "--virtual-time-budget=4000",
                          f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probed.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    found = json.loads(BeautifulSoup(dom, "html.parser").body["data-probe"])
    assert found["viewport"] <= 340, found  # the window really was phone-sized
    assert found["width"] <= found["viewport"], f"index {found['width']} px wide on a {found['viewport']} px screen"


def test_a_combined_authority_in_an_old_store_gets_no_report(small_store, tmp_path):
    """A store made before combined authorities were refused may hold one: it is no council of the wave."""
    import duckdb

    from dqm.reports.notebook import councils_in_wave

    store = tmp_path / "old.duckdb"
    store.write_bytes(small_store.read_bytes())
    con = duckdb.connect(str(store))
    con.execute("UPDATE submissions SET council_code = 'GMCA' WHERE council_code = 'YOR'")
    con.close()
    assert councils_in_wave(store, WAVE) == ["BST", "KTT"]

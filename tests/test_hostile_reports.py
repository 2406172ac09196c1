"""Hostile strings in every data file and export field, rendered into every report, opened in a real browser.

One fixture writes a data folder whose model, measures, outcomes, claims and survey export (free
text, roles, council names, file name) and the store's file name carry hostile strings: script tags,
event handlers, ``javascript:`` and Markdown links, remote images and style imports pointed at a
local server that records every request, attachments of local files, template and format syntax,
Markdown emphasis, bidi overrides, control characters, a 200-character URL and a 5,000-character word.
Each string carries a tag (``ZQ001``) naming its source, so the reports can be searched for it.

The four reports are built from it, then each is opened once in headless Chromium with a probe that
records whether any script ran (a payload sets ``window.__xss`` or the title), and the page width;
the rendered DOM is checked for injected elements and unsafe URLs. Every PDF is inspected with pypdf:
no attachments or embedded files, no JavaScript or external links, no text off the page. The server
must see no request from either the browser or WeasyPrint.

The assessment pack, an action plan and the handbook (HTML and PDF) are built from the same data files,
whose model descriptors and prompts and whose action library also start with formulas (``=HYPERLINK``,
``+cmd|...``, ``@SUM``, a tab or carriage return before ``=``): in the workbooks every such string must be
text, the only formulas the pack's own calculator; the handbook is checked as the reports are.

Chromium comes from Debian (``.ci/run`` installs it); without it the browser half is skipped unless
``DQM_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``), when its absence fails the test.
"""
from __future__ import annotations

import collections
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from browser import chromium, dump_dom_with_probe
from bs4 import BeautifulSoup

from dqm.paths import data_dir

PAYLOADS = [
    "<script>window.__xss=1;document.title='XSS'</script>",
    '<img src=x onerror="window.__xss=1">',
    "<img src=http://127.0.0.1:{port}/img>",
    "[click](javascript:window.__xss=1)",
    '<a href="javascript:window.__xss=1">a</a>',
    '"><svg onload=window.__xss=1>',
    "<iframe srcdoc='<script>parent.__xss=1</script>'></iframe>",
    "<link rel=attachment href=file:///etc/passwd>",
    "<style>@import url(http://127.0.0.1:{port}/css);</style>",
    "![m](http://127.0.0.1:{port}/md)",
    "<details open ontoggle=window.__xss=1>x</details>",
    "{{7*7}} ${7*7} %s {0} $\\frac{1}{0}$",
    "**bold** _em_ <b>b</b> &amp; &lt;",
    "\u202eevil override\u202c then \u2067isolate",
    "ctrl\x07\x1b[31m\x85 chars",
    "<object data=http://127.0.0.1:{port}/obj></object><embed src=http://127.0.0.1:{port}/emb>",
    "<base href=http://127.0.0.1:{port}/><meta http-equiv=refresh content='0;url=javascript:window.__xss=1'>",
]
# text that a spreadsheet would run as a formula, at the start of a cell (the tag follows it)
FORMULAS = [
    '=HYPERLINK("http://127.0.0.1:{port}/xlsx","open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=HYPERLINK(\"http://127.0.0.1:{port}/tab\")",
    "\r=1+1",
    "=1+1\u202e evil",
]
LONG_URL = "https://example.org/" + "a" * 180
LONG_WORD = "W" * 5000
REPORT_KINDS = {"annual": True, "council": True, "evidence": True, "quality": False}  # kind: with PDF
QUICK = {"annual": {"bootstrap": 50, "null_bootstrap": 10}, "council": {"draws": 50},
         "evidence": {"bootstrap": 50, "null_bootstrap": 10, "check_replications": 10}, "quality": {}}


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list = []

    def do_GET(self):  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *a):
        pass


class Tags:
    """Hostile strings, each tagged with where it was planted."""

    def __init__(self, port: int):
        self.port, self.sources, self.k = port, {}, 0

    def __call__(self, source: str, extra: str | None = None) -> str:
        self.k += 1
        tag = f"ZQ{self.k:03d}"
        payload = extra if extra is not None else PAYLOADS[self.k % len(PAYLOADS)].replace("{port}", str(self.port))
        self.sources[tag] = source
        return f"{tag} {payload}"

    def lead(self, source: str) -> str:
        """A hostile string that starts with a formula (the tag after it), for the cells of spreadsheets."""
        self.k += 1
        tag = f"ZQ{self.k:03d}"
        self.sources[tag] = source
        return f"{FORMULAS[self.k % len(FORMULAS)].replace('{port}', str(self.port))} {tag}"


def _hostile_data(root: Path, tags: Tags) -> None:
    src = data_dir()
    for sub in ("reference", "outcomes", "model"):
        shutil.copytree(src / sub, root / sub)
    for f in src.iterdir():  # survey tools, limits, the action library, ...
        if f.is_file():
            shutil.copy(f, root / f.name)
    # the quality model: its free text, and the name of every dimension
    mpath = root / "model" / "dqm.yaml"
    model = yaml.safe_load(mpath.read_text(encoding="utf-8"))
    model["source"] = tags("model")
    model["version"] = tags("model")
    for d in model["dimensions"]:
        d["name"] = tags("model")
        d["descriptors"] = {v: tags.lead("model") for v in d["descriptors"]}  # the pack and handbook show these
        d["prompts"] = [tags.lead("model"), tags("model")]
    mpath.write_text(yaml.safe_dump(model, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # outcome measures: every text field, and one very long caveat
    meas_path = root / "outcomes" / "measures.yaml"
    measures = yaml.safe_load(meas_path.read_text(encoding="utf-8"))
    for m in measures:
        for key in ("name", "unit", "source", "licence"):
            m[key] = tags("measures")
        m["caveats"] = [tags("measures"), tags("measures", LONG_URL)]
    measures[0]["caveats"].append(tags("measures", LONG_WORD))
    meas_path.write_text(yaml.safe_dump(measures, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # outcomes: the period column (kept starting with the year, as real periods do)
    out_path = root / "outcomes" / "outcomes.csv"
    outcomes = pd.read_csv(out_path, dtype=str)
    for measure in outcomes["measure"].unique():
        sel = outcomes["measure"] == measure
        for period in outcomes.loc[sel, "period"].unique():
            outcomes.loc[sel & (outcomes["period"] == period), "period"] = period + " " + tags("outcomes")
    outcomes.to_csv(out_path, index=False)
    # claims: statement, source and the data that would settle an untestable claim
    keep = {"efficiency-central-costs", "efficiency-net-spend", "prevention-reablement", "agility",
            "sceptic-no-efficiency-gain", "assessment-self-matches-independent", "workforce-turnover"}
    claims = [c for c in yaml.safe_load((src / "claims.yaml").read_text(encoding="utf-8")) if c["id"] in keep]
    for c in claims:
        c["statement"] = tags("claims")
        c["source"] = tags("claims")
        if c.get("settle_with"):
            c["settle_with"] = tags("claims")
    claims[0]["statement"] = tags("claims", LONG_WORD)
    (root / "claims.yaml").write_text(yaml.safe_dump(claims, allow_unicode=True, sort_keys=False), encoding="utf-8")
    # how the reports word claims: the associations tested (the annual report and the review show these)
    wording = yaml.safe_load((src / "claim_wording.yaml").read_text(encoding="utf-8"))
    wording["association"] = {cid: tags("claims") for cid in wording.get("association", {}) if cid in keep}
    (root / "claim_wording.yaml").write_text(yaml.safe_dump(wording, allow_unicode=True, sort_keys=False),
                                             encoding="utf-8")
    # the action library: every action and rationale starts with a formula; guidance titles carry markup
    lib = yaml.safe_load((src / "actions.yaml").read_text(encoding="utf-8"))
    for g in lib["guidance"].values():
        g["title"] = tags("actions")
    for steps in lib["actions"].values():
        for items in steps.values():
            for item in items:
                item["action"], item["rationale"] = tags.lead("actions"), tags.lead("actions")
    (root / "actions.yaml").write_text(yaml.safe_dump(lib, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _hostile_export(folder: Path, tags: Tags, model) -> Path:
    import datetime as dt

    from conftest import Survey
    from dqm.reference import councils

    ref = councils()
    finance = set(pd.read_csv(data_dir() / "outcomes" / "outcomes.csv", dtype=str)
                  .query("measure == 'central_services_per_head'")["local-authority-code"])
    pool = ref[ref["principal"] & ref["local-authority-code"].isin(finance)].sort_values("local-authority-code")
    rng = np.random.default_rng(7)
    survey = Survey(model)
    for i, name in enumerate(pool["official-name"].head(36)):
        lv = int(rng.integers(1, 6))
        overrides = {q: f"{int(np.clip(lv + rng.integers(-1, 2), 1, 5))}" for q in model.dimensions["question"]}
        if i < 3:  # the evidence shown in a council report: every dimension of the first councils
            overrides.update({q: tags("export evidence", LONG_WORD if (i, j) == (0, 0) else LONG_URL if j == 1 else None)
                              for j, q in enumerate(model.dimensions["evidence_question"])})
        survey.add(council=name, email=f"r{i}@example.gov.uk", role=tags("export role") if i < 3 else "Head of Digital",
                   when=dt.datetime(2026, 3, 1 + i % 27, 10, 0), level=str(lv), target="4", overrides=overrides)
    for _ in range(4):  # council names that match no council: quarantined, listed in the data quality report
        survey.add(council=tags("export council name"), email=f"x{_}@example.gov.uk")
    name = tags("export file name").replace("/", "_")[:120]
    return survey.googleforms(folder / f"{name}.csv")


@pytest.fixture(scope="module")
def hostile_inputs(tmp_path_factory):
    """Hostile data files, a hostile export and the store it was ingested into (built once); a recording server."""
    from dqm.model import load_model
    from dqm.reports.notebook import councils_in_wave
    from dqm.store import ingest_files

    server = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tags = Tags(server.server_port)
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    _hostile_data(data, tags)
    with _data_dir(data):
        model = load_model()
        export = _hostile_export(root, tags, model)
        store = root / f"{tags('store file name', '<img src=x onerror=window.__xss=1>')}.duckdb"
        results = ingest_files([export], wave=2026, store=store)
        assert results[0].stored >= 30, results[0].summary()
        council = councils_in_wave(store, 2026)[0]
    yield {"tags": tags, "server": server, "root": root, "data": data, "store": store, "council": council}
    server.shutdown()


class _data_dir:
    """DQM_DATA_DIR set to the hostile data folder (the report kernels inherit it), and nothing else."""

    def __init__(self, data: Path):
        self.data, self.mp = data, pytest.MonkeyPatch()

    def __enter__(self):
        self.mp.setenv("DQM_DATA_DIR", str(self.data))
        self.mp.delenv("DQM_MODEL", raising=False)

    def __exit__(self, *exc):
        self.mp.undo()
        return False


@pytest.fixture(scope="module")
def hostile(hostile_inputs):
    """The four reports built from hostile data files and a hostile export (built once)."""
    from dqm.reports.notebook import run_report

    h = hostile_inputs
    with _data_dir(h["data"]):
        out = h["root"] / "out"
        built = {kind: run_report(kind, 2026, store=h["store"], out_dir=out,
                                  council=h["council"] if kind == "council" else None, pdf=pdf, extra=QUICK[kind])
                 for kind, pdf in REPORT_KINDS.items()}
    return {**h, "reports": built}


@pytest.fixture(scope="module")
def hostile_documents(hostile_inputs):
    """The assessment pack, a council's action plan and the handbook (with its PDF), from the hostile data files."""
    from dqm.documents.actions import load_actions, plan_rows, write_action_plan
    from dqm.documents.handbook import write_handbook
    from dqm.documents.pack import write_pack
    from dqm.model import load_model
    from dqm.reports.notebook import councils_in_wave
    from dqm.store import load

    h = hostile_inputs
    out = h["root"] / "documents"
    with _data_dir(h["data"]):
        model = load_model()
        pack = write_pack(out / "pack.xlsx", model, 2026)
        data, library = load(h["store"], wave=2026, model=model), load_actions(model)
        council = next(c for c in councils_in_wave(h["store"], 2026)  # one with steps to take (actions to show)
                       if plan_rows(c, 2026, data, model, library)["step"].astype(bool).any())
        plan = write_action_plan(out / "plan.xlsx", council, 2026, store=h["store"], model=model)
        handbook, handbook_pdf = write_handbook(out, model, pdf=True)
    return {**h, "pack": pack, "plan": plan, "handbook": handbook, "handbook_pdf": handbook_pdf}


PROBE = ("<script>setTimeout(function(){document.body.setAttribute('data-dqm-probe', JSON.stringify({xss: "
         "window.__xss || 0, title: document.title, width: document.documentElement.scrollWidth, "
         "viewport: window.innerWidth}))}, 500)</script>")


def _chromium() -> str | None:
    """Chromium, or None (browser half skipped); fails the test when DQM_REQUIRE_CHROMIUM=1 (tests/browser.py)."""
    return chromium()


def _open_in_chromium(browser: str, html_path: Path, tmp: Path) -> BeautifulSoup:
    """The DOM after the page ran, with the probe's record on <body>: one browser launch per report."""
    return dump_dom_with_probe(browser, html_path, tmp, PROBE)


URL_ATTRS = ("href", "src", "action", "formaction", "data", "srcset", "poster", "background", "xlink:href")


def _check_dom(soup: BeautifulSoup, title: str) -> None:
    probe = json.loads(soup.body["data-dqm-probe"])
    assert probe["xss"] == 0, "a hostile string ran as script"
    assert probe["title"] == title
    assert probe["width"] <= probe["viewport"], f"page {probe['width']} px wide in a {probe['viewport']} px window"
    assert len(soup.find_all("script")) == 1  # the probe only
    for bad in ("iframe", "object", "embed", "svg", "math", "form", "input", "base", "frame", "video", "audio"):
        assert not soup.find_all(bad), bad
    assert len(soup.find_all("style")) == 1 and soup.find("style").parent.name == "head"
    assert [m.attrs for m in soup.find_all("meta")] == [{"charset": "utf-8"}, {"content": "width=device-width, initial-scale=1", "name": "viewport"}]
    assert not soup.find_all("link")
    for el in soup.find_all(True):
        for attr, value in el.attrs.items():
            assert not attr.lower().startswith("on"), el.name
            if attr.lower() in URL_ATTRS:
                v = re.sub(r"\s", "", str(value)).lower()
                assert not v.startswith(("javascript:", "http:", "https:", "file:", "//", "vbscript:")), (el.name, v[:80])
                if el.name in ("img", "source"):  # a chart: an inline PNG, or its phone drawing in a <picture>
                    assert v.startswith("data:image/png;base64,") and "," not in v.split(",", 1)[1], (el.name, v[:80])
    for source in soup.find_all("source"):
        assert source.parent.name == "picture" and set(source.attrs) == {"media", "srcset", "data-dqm-label-px"}
    for picture in soup.find_all("picture"):
        assert picture.find("img") and picture.find("img").get("alt"), "a chart's picture without its alt-texted image"
    for details in soup.find_all("details"):
        assert set(details.attrs) <= {"class"}


def _check_pdf(path: Path) -> None:
    import pypdf

    reader = pypdf.PdfReader(path)
    assert not reader.attachments
    root = reader.trailer["/Root"]
    names = root.get("/Names", {})
    assert "/EmbeddedFiles" not in names and "/JavaScript" not in names and "/OpenAction" not in root and "/AA" not in root
    for page in reader.pages:
        width = float(page.mediabox.width)
        for annot in page.get("/Annots", []) or []:
            a = annot.get_object()
            assert a.get("/Subtype") != "/FileAttachment"
            action = a.get("/A", {})
            assert action.get("/S") not in ("/JavaScript", "/Launch", "/ImportData", "/SubmitForm")
            uri = str(action.get("/URI", ""))
            assert not re.match(r"(?i)\s*(javascript|file|https?|ftp):", uri), uri
        xs = []
        page.extract_text(visitor_text=lambda text, cm, tm, fd, fs: xs.append((tm[4] * cm[0] + cm[4], text))
                          if text.strip() else None)
        off = [t for x, t in xs if x > width or x < 0]
        assert not off, f"text off the page in {path.name}: {off[:3]}"


# Builds all four reports from hostile data (about 6 minutes on 2 cores): too long for `make test`'s
# 10-minute budget, so it is marked slow and `.ci/run` runs it on every submission after `make test`.
@pytest.mark.slow
def test_hostile_strings_never_become_markup_in_any_report(hostile, tmp_path):
    browser = _chromium()
    tags, reports = hostile["tags"], hostile["reports"]
    counts = {}
    for kind, res in reports.items():
        html = res.html.read_text(encoding="utf-8")
        title = BeautifulSoup(html, "html.parser").title.get_text()
        if browser:
            dom = _open_in_chromium(browser, res.html, tmp_path)
            _check_dom(dom, title)
            text = dom.get_text(" ")
        else:
            text = BeautifulSoup(html, "html.parser").get_text(" ")
        found = collections.Counter(tags.sources[t] for t in set(re.findall(r"ZQ\d{3}", text)) if t in tags.sources)
        counts[kind] = dict(sorted(found.items()))
        assert not re.search(r"/(home|root|tmp|Users)/", text.split("Parameters of this run")[-1])
        if res.pdf:
            _check_pdf(res.pdf)
    assert _Recorder.hits == [], f"resources were fetched: {_Recorder.hits}"
    # the hostile strings did reach the reports, as text
    assert counts["annual"].get("model") and counts["annual"].get("claims") and counts["annual"].get("store file name")
    assert counts["evidence"].get("measures") and counts["evidence"].get("outcomes") and counts["evidence"].get("claims")
    assert counts["council"].get("export evidence") and counts["council"].get("export role")
    assert counts["quality"].get("export council name") and counts["quality"].get("export file name")
    total = collections.Counter(tags.sources.values())
    print("\nhostile strings planted per source:", dict(sorted(total.items())), "total", sum(total.values()))
    for kind, c in counts.items():
        print(f"hostile strings found in the {kind} report (as text):", c, "total", sum(c.values()))
    print("browser:", browser or "none (HTML parsed without running it)")
    print("seconds per report:", {k: round(r.seconds, 1) for k, r in reports.items()})


# ---------------------------------------------------------------- the documents: pack, action plan, handbook
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")


def _workbook_cells(path: Path):
    """Every cell of every sheet: (sheet, coordinate, value, data type); and the count of <f> elements in the XML."""
    import zipfile

    from openpyxl import load_workbook

    wb = load_workbook(path)
    cells = [(ws.title, c.coordinate, c.value, c.data_type) for ws in wb.worksheets for row in ws.iter_rows() for c in row
             if c.value is not None]
    with zipfile.ZipFile(path) as z:
        xml_f = sum(len(re.findall(rb"<f[ >]", z.read(n))) for n in z.namelist() if n.startswith("xl/worksheets/"))
    return cells, xml_f


@pytest.mark.slow
def test_hostile_strings_are_inert_text_in_the_pack_the_action_plan_and_the_handbook(hostile_documents, tmp_path):
    from dqm.documents.pack import FIRST_ROW

    tags, docs = hostile_documents["tags"], hostile_documents
    found = collections.Counter()
    for kind in ("pack", "plan"):
        cells, xml_f = _workbook_cells(docs[kind])
        formulas = [(s, c) for s, c, v, t in cells if t == "f"]
        assert xml_f == len(formulas)
        if kind == "plan":
            assert not formulas, formulas[:3]
        else:  # only the calculator's own formulas (columns B to D of the Calculator sheet) compute
            assert formulas and all(s == "Calculator" and re.fullmatch(r"[BCD]\d+", c) and int(c[1:]) >= FIRST_ROW
                                    for s, c in formulas), formulas[:3]
        texts = [v for s, c, v, t in cells if isinstance(v, str) and t != "f"]
        assert not [t for t in texts if INVISIBLE.search(t)]
        leading = [t for t in texts if re.match(r"\s*[=+\-@]", t) and re.search(r"ZQ\d{3}", t)]
        assert leading, f"no formula-starting hostile text reached the {kind} (as text)"
        found[kind] = len({t for t in re.findall(r"ZQ\d{3}", " ".join(texts)) if t in tags.sources})
    assert found["pack"] and found["plan"]
    html = docs["handbook"].read_text(encoding="utf-8")
    browser = _chromium()
    title = BeautifulSoup(html, "html.parser").title.get_text()
    if browser:
        dom = _open_in_chromium(browser, docs["handbook"], tmp_path)
        _check_dom(dom, title)
        text = dom.get_text(" ")
    else:
        text = BeautifulSoup(html, "html.parser").get_text(" ")
    assert "model" in {tags.sources[t] for t in re.findall(r"ZQ\d{3}", text) if t in tags.sources}
    assert not INVISIBLE.search(text)
    _check_pdf(docs["handbook_pdf"])
    assert _Recorder.hits == [], f"resources were fetched: {_Recorder.hits}"
    print("\nhostile strings found as text: pack", found["pack"], "action plan", found["plan"],
          "handbook", len(set(re.findall(r"ZQ\d{3}", text))))


# ---------------------------------------------------------------- the batch: index.html and index.csv
@pytest.mark.slow
def test_hostile_names_are_inert_in_the_batch_index_and_index_csv(hostile_inputs, tmp_path):
    """Council names, types and regions from a hostile reference table, and a tampered manifest, reach the
    batch's index.html (opened in Chromium) and index.csv only as inert text."""
    import csv

    from dqm.reports.batch import run_batch
    from dqm.reports.manifest import MANIFEST
    from dqm.reports.notebook import councils_in_wave

    h, tags = hostile_inputs, hostile_inputs["tags"]
    data = tmp_path / "data"
    shutil.copytree(h["data"], data)
    ref_path = data / "reference" / "uk_local_authorities_current.csv"
    ref = pd.read_csv(ref_path, dtype=str, keep_default_na=False)
    codes = councils_in_wave(h["store"], 2026)[:2]
    for i, code in enumerate(codes):
        row = ref["local-authority-code"] == code
        ref.loc[row, "nice-name"] = tags.lead("reference") if i == 0 else tags("reference")
        ref.loc[row, "local-authority-type-name"] = tags.lead("reference")
        ref.loc[row, "region"] = tags("reference", "\u202eevil override\u202c " + PAYLOADS[1])
    ref.to_csv(ref_path, index=False)
    out = tmp_path / "out"
    out.mkdir()
    (out / MANIFEST).write_text(json.dumps({"councils": {
        "=HYPERLINK(\"http://127.0.0.1/x\")": {"status": "ok", "html": "/etc/passwd"},
        codes[1]: {"status": "ok", "html": "javascript:window.__xss=1", "finished_at": "=1+1"}}}))
    with _data_dir(data):
        res = run_batch(2026, h["store"], out, councils=codes[:1], jobs=1, draws=20, progress=False)
    assert list(res.results["status"]) == ["ok"], res.summary()
    index_html, index_csv = out / "index.html", out / "index.csv"
    raw_csv = index_csv.read_text(encoding="utf-8")
    assert not INVISIBLE.search(raw_csv.replace("\n", "").replace("\r", ""))
    with open(index_csv, newline="", encoding="utf-8") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    assert not [c for c in cells if re.match(r"[=+\-@\t\r]", c)], "a cell would start a formula in a spreadsheet"
    assert any(re.search(r"ZQ\d{3}", c) for c in cells)  # the hostile names did arrive, as text
    table = pd.read_csv(index_csv, dtype=str, keep_default_na=False)
    assert set(table["html"]) | set(table["pdf"]) <= {"", f"council-{codes[0]}-2026.html"}  # not the manifest's paths
    assert "passwd" not in raw_csv
    browser = _chromium()
    html = index_html.read_text(encoding="utf-8")
    if browser:
        dom = _open_in_chromium(browser, index_html, tmp_path)
        probe = json.loads(dom.body["data-dqm-probe"])
        assert probe["xss"] == 0 and probe["width"] <= probe["viewport"]
        assert len(dom.find_all("script")) == 2  # the page's own search script and the probe
        for bad in ("iframe", "object", "embed", "svg", "img", "base", "frame", "link", "meta[http-equiv]"):
            assert not dom.select(bad), bad
        for a in dom.find_all(href=True):
            assert re.fullmatch(r"council-[A-Z0-9]+-2026\.(html|pdf)|index\.csv", a["href"]), a["href"]
        text = dom.get_text(" ")
    else:
        text = BeautifulSoup(html, "html.parser").get_text(" ")
    assert {tags.sources[t] for t in re.findall(r"ZQ\d{3}", text) if t in tags.sources} == {"reference"}
    assert not INVISIBLE.search(text.replace("\n", "").replace("\t", "").replace("\r", ""))
    assert _Recorder.hits == [], f"resources were fetched: {_Recorder.hits}"

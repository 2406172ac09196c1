"""Bad inputs, as a careless user or an attacker would give them: every one gets a message or a quarantined row.

One row per case: (id, kind, builder, expected message fragment, expected exit code). A builder gets a
``Case`` (a temporary folder, the model, the survey-export helper, monkeypatch) and returns the argv for
``dqm.cli.main``. Every case runs in-process and asserts:

* the exit code, and the fragment in what dqm printed (stderr for errors, stdout otherwise);
* no traceback, and an error message of one paragraph (one line);
* for every ingest that ran: rows read = stored + superseded + quarantined (from ``--json``), so no row is lost;
* for store cases, that a file that is not a dqm store is left byte for byte as it was.

harden-out's output cases live beside this file in ``test_outputs.py``.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from dqm.cli import EXIT_NOTHING_STORED, main
from dqm.paths import data_dir

WAVE = 2026
GOOD_CLAIMS = data_dir() / "claims.yaml"


@dataclass
class Case:
    tmp: Path
    model: object
    survey: object
    monkeypatch: object

    def store(self) -> Path:
        return self.tmp / "s.duckdb"

    def export(self, name="e.csv", **add) -> Path:
        self.survey.add(**add)
        return self.survey.googleforms(self.tmp / name)

    def ingest(self, path, *more) -> list:
        return ["ingest", str(path), "--wave", str(WAVE), "--store", str(self.store()), "--json", *map(str, more)]

    def write(self, name, data) -> Path:
        p = self.tmp / name
        (p.write_bytes if isinstance(data, bytes) else lambda t: p.write_text(t, encoding="utf-8"))(data)
        return p

    def lq(self) -> str:
        return self.model.dimensions["question"].iloc[0]


CASES = []


def case(cid, kind, fragment, code=2, check=None):
    def deco(build):
        CASES.append(pytest.param(kind, build, fragment, code, check, id=f"{kind}-{cid}"))
        return build
    return deco


def add(cid, kind, build, fragment, code=2, check=None):
    CASES.append(pytest.param(kind, build, fragment, code, check, id=f"{kind}-{cid}"))


NOTHING = EXIT_NOTHING_STORED  # an export whose every row is quarantined stores nothing: exit 3 (issue #22)


def quarantined(reason):
    """A check for an ingest that must quarantine exactly one row for ``reason``."""
    def check(c, out):
        assert out["rejected"] >= 1 and reason in out["reasons"], out["reasons"]
    return check


def stored(n):
    def check(c, out):
        assert out["stored"] == n and out["rejected"] == 0, (out["stored"], out["reasons"])
    return check


# ---------------------------------------------------------------- helpers that damage files
def _csv_cells(path, column, values):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df[column] = values
    df.to_csv(path, index=False)
    return path


def _zip_edit(src, dst, name, change):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == name:
                data = change(data)
                if data is None:
                    continue
            zout.writestr(item, data)
    return dst


def _model_text(change=None) -> str:
    text = (data_dir() / "model" / "dqm.yaml").read_text(encoding="utf-8")
    return change(text) if change else text


def _demo_two(c: Case):
    for i, council in enumerate(["Bristol", "Leeds", "Cornwall"]):
        c.survey.add(council=council, email=f"r{i}@x.gov.uk")
    return c.survey.googleforms(c.tmp / "two.csv")


def _store_with_data(c: Case) -> Path:
    assert main(c.ingest(_demo_two(c))) == 0
    return c.store()


def _newer_store(c: Case) -> Path:
    s = _store_with_data(c)
    con = duckdb.connect(str(s))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    return s


def _data_copy(c: Case, measures_text: str) -> Path:
    """A copy of data/ with a different measures.yaml, pointed at by DQM_DATA_DIR."""
    d = c.tmp / "data"
    shutil.copytree(data_dir(), d, ignore=shutil.ignore_patterns("demo", "sources", "*.duckdb"))
    (d / "outcomes" / "measures.yaml").write_text(measures_text, encoding="utf-8")
    c.monkeypatch.setenv("DQM_DATA_DIR", str(d))
    return d


def _claims(c: Case, change) -> list:
    p = c.write("claims.yaml", change(GOOD_CLAIMS.read_text(encoding="utf-8")))
    return ["claims", "--wave", str(WAVE), "--store", str(c.tmp / "none.duckdb"), "--claims", str(p)]


def _outcomes(c: Case, data) -> list:
    p = data if isinstance(data, Path) else c.write("outcomes.csv", data)
    return ["claims", "--wave", str(WAVE), "--store", str(c.tmp / "none.duckdb"), "--outcomes", str(p)]


def _manifest(c: Case, text: str, export=True) -> list:
    d = c.tmp / "exports"
    d.mkdir()
    if export:
        c.survey.add()
        c.survey.googleforms(d / "a.csv")
    (d / "manifest.csv").write_text(text, encoding="utf-8")
    return ["run", "--exports", str(d), "--store", str(c.tmp / "run.duckdb"), "--out-dir", str(c.tmp / "out")]


OUT = "name,local_authority_code\n"

# ---------------------------------------------------------------- exports: whole-file problems (exit 2, nothing stored)
add("empty", "export", lambda c: c.ingest(c.write("e.csv", b"")), "the file is empty")
add("whitespace-only", "export", lambda c: c.ingest(c.write("e.csv", "\n \n\t\n")), "the file is empty")
add("header-only", "export", lambda c: c.ingest(c.write("h.csv", c.export().read_text().splitlines()[0] + "\n")),
    "no responses")
add("png-named-csv", "export", lambda c: c.ingest(c.write("p.csv", b"\x89PNG\r\n\x1a\n" + bytes(300))), "binary file")
add("png-named-xlsx", "export", lambda c: c.ingest(c.write("p.xlsx", b"\x89PNG\r\n\x1a\n" + bytes(300))),
    "named .xlsx but is not an XLSX")
add("corrupt-zip", "export", lambda c: c.ingest(c.write("z.xlsx", b"PK\x03\x04" + bytes(200))), "not a readable XLSX")
add("utf16", "export", lambda c: c.ingest(c.write("u.csv", c.export().read_text().encode("utf-16"))), "UTF-16")
add("utf32", "export", lambda c: c.ingest(c.write("u.csv", c.export().read_text().encode("utf-32"))), "UTF-32 text")
add("utf32-be", "export", lambda c: c.ingest(c.write("u.csv", b"\x00\x00\xfe\xff" + c.export().read_text().encode(
    "utf-32-be"))), "UTF-32 text")
add("xls", "export", lambda c: c.ingest(c.write("old.xls", b"\xd0\xcf\x11\xe0" + bytes(100))), "not supported")
add("ods", "export", lambda c: c.ingest(c.write("x.ods", b"not really")), "not supported")
add("missing-file", "export", lambda c: c.ingest(c.tmp / "nope.csv"), "does not exist")
add("folder-without-exports", "export", lambda c: c.ingest(c.tmp), "the folder holds no .xlsx or .csv files")
add("sheet-on-csv", "export", lambda c: c.ingest(c.export(), "--sheet", "Responses"), "--sheet only applies")
add("missing-sheet", "export", lambda c: c.ingest((c.survey.add(), c.survey.msforms(c.tmp / "w.xlsx"))[1], "--sheet",
                                                   "Responses"), "no sheet 'Responses'")
add("malformed-sheet-xml", "export", lambda c: c.ingest(_zip_edit(
    (c.survey.add(), c.survey.msforms(c.tmp / "w.xlsx"))[1], c.tmp / "bad.xlsx", "xl/worksheets/sheet1.xml",
    lambda d: d[: len(d) // 2])), "bad.xlsx")
add("missing-sheet-part", "export", lambda c: c.ingest(_zip_edit(
    (c.survey.add(), c.survey.msforms(c.tmp / "w.xlsx"))[1], c.tmp / "bad.xlsx", "xl/worksheets/sheet1.xml",
    lambda d: None)), "bad.xlsx")
add("missing-council-column", "export", lambda c: c.ingest(_rename(c.export(), c.model.metadata_questions["council"]["question"],
                                                                   "Employer")), "Which council")
add("missing-dimension-column", "export", lambda c: c.ingest(_rename(c.export(), c.lq(), "Leadership now")),
    "closest columns")
add("duplicated-column", "export", lambda c: c.ingest(_dup(c.export(), c.lq())), "both answer the same question")
add("unclosed-quote-mid", "export", lambda c: c.ingest(_unclosed(c)), "cells but the header has")
add("quote-never-closed", "export", lambda c: c.ingest(c.write("q.csv", c.export().read_text() + '2026-03-01,"open\n')),
    "never closed")
add("extra-cells", "export", lambda c: c.ingest(c.write("x.csv", c.export().read_text().rstrip("\n") + ",surplus,cells\n")),
    "cells but the header has")
add("utf8-with-one-cp1252-byte", "export", lambda c: c.ingest(_stray_byte(c)), "byte 0xe9 in row 3")
add("neither-utf8-nor-cp1252", "export", lambda c: c.ingest(c.write("n.csv", (c.survey.add(), c.survey.googleforms(
    c.tmp / "w.csv", encoding="cp1252"))[1].read_bytes().replace(b"Strategy agreed.", b"Strategy \x81 agreed."))),
    "neither UTF-8 nor Windows-1252")
add("file-over-size-limit", "export", lambda c: (c.monkeypatch.setenv("DQM_MAX_FILE_MB", "0.001"),
                                                 c.ingest(c.export()))[1], "more than the limit")
add("rows-over-limit", "export", lambda c: c.ingest(_demo_two(c), "--max-rows", "2"), "more than the limit of 2")
add("max-rows-zero", "cli", lambda c: c.ingest(c.export(), "--max-rows", "0"), "must be at least 1")
add("mixed-date-orders", "export", lambda c: c.ingest(_dates(c, ["13/02/2026 10:00", "02/13/2026 10:00"])),
    "mix day-first and month-first")
add("wave-not-a-year", "export", lambda c: ["ingest", str(c.export()), "--wave", "26", "--store", str(c.store())],
    "not a year")
add("wave-words", "cli", lambda c: ["ingest", str(c.export()), "--wave", "twenty", "--store", str(c.store())],
    "invalid int value")
add("assessment-type", "cli", lambda c: c.ingest(c.export(), "--assessment-type", "guesswork"), "invalid choice")
add("shape", "cli", lambda c: c.ingest(c.export(), "--shape", "surveymonkey"), "invalid choice")

# ---------------------------------------------------------------- exports: row problems (exit 0, row quarantined)
add("cell-over-limit", "export", lambda c: c.ingest(c.export(evidence="x" * 500), "--max-cell-chars", "100"), "",
    NOTHING, quarantined("cell too large"))
# a cell far over the cell limit (by more than dqm.limits.CELL_MARGIN) is not an answer: refused as it is read
add("one-mb-council-cell", "export", lambda c: c.ingest(c.export(council="Bristol " * 131_072)), "cannot be an answer")
add("council-cell-just-over-limit", "export", lambda c: c.ingest(c.export(council="Bristol " * 4_200)), "", NOTHING,
    quarantined("cell too large"))
add("long-council-name", "export", lambda c: c.ingest(c.export(council="Bristol " * 40)), "", NOTHING,
    quarantined("council name too long"))
for body in ("North Yorkshire Police", "NHS Greater Manchester ICB", "Greater Manchester Police", "Bracknell Town Council",
             "Beech Parish Council", "1101 Air Cadets", "Kent Fire and Rescue Service", "Adur & Worthing Councils"):
    add(f"council-{body.split()[-1].lower()}-{len(body)}", "export", lambda c, body=body: c.ingest(c.export(council=body)),
        "not a council", NOTHING, quarantined("not a council"))
add("council-typo", "export", lambda c: c.ingest(c.export(council="Birmingam")), "Probably Birmingham (BIR)", NOTHING,
    quarantined("unknown council"))
add("council-former", "export", lambda c: c.ingest(c.export(council="Somerset County Council")), "former council", NOTHING,
    quarantined("unknown council"))
add("council-unknown", "export", lambda c: c.ingest(c.export(council="Gotham City Council")), "", NOTHING,
    quarantined("unknown council"))
add("council-blank", "export", lambda c: c.ingest(c.export(council="")), "", NOTHING, quarantined("no council given"))
add("level-7", "export", lambda c: c.ingest(c.export(overrides={c.lq(): "7"})), "", NOTHING, quarantined("level out of range"))
add("level-0", "export", lambda c: c.ingest(c.export(overrides={c.lq(): "0 - None"})), "", NOTHING,
    quarantined("level out of range"))
add("level-3.5", "export", lambda c: c.ingest(c.export(overrides={c.lq(): "3.5"})), "", NOTHING, quarantined("unrecognised answer"))
add("level-formula", "export", lambda c: c.ingest(c.export(overrides={c.lq(): "=2+1"})), "", NOTHING,
    quarantined("unrecognised answer"))
add("level-name-disagrees", "export", lambda c: c.ingest(c.export(overrides={c.lq(): "3 - Passive"})), "", NOTHING,
    quarantined("unrecognised answer"))
add("all-blank", "export", lambda c: c.ingest(c.export(level="")), "", NOTHING, quarantined("no levels answered"))
add("all-dont-know", "export", lambda c: c.ingest(c.export(level="Don't know")), "", NOTHING, quarantined("no levels answered"))
add("submitted-2019", "export", lambda c: c.ingest(c.export(when=dt.datetime(2019, 5, 1))), "", NOTHING,
    quarantined("submitted outside the wave"))
add("unreadable-date", "export", lambda c: c.ingest(_dates(c, ["31/02/2026 10:00", "yesterday"])), "", NOTHING,
    quarantined("unreadable date"))
add("wave-column-mismatch", "export", lambda c: c.ingest(_insert(c.export(), "Wave", "2025")), "", NOTHING,
    quarantined("wave mismatch"))
add("assessment-type-column", "export", lambda c: c.ingest(_insert(c.export(), "Assessment type", "guesswork")), "", NOTHING,
    quarantined("unknown assessment type"))
add("unclassifiable-row-under-header", "export", lambda c: c.ingest(_qualtrics_junk(c)), '"text": "???"',
    0, quarantined("unknown council"))

# ---------------------------------------------------------------- exports that look wrong but are fine (exit 0, all stored)
add("xlsx-named-csv", "export", lambda c: c.ingest(c.write("x.csv", (c.survey.add(), c.survey.msforms(c.tmp / "w.xlsx"))[1]
                                                           .read_bytes())), "", 0, stored(1))
add("whole-cp1252", "export", lambda c: c.ingest((c.survey.add(council="Ynys Môn", evidence="Café – “ok”"),
                                                  c.survey.googleforms(c.tmp / "w.csv", encoding="cp1252"))[1]), "", 0,
    stored(1))
add("semicolons-bom", "export", lambda c: c.ingest((c.survey.add(), c.survey.googleforms(
    c.tmp / "s.csv", encoding="utf-8-sig", delimiter=";"))[1]), "", 0, stored(1))
add("gmt-timestamps", "export", lambda c: c.ingest(_dates(c, ["02/03/2026 10:00:00 GMT", "03/03/2026 10:00:00 BST"])),
    "", 0, stored(2))
add("mixed-offsets", "export", lambda c: c.ingest(_dates(c, ["2026-03-02T10:00:00+01:00", "2026-03-02T10:00:00+00:00",
                                                             "2026-03-02T10:00:00Z"])), "", 0, stored(3))
add("qualtrics-one-header-row", "export", lambda c: c.ingest(_qualtrics_one_header(c)), "", 0, stored(1))
add("smartsurvey-blank-id-dont-know", "export", lambda c: c.ingest(_smartsurvey_blank(c)), "", 0,
    quarantined("no levels answered"))
add("control-and-rtl-characters", "export", lambda c: c.ingest(c.export(evidence="a\u202eb\x07c\u200d")), "", 0, stored(1))
add("formula-evidence", "export", lambda c: c.ingest(c.export(evidence='=HYPERLINK("http://x")')), "", 0, stored(1))
add("same-email-two-names", "export", lambda c: c.ingest(
    (c.survey.add(email="a@x.gov.uk", name="Ann", when=dt.datetime(2026, 3, 1)),
     c.survey.add(email="A@X.gov.uk", name="A. N. Other", when=dt.datetime(2026, 3, 2)),
     c.survey.msforms(c.tmp / "e.xlsx"))[2]), "", 0, lambda c, out: out["superseded"] == 1 or pytest.fail(str(out)))

# ---------------------------------------------------------------- council maps
add("map-missing", "council map", lambda c: c.ingest(c.export(), "--council-map", c.tmp / "none.csv"), "does not exist")
add("map-folder", "council map", lambda c: c.ingest(c.export(), "--council-map", c.tmp), "is a folder")
add("map-header", "council map", lambda c: c.ingest(c.export(), "--council-map", c.write("m.csv", "a,b\nx,BIR\n")),
    "needs the columns name and local_authority_code")
add("map-bad-code", "council map", lambda c: c.ingest(c.export(), "--council-map", c.write("m.csv", OUT + "Birmingam,ZZZ\n")),
    "not the code of a current council")
add("map-police", "council map", lambda c: c.ingest(c.export(), "--council-map",
                                                    c.write("m.csv", OUT + "North Yorkshire Police,NYE\n")),
    "names a police body")
add("map-conflict", "council map", lambda c: c.ingest(c.export(), "--council-map",
                                                      c.write("m.csv", OUT + "Birmingam,BIR\nBIRMINGAM,BST\n")),
    "is given two councils")
add("map-not-utf8", "council map", lambda c: c.ingest(c.export(), "--council-map",
                                                      c.write("m.csv", OUT.encode() + b"Caf\xe9,BIR\n")), "not UTF-8")
add("map-blank-code", "council map", lambda c: c.ingest(c.export(), "--council-map", c.write("m.csv", OUT + "Birmingam,\n")),
    "no council code is given")
add("map-confirms", "council map", lambda c: c.ingest(c.export(council="Birmingam"), "--council-map",
                                                      c.write("m.csv", OUT + "birmingam,BIR\n")), "", 0, stored(1))

# ---------------------------------------------------------------- the quality model (ingest --model)
def _model(c, text):
    p = c.write("model.yaml", text) if isinstance(text, str) else c.write("model.yaml", text)
    return c.ingest(c.export(), "--model", p)


add("missing", "model", lambda c: c.ingest(c.export(), "--model", c.tmp / "none.yaml"), "does not exist")
add("folder", "model", lambda c: c.ingest(c.export(), "--model", c.tmp), "folder")
add("not-utf8", "model", lambda c: _model(c, _model_text().encode("utf-8").replace("Passive".encode(), b"Pass\xefve")),
    "not UTF-8")
add("syntax-error", "model", lambda c: _model(c, _model_text() + "\n  - : [unclosed\n"), "not valid YAML at line")
add("alias-bomb", "model", lambda c: _model(c, "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a]\n"
                                               "c: &c [*b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c]\n"),
    "anchors (&a) are not allowed")
add("alias-only", "model", lambda c: _model(c, _model_text().replace("overall:", "overall: *nothing\nx:", 1)),
    "aliases (*nothing) are not allowed")
add("too-big", "model", lambda c: (c.monkeypatch.setenv("DQM_MAX_YAML_KB", "1"), _model(c, _model_text()))[1],
    "more than the limit of 1 KB")
add("deep-nesting", "model", lambda c: _model(c, "x: " + "[" * 5000 + "]" * 5000 + "\n"), "nested")
add("dimension-id-wave", "model", lambda c: _model(c, _model_text(lambda t: t.replace("  - id: leadership", "  - id: wave", 1))),
    "'wave' is a name dqm uses for its own columns")
add("duplicate-key", "model", lambda c: _model(c, _model_text(lambda t: t.replace("\nversion:", "\nid: again\nversion:", 1))),
    "is given twice")
add("levels-not-in-order", "model", lambda c: _model(c, _model_text(lambda t: t.replace("{value: 2,", "{value: 7,", 1))),
    "values must be 1, 2")
add("a-list", "model", lambda c: _model(c, "- just\n- a list\n"), "must hold a mapping")
add("missing-overall", "model", lambda c: _model(c, _model_text(lambda t: t.replace("\noverall:", "\nnot_overall:", 1))),
    "'overall'")
add("binary", "model", lambda c: _model(c, b"\x00\x01\x02\xff" * 50), "not UTF-8")
add("empty", "model", lambda c: _model(c, ""), "must hold a mapping")

# ---------------------------------------------------------------- claims (claims --claims)
add("list-id", "claims", lambda c: _claims(c, lambda t: _first_claim_set(t, "id", ["a", "b"])), "key 'id': must be a word")
add("population-unknown-column", "claims", lambda c: _claims(c, lambda t: t.replace("population: {nation: England}",
                                                                                   "population: {county: Kent}", 1)),
    "'county' is not a reference column")
add("syntax-error", "claims", lambda c: _claims(c, lambda t: t + "\n- id: [unclosed\n"), "not valid YAML")
add("anchor", "claims", lambda c: _claims(c, lambda t: t.replace("controls: [council_type", "controls: &c [council_type", 1)),
    "anchors (&c) are not allowed")
add("not-a-list", "claims", lambda c: _claims(c, lambda t: "claims: none\n"), "must be a list of claims")
add("unknown-exposure", "claims", lambda c: _claims(c, lambda t: _first_claim_set(t, "exposure", "happiness")),
    "neither 'overall' nor a dimension")
add("unknown-outcome", "claims", lambda c: _claims(c, lambda t: _first_claim_set(t, "outcome", "nonsense_measure")),
    "is not an outcome measure")
add("sesoi-bool", "claims", lambda c: _claims(c, lambda t: _first_claim_set(t, "sesoi", True)), "must be a number")
add("duplicate-id", "claims", lambda c: _claims(c, _duplicate_first_claim), "used twice")
add("missing", "claims", lambda c: ["claims", "--wave", str(WAVE), "--claims", str(c.tmp / "none.yaml")], "does not exist")

# ---------------------------------------------------------------- outcome measures (measures.yaml, via DQM_DATA_DIR)
_MEASURES = (data_dir() / "outcomes" / "measures.yaml").read_text(encoding="utf-8")
add("syntax-error", "measures", lambda c: (_data_copy(c, _MEASURES + "\n- id: [oops\n"), _claims(c, lambda t: t))[1],
    "not valid YAML")
add("missing-key", "measures", lambda c: (_data_copy(c, "- id: x\n  name: X\n"), _claims(c, lambda t: t))[1], "has no key")
add("better-wrong", "measures", lambda c: (_data_copy(c, _MEASURES.replace("better: lower", "better: sideways", 1)),
                                           _claims(c, lambda t: t))[1], "'better' must be")
add("not-a-list", "measures", lambda c: (_data_copy(c, "measures: none\n"), _claims(c, lambda t: t))[1], "must be a list")

# ---------------------------------------------------------------- outcome tables (claims --outcomes)
HEAD = "local-authority-code,measure,period,value\n"
add("bundled-measure", "outcomes", lambda c: _outcomes(c, HEAD + 'BST,net_current_expenditure_per_head,2017-18,"1,234.5"\n'),
    "is a bundled measure")
add("thousands-separator-read", "outcomes", lambda c: _outcomes(c, HEAD + 'BST,m,2017-18,"1,234.5"\n'),
    "1 of 1 rows joined")
add("empty", "outcomes", lambda c: _outcomes(c, ""), "empty")
add("folder", "outcomes", lambda c: _outcomes(c, c.tmp), "folder")
add("missing", "outcomes", lambda c: _outcomes(c, c.tmp / "none.csv"), "does not exist")
add("missing-column", "outcomes", lambda c: _outcomes(c, "local-authority-code,measure,value\nBST,x,1\n"), "no period column")
add("duplicated-rows", "outcomes", lambda c: _outcomes(c, HEAD + "BST,m,2017-18,1\nBST,m,2017-18,1\nLDS,m,2017-18,2\n"),
    "more than one row for the same period")
add("inf", "outcomes", lambda c: _outcomes(c, HEAD + "BST,m,2017-18,inf\n"), "0 of 1 rows joined")
add("not-utf8", "outcomes", lambda c: _outcomes(c, HEAD.encode() + b"BST,m,2017-18,1\xa0\n"), "not UTF-8")
add("blank-code", "outcomes", lambda c: _outcomes(c, HEAD + ",m,2017-18,1\n"), "0 of 1 rows joined")
add("no-measure-column", "outcomes", lambda c: _outcomes(c, "council,period,value\nBST,2017-18,1\n"), "needs a measure column")

# ---------------------------------------------------------------- run manifests (dqm run)
MAN = "file,wave,assessment_type\n"
add("wave-twenty", "manifest", lambda c: _manifest(c, MAN + "a.csv,twenty,self\n"), "'twenty' is not a year")
add("missing-column", "manifest", lambda c: _manifest(c, "file,assessment_type\na.csv,self\n"), "no column wave")
add("assessment-type", "manifest", lambda c: _manifest(c, MAN + "a.csv,2026,guesswork\n"), "not one of self")
add("path-outside", "manifest", lambda c: _manifest(c, MAN + "../a.csv,2026,self\n"), "not the name of a file")
add("missing-export", "manifest", lambda c: _manifest(c, MAN + "b.csv,2026,self\n"), "'b.csv' is not in")
add("no-manifest", "manifest", lambda c: ["run", "--exports", str(c.tmp), "--store", str(c.tmp / "r.duckdb"),
                                          "--out-dir", str(c.tmp / "out")], "no manifest.csv")
add("empty", "manifest", lambda c: _manifest(c, MAN), "lists no exports")

# ---------------------------------------------------------------- CLI parameters
add("score-draws-0", "cli", lambda c: ["score", "--wave", str(WAVE), "--draws", "0"], "must be at least 1")
add("score-draws-words", "cli", lambda c: ["score", "--wave", str(WAVE), "--draws", "many"], "is not a whole number")
add("score-out-missing-folder", "cli", lambda c: ["score", "--wave", str(WAVE), "--store", str(_store_with_data(c)),
                                                  "--out", str(c.tmp / "no" / "such" / "s.csv")], "does not exist")
add("score-out-folder", "cli", lambda c: ["score", "--wave", str(WAVE), "--store", str(_store_with_data(c)),
                                          "--out", str(c.tmp)], "this is a folder")
add("demo-out-file", "cli", lambda c: ["demo", "--out", str(c.write("f.txt", "x"))], "--out is a file")
add("claims-bootstrap-0", "cli", lambda c: ["claims", "--wave", str(WAVE), "--bootstrap", "0"], "must be at least 1")
add("report-jobs-0", "cli", lambda c: ["report", "council", "--all", "--wave", str(WAVE), "--jobs", "0"], "must be at least 1")
add("unknown-command", "cli", lambda c: ["frobnicate"], "invalid choice")
add("score-wave-words", "cli", lambda c: ["score", "--wave", "twenty"], "invalid int value")
add("match-huge-name", "cli", lambda c: ["match", "Leeds " * 200_000], "more than the limit", 0)
add("match-police", "cli", lambda c: ["match", "North Yorkshire Police"], "names a police body", 0)

# ---------------------------------------------------------------- stores
add("folder", "store", lambda c: ["score", "--wave", str(WAVE), "--store", str(c.tmp)], "the store path is a folder")
add("text-file", "store", lambda c: c.ingest(c.export(), ) [:-3] + ["--store", str(c.write("precious.txt", "keep me"))],
    "not a DuckDB database", 2, lambda c, _: (c.tmp / "precious.txt").read_text() == "keep me" or pytest.fail("changed"))
add("empty-file", "store", lambda c: ["score", "--wave", str(WAVE), "--store", str(c.write("e.duckdb", b""))], "is empty")
add("foreign-duckdb-ingest", "store", lambda c: c.ingest(c.export())[:-3] + ["--store", str(_foreign(c)), "--json"],
    "not a dqm store's (sales)", 2, lambda c, _: _foreign_unchanged(c))
add("foreign-duckdb-score", "store", lambda c: ["score", "--wave", str(WAVE), "--store", str(_foreign(c))],
    "not a dqm store's (sales)", 2, lambda c, _: _foreign_unchanged(c))
add("newer-schema-ingest", "store", lambda c: (_newer_store(c), c.ingest(c.export(name="f.csv")))[1], "newer than this dqm")
add("newer-schema-score", "store", lambda c: ["score", "--wave", str(WAVE), "--store", str(_newer_store(c))],
    "newer than this dqm")
add("newer-schema-claims", "store", lambda c: ["claims", "--wave", str(WAVE), "--store", str(_newer_store(c))],
    "newer than this dqm")
add("newer-schema-report", "store", lambda c: ["report", "quality", "--wave", str(WAVE), "--store", str(_newer_store(c)),
                                               "--out-dir", str(c.tmp / "out")], "newer than this dqm")
add("missing-store", "store", lambda c: ["score", "--wave", str(WAVE), "--store", str(c.tmp / "none.duckdb")],
    "does not exist yet")
add("model-with-fewer-levels", "store", lambda c: (_store_with_data(c), _three_level_model(c),
                                                   ["score", "--wave", str(WAVE), "--store", str(c.store())])[2],
    "has only levels 1 to 3")
add("read-only-location", "store", lambda c: (c.monkeypatch.setattr("os.access", lambda *a, **k: False),
                                              c.ingest(c.export()))[1], "cannot be written")
add("no-wave-data", "store", lambda c: ["score", "--wave", "2030", "--store", str(_store_with_data(c))],
    "no submissions for wave 2030")


# ---------------------------------------------------------------- builders used above
def _rename(path, col, to):
    df = pd.read_csv(path, dtype=str, keep_default_na=False).rename(columns={col: to})
    df.to_csv(path, index=False)
    return path


def _dup(path, col):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.insert(3, "  " + col.upper() + " ", df[col])
    df.to_csv(path, index=False)
    return path


def _insert(path, name, value):
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.insert(2, name, value)
    df.to_csv(path, index=False)
    return path


def _unclosed(c):
    c.survey.add(email="b@x.gov.uk")
    p = c.export(email="c@x.gov.uk")
    lines = p.read_text().splitlines()
    lines[1] = lines[1].replace(",Head of Digital,", ',"Head of Digital,', 1)
    p.write_text("\n".join(lines) + "\n")
    return p


def _stray_byte(c):
    c.survey.add(council="Ynys Môn", email="a@x.gov.uk")
    p = c.export(email="b@x.gov.uk", evidence="café")
    p.write_bytes(p.read_bytes().replace("café".encode(), b"caf\xe9"))
    return p


def _dates(c, stamps):
    for i in range(len(stamps)):
        c.survey.add(email=f"d{i}@x.gov.uk")
    return _csv_cells(c.survey.googleforms(c.tmp / "d.csv"), "Timestamp", stamps)


def _qualtrics_one_header(c):
    import csv
    import io

    c.survey.add()
    p = c.survey.qualtrics(c.tmp / "q.csv", import_row=False)
    lines = p.read_text().splitlines()
    header = lines[0].split(",")[:12] + next(csv.reader([lines[1]]))[12:]
    buf = io.StringIO()
    csv.writer(buf).writerow(header)
    p.write_text(buf.getvalue() + "\n".join(lines[2:]) + "\n")
    return p


def _qualtrics_junk(c):
    c.survey.add()
    p = c.survey.qualtrics(c.tmp / "q.csv", import_row=True)
    lines = p.read_text().splitlines()
    lines.insert(3, ",".join(["???"] * len(lines[0].split(","))))
    p.write_text("\n".join(lines) + "\n")
    return p


def _smartsurvey_blank(c):
    c.survey.add(level="Don't know", email="dk@x.gov.uk").add(email="ok@x.gov.uk")
    p = c.survey.smartsurvey(c.tmp / "s.csv", second_header=True)
    lines = p.read_text().splitlines()
    lines[2] = "," + lines[2].split(",", 1)[1]
    p.write_text("\n".join(lines) + "\n")
    return p


def _first_claim_set(text, key, value):
    import yaml

    claims = yaml.safe_load(text)
    claims[0][key] = value
    return yaml.safe_dump(claims, sort_keys=False, allow_unicode=True)


def _duplicate_first_claim(text):
    import copy

    import yaml

    claims = yaml.safe_load(text)
    return yaml.safe_dump(claims + [copy.deepcopy(claims[0])], sort_keys=False, allow_unicode=True)


def _foreign(c):
    p = c.tmp / "theirs.duckdb"
    con = duckdb.connect(str(p))
    con.execute("CREATE TABLE sales (region VARCHAR, amount INTEGER); INSERT INTO sales VALUES ('north', 3)")
    con.close()
    c.foreign_bytes = p.read_bytes()
    return p


def _foreign_unchanged(c):
    assert (c.tmp / "theirs.duckdb").read_bytes() == c.foreign_bytes, "the foreign database was modified"


def _three_level_model(c):
    import yaml

    raw = yaml.safe_load(_model_text())
    raw["levels"] = raw["levels"][:3]
    for d in raw["dimensions"]:
        d["descriptors"] = {k: v for k, v in d["descriptors"].items() if int(k) <= 3}
    p = c.write("three.yaml", yaml.safe_dump(raw, sort_keys=False, allow_unicode=True))
    c.monkeypatch.setenv("DQM_MODEL", str(p))
    return p


# ---------------------------------------------------------------- the test
@pytest.mark.parametrize("kind, build, fragment, code, check", CASES)
def test_bad_input(tmp_path, model, survey, monkeypatch, capsys, kind, build, fragment, code, check):
    c = Case(tmp_path, model, survey, monkeypatch)
    argv = build(c)
    capsys.readouterr()  # what building the case printed (a setup ingest) is not the case's output
    try:
        got = main(argv)
    except SystemExit as exc:  # argparse refuses the command line before dqm runs
        got = exc.code
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, err
    assert got == code, f"exit {got}, wanted {code}; stderr: {err}; stdout: {out[:500]}"
    if code != 0:
        assert err.strip(), "no message"  # the error is the last paragraph, one line (notices may come before it)
        assert "unexpected error" not in err, err
    shown = out + err if code == NOTHING else err if code else out
    assert fragment in shown, f"{fragment!r} not in: {shown[:800]}"
    if argv and argv[0] == "ingest" and "--json" in argv and code in (0, NOTHING):
        res = json.loads(out)
        for r in res if isinstance(res, list) else [res]:
            assert r["rows_read"] == r["stored"] + r["superseded"] + r["rejected"], r  # no row is lost
        if check:
            check(c, res)
    elif check:
        check(c, None)


def test_at_least_80_cases_across_every_kind():
    kinds = {p.values[0] for p in CASES}
    assert len(CASES) >= 80, len(CASES)
    assert {"export", "model", "claims", "measures", "outcomes", "manifest", "cli", "store", "council map"} <= kinds


def test_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["score", "--wave", str(WAVE), "--store", str(tmp_path), "--debug"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "the store path is a folder" in err.splitlines()[-1]


def test_an_unexpected_error_is_a_short_message_not_a_traceback(tmp_path, monkeypatch, capsys):
    import dqm.reference

    def broken(*a, **k):
        raise RuntimeError("something nobody foresaw")

    monkeypatch.setattr(dqm.reference, "match_council", broken)
    assert main(["match", "Leeds"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "unexpected error (RuntimeError: something nobody foresaw)" in err
    assert "--debug" in err and len(err.strip().splitlines()) == 1

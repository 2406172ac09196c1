"""Read only what was meant: files that are not files, bombs, endless lines, malformed models, absurd numbers.

One row per case: (id, kind, builder, expected message fragment, isolate). A builder gets a ``Case`` (a
temporary folder, the survey-export helper) and returns the argv for ``dqm.cli.main``; it may set
``case.env`` (environment variables for the run). Every case must end with exit code 2 and a one-line
message holding the fragment, no traceback, no "unexpected error", and nothing stored.

Cases that would block or exhaust memory if the check they test were missing (devices, zip bombs, endless
lines, sheets that claim a million rows) run ``isolate``\\d: in a subprocess with a 3 GB address-space cap
and a timeout, which also reports the peak memory the command added (``ru_maxrss``); those must stay under
300 MB. A named pipe is never opened by dqm; the in-process cases run under an alarm, so a regression that
opened one fails instead of waiting for ever.
"""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest
import yaml

from dqm.cli import main
from dqm.paths import data_dir

WAVE = "2026"
ROOT = Path(__file__).resolve().parents[2]
MEMORY_MB = 300  # the most a refused read may add to the process's peak memory
TIMEOUT = 120  # seconds for an isolated case; a refusal takes about one


@dataclass
class Case:
    tmp: Path
    survey: object
    env: dict = field(default_factory=dict)
    keep: list = field(default_factory=list)  # objects that must live while the case runs (a bound socket)

    def store(self) -> Path:
        return self.tmp / "s.duckdb"

    def export(self, name="e.csv") -> Path:
        self.survey.add()
        return self.survey.googleforms(self.tmp / name)

    def ingest(self, *paths_and_options) -> list:
        return ["ingest", *map(str, paths_and_options), "--wave", WAVE, "--store", str(self.store())]

    def fifo(self, name) -> Path:
        p = self.tmp / name
        p.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(p)
        return p

    def link_to_zero(self, name) -> Path:
        p = self.tmp / name
        p.symlink_to("/dev/zero")
        return p


CASES = []


def add(cid, kind, build, fragment, isolate=False):
    CASES.append(pytest.param(kind, build, fragment, isolate, id=f"{kind}-{cid}"))


# ---------------------------------------------------------------- XLSX built by hand (openpyxl writes no shared strings)
_NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PARTS = {
    "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
    'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
    'spreadsheetml.sharedStrings+xml"/></Types>',
    "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
    f'package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
    '</Relationships>',
    "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8"?><workbook {_NS} xmlns:r="{_REL}"><sheets><sheet '
    'name="Responses" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
    f'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{_REL}/worksheet" '
    f'Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
    '</Relationships>',
}
_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><worksheet {_NS}><sheetData>'
_TAIL = "</sheetData></worksheet>"


def _xlsx(path: Path, sheet_rows, shared: tuple[bytes, int] = (b"", 0), dimension: str | None = None) -> Path:
    """A workbook whose sheet XML is written from ``sheet_rows`` (an iterable of XML text) and whose one shared
    string is ``shared[0]`` repeated ``shared[1]`` times; both streamed into the zip, never held whole. The
    sheet states its size (``<dimension ref=...>``) if ``dimension`` is given."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in _PARTS.items():
            z.writestr(name, text)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            head = _HEAD if dimension is None else _HEAD.replace("<sheetData>", f'<dimension ref="{dimension}"/><sheetData>')
            fh.write(head.encode())
            for row in sheet_rows:
                fh.write(row.encode())
            fh.write(_TAIL.encode())
        with z.open("xl/sharedStrings.xml", "w", force_zip64=True) as fh:
            fh.write(f'<?xml version="1.0" encoding="UTF-8"?><sst {_NS} count="1" uniqueCount="1"><si><t>'.encode())
            block, times = shared
            for _ in range(times):
                fh.write(block)
            fh.write(b"</t></si></sst>")
    return path


def _cell_bomb(c: Case) -> Path:
    """324 KB or so: one shared string of 300 million 'A's (the case of the issue), used by two cells."""
    rows = ['<row r="1"><c r="A1" t="s"><v>0</v></c></row><row r="2"><c r="A2" t="s"><v>0</v></c></row>']
    return _xlsx(c.tmp / "bomb.xlsx", rows, (b"A" * 1_000_000, 300))


def _claims_huge(c: Case) -> Path:
    """A small workbook whose zip directory says its sheet unzips to 3 GB (the bytes say otherwise)."""
    p = _xlsx(c.tmp / "claims.xlsx", ['<row r="1"><c r="A1" t="inlineStr"><is><t>Council</t></is></c></row>'])
    data = bytearray(p.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    at = data.rindex(b"PK\x01\x02", 0, data.rindex(name))  # its entry in the central directory
    assert data[at + 46:at + 46 + len(name)] == name
    if int.from_bytes(data[at + 24:at + 28], "little") == 0xFFFFFFFF:  # zip64: the size is in the extra field
        extra = at + 46 + len(name)
        data[extra + 4:extra + 12] = (3 << 30).to_bytes(8, "little")
    else:
        data[at + 24:at + 28] = (3 << 30).to_bytes(4, "little")
    p.write_bytes(bytes(data))
    return p


def _far_rows(c: Case) -> Path:
    """A tiny sheet with a header and one cell in the last of Excel's 1,048,576 rows, stating that size."""
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Council</t></is></c></row>',
            '<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>']
    return _xlsx(c.tmp / "far.xlsx", rows, dimension="A1:XFD1048576")


def _wide_rows(c: Case) -> Path:
    """Rows of two cells, A and XFD (column 16,384): each read as 16,384 cells."""
    rows = (f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>a</t></is></c><c r="XFD{i}" t="inlineStr"><is><t>z</t>'
            f'</is></c></row>' for i in range(1, 2001))
    return _xlsx(c.tmp / "wide.xlsx", rows)


def _long_inline_cell(c: Case, chars: int) -> Path:
    rows = ['<row r="1"><c r="A1" t="inlineStr"><is><t>Council</t></is></c></row>',
            f'<row r="2"><c r="A2" t="inlineStr"><is><t>{"x" * chars}</t></is></c></row>']
    return _xlsx(c.tmp / "long.xlsx", rows)


# ---------------------------------------------------------------- CSVs written lazily
def _csv(c: Case, name: str, header: str, lines) -> Path:
    p = c.tmp / name
    with open(p, "w", encoding="utf-8", newline="") as fh:
        fh.write(header + "\n")
        for line in lines:
            fh.write(line)
    return p


def _hundred_mb_line(c: Case) -> Path:
    return _csv(c, "line.csv", "Timestamp,Council", ["2026-03-01,", *("x" * 1_000_000 for _ in range(100)), "\n"])


# ---------------------------------------------------------------- files that are not files
add("dev-zero", "export", lambda c: c.ingest("/dev/zero"), "the file is a device", isolate=True)
add("link-to-dev-zero", "export", lambda c: c.ingest(c.link_to_zero("answers.csv")), "a link to /dev/zero", isolate=True)
add("fifo", "export", lambda c: c.ingest(c.fifo("answers.csv")), "is a named pipe (FIFO), not a regular file")
add("fifo-in-folder", "export", lambda c: (c.fifo("in/pipe.csv"), c.ingest(c.tmp / "in"))[1], "named pipe")
add("fifo-as-pack", "export", lambda c: c.ingest(c.fifo("pack.xlsx"), "--shape", "pack"), "named pipe")


def _socket(c: Case) -> list:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(c.tmp / "s.csv"))
    c.keep.append(s)
    return c.ingest(c.tmp / "s.csv")


add("socket", "export", _socket, "is a socket, not a regular file")
add("dev-zero", "council map", lambda c: c.ingest(c.export(), "--council-map", "/dev/zero"), "the council map is a device",
    isolate=True)
add("fifo", "council map", lambda c: c.ingest(c.export(), "--council-map", c.fifo("map.csv")), "council map is a named pipe")
add("fifo", "model", lambda c: c.ingest(c.export(), "--model", c.fifo("model.yaml")), "model file is a named pipe")
add("link-to-dev-zero", "model", lambda c: c.ingest(c.export(), "--model", c.link_to_zero("model.yaml")),
    "model file is a device", isolate=True)
add("dev-zero", "claims", lambda c: ["claims", "--wave", WAVE, "--claims", "/dev/zero"], "claims file is a device",
    isolate=True)
add("fifo-in-user-data", "claims", lambda c: (c.fifo("mine/claims.yaml"),
                                              ["claims", "--wave", WAVE, "--user-data", str(c.tmp / "mine")])[1],
    "claims file is a named pipe")
add("dev-zero", "outcomes", lambda c: ["claims", "--wave", WAVE, "--store", str(c.tmp / "none.duckdb"), "--outcomes",
                                       "/dev/zero"], "outcome file is a device", isolate=True)
add("add-fifo", "outcomes", lambda c: ["outcomes", "add", str(c.fifo("o.csv")), "--user-data", str(c.tmp / "mine"),
                                       "--measure", "m", "--unit", "u", "--better", "higher"], "named pipe")
add("add-dev-zero", "outcomes", lambda c: ["outcomes", "add", "/dev/zero", "--user-data", str(c.tmp / "mine"),
                                           "--measure", "m", "--unit", "u", "--better", "higher"], "is a device",
    isolate=True)
add("fifo", "store", lambda c: ["score", "--wave", WAVE, "--store", str(c.fifo("pipe.duckdb"))], "the store is a named pipe")
add("fifo", "manifest", lambda c: (c.fifo("exports/manifest.csv"),
                                   ["run", "--exports", str(c.tmp / "exports"), "--no-reports", "--store",
                                    str(c.tmp / "r.duckdb"), "--out-dir", str(c.tmp / "out")])[1],
    "the run manifest is a named pipe")
add("link-to-dev-zero", "store", lambda c: ["ingest", str(c.export()), "--wave", WAVE, "--store",
                                            str(c.link_to_zero("z.duckdb"))], "the store is a device")
add("names-file-fifo", "match", lambda c: ["match", "--file", str(c.fifo("names.txt"))], "file of names is a named pipe")

# ---------------------------------------------------------------- bombs and endless lines
add("cell-bomb-300-million", "xlsx", lambda c: c.ingest(_cell_bomb(c)), "is a zip bomb", isolate=True)
add("claims-3-gb", "xlsx", lambda c: c.ingest(_claims_huge(c)), "is a zip bomb", isolate=True)
add("claims-3-gb-part", "xlsx", lambda c: (c.env.update(DQM_MAX_ZIP_RATIO="1e12"), c.ingest(_claims_huge(c)))[1],
    "part 'xl/worksheets/sheet1.xml' unzips to 3,072 MB", isolate=True)
add("claims-3-gb-total", "xlsx", lambda c: (c.env.update(DQM_MAX_ZIP_RATIO="1e12", DQM_MAX_PART_MB="1e6"),
                                            c.ingest(_claims_huge(c)))[1], "the workbook unzips to 3,072 MB", isolate=True)
add("over-unzipped-limit", "xlsx", lambda c: (c.env.update(DQM_MAX_UNZIPPED_MB="0.001"),
                                              c.ingest((c.survey.add(), c.survey.msforms(c.tmp / "w.xlsx"))[1]))[1],
    "more than the limit of 0.001 MB")
add("row-1048576", "xlsx", lambda c: c.ingest(_far_rows(c)), "more than 200,000 rows", isolate=True)
add("cells-to-column-xfd", "xlsx", lambda c: c.ingest(_wide_rows(c)), "more than 10,000,000 cells", isolate=True)
add("inline-cell-200k", "xlsx", lambda c: c.ingest(_long_inline_cell(c, 200_000)), "cell A2 of sheet 'Responses' holds 200,000")
add("one-100-mb-line", "csv", lambda c: c.ingest(_hundred_mb_line(c)), "more than the limit of 4,096 KB", isolate=True)
add("cell-200k", "csv", lambda c: c.ingest(_csv(c, "cell.csv", "Timestamp,Council", ["2026-03-01,", "x" * 200_000, "\n"])),
    "a cell holds more than 98,303 characters", isolate=True)
add("quote-left-open", "csv", lambda c: c.ingest(_csv(c, "q.csv", "Timestamp,Council",
                                                      ['2026-03-01,"Leeds\n'] + ["x" * 1000 + "\n"] * 200)),
    "a cell holds more than 98,303 characters")
add("twelve-million-cells", "csv", lambda c: c.ingest(_csv(c, "cells.csv", "Timestamp,Council", ["," * 3_000_000 + "\n"] * 4)),
    "more than 10,000,000 cells", isolate=True)
add("one-wide-row-pads-the-rest", "csv", lambda c: c.ingest(_csv(c, "pad.csv", "Timestamp,Council",
                                                                 ["2026-03-01,Leeds" + "," * 3_000_000 + "\n"]
                                                                 + ["2026-03-01,Leeds\n"] * 5)),
    "more than 10,000,000 cells", isolate=True)


# ---------------------------------------------------------------- the model file: every key's type
def _model(c: Case, change) -> list:
    raw = yaml.safe_load((data_dir() / "model" / "dqm.yaml").read_text(encoding="utf-8"))
    change(raw)
    p = c.tmp / "model.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return c.ingest(c.export(), "--model", p)


add("metadata-questions-list", "model", lambda c: _model(c, lambda r: r.update(metadata_questions=list(r["metadata_questions"]))),
    "key 'metadata_questions': must be a mapping")
add("renamed-dimensions-list", "model", lambda c: _model(c, lambda r: r.update(renamed_dimensions=["old", "new"])),
    "key 'renamed_dimensions': must be a mapping")
add("renamed-to-a-list", "model", lambda c: _model(c, lambda r: r.update(renamed_dimensions={"old": ["strategy"]})),
    "key 'renamed_dimensions.old': must be text")
add("aliases-text", "model", lambda c: _model(c, lambda r: r["metadata_questions"]["council"].update(aliases="council")),
    "key 'metadata_questions.council.aliases': must be a list")
add("metadata-question-text", "model", lambda c: _model(c, lambda r: r["metadata_questions"].update(wave="year")),
    "key 'metadata_questions.wave': must be a mapping")
add("overall-list", "model", lambda c: _model(c, lambda r: r.update(overall=["rounded_mean"])),
    "key 'overall': must be a mapping")
add("rule-list", "model", lambda c: _model(c, lambda r: r["overall"].update(rule=["median"])), "key 'overall.rule': must be text")
add("group-list", "model", lambda c: _model(c, lambda r: r["dimensions"][0].update(group=["Foundations"])),
    "key 'dimensions[leadership].group': must be text")
add("group-provisional-text", "model", lambda c: _model(c, lambda r: r["groups"][0].update(provisional="no")),
    "key 'groups[0].provisional': must be true or false")
add("id-list", "model", lambda c: _model(c, lambda r: r.update(id=["lg", "dqm"])), "key 'id': must be text")

# ---------------------------------------------------------------- numbers on the command line
FORTY = "1" * 40
NONE = ["--store", "none.duckdb"]


def _score(c: Case, *options) -> list:
    """`dqm score` on a store with a submission (the issue's cases ended in "unexpected error" there)."""
    assert main(c.ingest(c.export())) == 0
    return ["score", "--wave", WAVE, "--store", str(c.store()), *options]


add("score-wave-40-digits", "cli", lambda c: [FORTY if a == WAVE else a for a in _score(c)], "is not a year from 2000 to 2100")
add("score-draws-40-digits", "cli", lambda c: _score(c, "--draws", FORTY), "must be at most 10,000")
add("score-draws-over-cap", "cli", lambda c: _score(c, "--draws", "10001"), "must be at most 10,000")
add("score-seed-minus-1", "cli", lambda c: _score(c, "--seed", "-1"), "'-1' must be at least 0")
add("score-seed-2-32", "cli", lambda c: ["score", "--wave", WAVE, "--seed", str(2**32), *NONE], "must be at most 4,294,967,295")
add("ingest-wave-1999", "cli", lambda c: c.ingest(c.export())[:-4] + ["--wave", "1999", "--store", str(c.store())],
    "'1999' is not a year")
add("ingest-max-cell-chars-huge", "cli", lambda c: c.ingest(c.export(), "--max-cell-chars", FORTY), "must be at most")
add("ingest-max-file-mb-inf", "cli", lambda c: c.ingest(c.export(), "--max-file-mb", "inf"), "is not a finite number")
add("report-draws-40-digits", "cli", lambda c: ["report", "councils", "--wave", WAVE, "--draws", FORTY, *NONE],
    "must be at most")
add("report-jobs-1000", "cli", lambda c: ["report", "councils", "--wave", WAVE, "--jobs", "1000", *NONE], "must be at most 256")
add("report-wave-3000", "cli", lambda c: ["report", "annual", "--wave", "3000", *NONE], "'3000' is not a year")
add("claims-bootstrap-million", "cli", lambda c: ["claims", "--wave", WAVE, "--bootstrap", "1000000", *NONE],
    "must be at most 100,000")
add("claims-null-bootstrap-40-digits", "cli", lambda c: ["claims", "--wave", WAVE, "--null-bootstrap", FORTY, *NONE],
    "must be at most 10,000")
add("claims-seed-minus-1", "cli", lambda c: ["claims", "--wave", WAVE, "--seed", "-1", *NONE], "must be at least 0")
add("demo-seed-minus-5", "cli", lambda c: ["demo", "--out", str(c.tmp / "d"), "--seed", "-5"], "must be at least 0")
add("run-wave-40-digits", "cli", lambda c: ["run", "--wave", FORTY, "--no-reports", "--store", str(c.tmp / "r.duckdb")],
    "is not a year")
add("run-jobs-0", "cli", lambda c: ["run", "--jobs", "0", "--store", str(c.tmp / "r.duckdb")], "must be at least 1")
add("pack-wave-40-digits", "cli", lambda c: ["pack", "--wave", FORTY, "--out", str(c.tmp / "p.xlsx")], "is not a year")
add("action-plan-wave-minus-1", "cli", lambda c: ["action-plan", "BST", "--wave", "-1", "--out", str(c.tmp / "a.xlsx"),
                                                  *NONE], "is not a year")


# ---------------------------------------------------------------- running a case
_DRIVER = """
import json, resource, sys
import dqm.cli, dqm.ingest, dqm.store  # what a command imports, before the baseline
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    code = dqm.cli.main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
open(sys.argv[1], "w").write(json.dumps({"code": code, "added_mb": (after - before) / 1024}))
sys.exit(code)
"""


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # a regression fails here, not on the machine


def _isolated(c: Case, argv: list) -> tuple[int, str, dict]:
    report = c.tmp / "report.json"
    env = {**os.environ, **c.env, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    try:
        p = subprocess.run([sys.executable, "-c", _DRIVER, str(report), *argv], capture_output=True, text=True,
                           env=env, cwd=c.tmp, timeout=TIMEOUT, preexec_fn=_cap_memory)
    except subprocess.TimeoutExpired:
        pytest.fail(f"no answer within {TIMEOUT} s: the read was not refused")
    facts = json.loads(report.read_text()) if report.exists() else {}
    return p.returncode, p.stdout + p.stderr, facts


class _Blocked(BaseException):  # not an Exception: the CLI's last line of defence must not swallow it
    pass


@contextmanager
def _no_waiting_for_ever(seconds: int = 60):
    """Fail, instead of waiting for ever, if what runs inside opens a named pipe (the open is interrupted)."""
    def blocked(*_):
        raise _Blocked()

    old = signal.signal(signal.SIGALRM, blocked)
    signal.alarm(seconds)
    try:
        yield
    except _Blocked:
        pytest.fail("blocked: a named pipe was opened")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _in_process(c: Case, argv: list, monkeypatch, capsys) -> tuple[int, str]:
    for k, v in c.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(c.tmp)
    with _no_waiting_for_ever():
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse refuses the command line
            code = exc.code
    out, err = capsys.readouterr()
    return code, out + err


def _submissions(c: Case) -> int:
    if not c.store().exists():
        return 0
    con = duckdb.connect(str(c.store()), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        return con.execute("SELECT count(*) FROM submissions").fetchone()[0] if "submissions" in tables else 0
    finally:
        con.close()


def _nothing_stored(c: Case, before: int) -> None:
    assert _submissions(c) == before, f"{_submissions(c) - before} submissions stored"
    mine = c.tmp / "mine"  # outcomes add: nothing copied into the user data folder, no measure declared
    assert not (mine / "measures.yaml").exists() and not list(mine.glob("outcomes/*"))


@pytest.mark.parametrize("kind, build, fragment, isolate", CASES)
def test_read_refused(tmp_path, survey, monkeypatch, capsys, kind, build, fragment, isolate):
    c = Case(tmp_path, survey)
    argv = build(c)
    capsys.readouterr()  # what building the case printed (a setup ingest) is not the case's output
    before = _submissions(c)
    try:
        if isolate:
            code, text, facts = _isolated(c, argv)
        else:
            code, text, facts = (*_in_process(c, argv, monkeypatch, capsys), {})
    finally:
        for s in c.keep:
            s.close()
    assert "Traceback" not in text, text[-2000:]
    assert "unexpected error" not in text, text[-2000:]
    assert code == 2, f"exit {code}: {text[-1000:]}"
    lines = [ln for ln in text.splitlines() if fragment in ln]
    assert lines, f"{fragment!r} not in: {text[-1000:]}"  # the message, on one line
    if isolate:
        assert facts.get("added_mb", 0) < MEMORY_MB, f"the refusal took {facts['added_mb']:.0f} MB"
    _nothing_stored(c, before)


def test_every_kind_is_covered():
    kinds = {p.values[0] for p in CASES}
    assert {"export", "council map", "model", "claims", "outcomes", "match", "store", "manifest", "xlsx", "csv",
            "cli"} <= kinds
    assert len(CASES) >= 55, len(CASES)


# ---------------------------------------------------------------- the readers' own check, called directly
def test_pack_readers_refuse_what_is_not_a_file(tmp_path, model):
    from dqm.documents.pack import pack_metadata, read_pack
    from dqm.errors import IngestError

    fifo = tmp_path / "pack.xlsx"
    os.mkfifo(fifo)
    for call in (lambda: pack_metadata(fifo), lambda: read_pack(fifo, "0" * 64, model), lambda: pack_metadata("/dev/null")):
        with _no_waiting_for_ever(), pytest.raises(IngestError, match="is a named pipe|is a device"):
            call()


def test_yaml_and_csv_readers_share_the_one_check(tmp_path):
    from dqm.errors import DQMError
    from dqm.outcomes import _read_user_csv
    from dqm.reference import load_council_map
    from dqm.yamlio import load_yaml

    os.mkfifo(tmp_path / "p")
    for read, what in ((load_yaml, "file"), (_read_user_csv, "outcome file"), (load_council_map, "council map")):
        with _no_waiting_for_ever(), pytest.raises(DQMError, match=f"the {what} is a named pipe"):
            read(tmp_path / "p")
        with _no_waiting_for_ever(), pytest.raises(DQMError, match=f"the {what} is a device"):
            read(Path("/dev/null"))

"""Bad output paths and faults while writing: table-driven, each with its expected message and exit code.

Every case runs `dqm` in-process as a user would (``dqm.cli.main``) or calls the function the CLI
calls, and asserts a one-paragraph message (no traceback), that nothing outside the output folder
was written, and that no file the user did not ask dqm to replace was changed or deleted.
"""
from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from dqm import paths
from dqm.cli import main
from dqm.errors import DQMError


@dataclass
class Case:
    id: str
    setup: Callable  # (tmp, out) -> extra CLI args
    message: str  # a fragment of the expected message
    kind: str = "annual"
    pdf: bool = False


def _link(target: Path, link: Path) -> None:
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(target)


def _precious(tmp: Path) -> Path:
    p = tmp / "elsewhere" / "precious.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("precious")
    return p


CASES = [
    Case("html-symlink-outside", lambda t, o: _link(_precious(t), o / "state-of-digital-2026.html") or [],
         "symbolic link"),
    Case("pdf-symlink-outside", lambda t, o: _link(_precious(t), o / "state-of-digital-2026.pdf") or [],
         "symbolic link", pdf=True),
    Case("build-folder-symlink", lambda t, o: _link(_precious(t).parent, o / "_build") or [], "symbolic link"),
    Case("executed-notebook-symlink", lambda t, o: _link(_precious(t), o / "_build" / "state-of-digital-2026.ipynb") or [],
         "symbolic link"),
    Case("output-absolute-outside", lambda t, o: ["--output", str(t / "elsewhere" / "x.html")], "outside the output folder"),
    Case("output-dotdot", lambda t, o: ["--output", "../elsewhere/x.html"], "outside the output folder"),
    Case("output-in-symlinked-subfolder", lambda t, o: _link(_precious(t).parent, o / "sub") or ["--output", "sub/x.html"],
         "symbolic link"),
    Case("output-same-pdf-with-pdf", lambda t, o: ["--output", "same.pdf", "--pdf"], "must be an .html file"),
    Case("output-not-html", lambda t, o: ["--output", "report.txt"], "must be an .html file"),
    Case("output-is-a-folder", lambda t, o: (o / "x.html").mkdir(parents=True) or ["--output", "x.html"],
         "exists and is not a file"),
    Case("output-is-the-folder", lambda t, o: ["--output", "."], "must be an .html file"),
    Case("out-dir-is-a-file", lambda t, o: (o.parent.mkdir(parents=True, exist_ok=True), o.write_text("x")) and [],
         "is a file, not a folder"),
    Case("html-symlink-council", lambda t, o: _link(_precious(t), o / "council-BST-2026.html") or ["BST"],
         "symbolic link", kind="council"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_output_paths_are_refused_before_anything_is_written(case, demo_store, tmp_path, capsys):
    store, _ = demo_store
    out = tmp_path / "out"
    if case.id != "out-dir-is-a-file":
        out.mkdir()
    extra = case.setup(tmp_path, out) or []
    args = ["report", case.kind, *[a for a in extra if a == "BST"], "--wave", "2026", "--store", str(store),
            "--out-dir", str(out), *[a for a in extra if a != "BST"]] + (["--pdf"] if case.pdf else [])
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert case.message in err and "Traceback" not in err and err.count("\n") == 1, err
    precious = tmp_path / "elsewhere" / "precious.txt"
    if precious.exists():
        assert precious.read_text() == "precious" and not precious.is_symlink()
        assert sorted(p.name for p in precious.parent.iterdir()) == ["precious.txt"]


RUN_STORE_CASES = [
    ("a text file", lambda p: p.write_text("precious"), "not a store made by `dqm run`"),
    ("a folder", lambda p: p.mkdir(), "is a link or a folder"),
    ("a symlink to a file", lambda p: p.symlink_to(_precious(p.parent)), "it was left untouched"),
    ("a store made by dqm ingest", None, "not a store made by `dqm run`"),
]


@pytest.mark.parametrize("what,make,message", RUN_STORE_CASES, ids=[c[0] for c in RUN_STORE_CASES])
def test_dqm_run_deletes_only_a_store_it_made(what, make, message, tmp_path, demo_store, capsys):
    import shutil

    target = tmp_path / "given.duckdb"
    if make is None:
        shutil.copyfile(demo_store[0], target)  # built by ingest_files, not by dqm run
    else:
        make(target)
    before = target.read_bytes() if target.is_file() else None
    code = main(["run", "--quick", "--store", str(target), "--out-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "Traceback" not in err, err
    assert target.exists() or target.is_symlink()
    if before is not None:
        assert target.read_bytes() == before


def test_a_store_dqm_run_made_is_rebuilt(tmp_path):
    store = tmp_path / "run.duckdb"
    from dqm.store import connect

    connect(store).close()
    paths.mark_run_store(store)
    assert paths.clear_run_store(store) == store and not store.exists()
    paths.clear_run_store(store)  # missing: nothing to do


def test_confined_accepts_a_linked_output_folder_itself(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    folder = paths.output_folder(tmp_path / "alias")
    assert folder == real and paths.confined(folder, "a.html") == real / "a.html"


# ---------------------------------------------------------------- faults while writing
def test_a_full_disk_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "r.html"
    target.write_text("old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DQMError, match="the disk is full"):
        paths.write_atomic(target, "new" * 1000)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_a_read_only_folder_is_a_message(tmp_path, monkeypatch):
    real_open = os.open

    def denied(path, flags, *a, **k):  # the temporary file cannot be made (as in a read-only folder, not as root)
        if flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(DQMError, match="cannot write the report .*Permission denied"):
        paths.write_atomic(tmp_path / "r.html", "x", "report")
    monkeypatch.undo()
    monkeypatch.setattr(os, "access", lambda *a, **k: False)
    with pytest.raises(DQMError, match="is not writable"):
        paths.output_folder(tmp_path / "ro")


def test_write_atomic_refuses_a_link_at_the_name_and_leaves_both_alone(tmp_path):
    """(Before issue #17 the link was replaced; now every write through or at a link is refused.)"""
    outside = _precious(tmp_path)
    link = tmp_path / "r.html"
    link.symlink_to(outside)
    with pytest.raises(DQMError, match="is a symbolic link"):
        paths.write_atomic(link, "new")
    assert outside.read_text() == "precious" and link.is_symlink()


def _tiny_report(tmp_path, monkeypatch, source: str):
    """Point the runner at a one-cell notebook, so that a fault can be injected after the kernel ran."""
    import nbformat

    import dqm.reports.notebook as reports

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("wave = 0\nstore = ''", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(source)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbdir = tmp_path / "nbs"
    nbdir.mkdir()
    nbformat.write(nb, nbdir / "tiny.ipynb")
    monkeypatch.setattr(reports, "notebooks_dir", lambda: nbdir)
    monkeypatch.setitem(reports.REPORTS, "tiny", {"notebook": "tiny.ipynb", "output": "tiny-{wave}.html", "title": "Tiny"})
    return reports


def test_a_failure_in_the_pdf_step_leaves_the_old_pair(demo_store, tmp_path, monkeypatch):
    """A kill or error while the PDF is made must not leave a new HTML beside the old PDF."""
    store, _ = demo_store
    reports = _tiny_report(tmp_path, monkeypatch, "from dqm.markup import block\nblock('new text')")
    out = tmp_path / "out"
    out.mkdir()
    (out / "tiny-2026.html").write_text("old html")
    (out / "tiny-2026.pdf").write_bytes(b"old pdf")

    def killed(page):
        raise KeyboardInterrupt

    monkeypatch.setattr(reports, "pdf_from_html", killed)
    with pytest.raises(KeyboardInterrupt):
        reports.run_report("tiny", 2026, store=store, out_dir=out, pdf=True)
    assert (out / "tiny-2026.html").read_text() == "old html" and (out / "tiny-2026.pdf").read_bytes() == b"old pdf"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert not [p for p in (out / "_build").iterdir() if p.name.startswith(".")]  # no snapshot or partial notebook left
    # and once it works, both are new
    monkeypatch.setattr(reports, "pdf_from_html", lambda page: b"%PDF new")
    reports.run_report("tiny", 2026, store=store, out_dir=out, pdf=True)
    assert "old html" not in (out / "tiny-2026.html").read_text() and (out / "tiny-2026.pdf").read_bytes() == b"%PDF new"


def test_a_report_reads_one_snapshot_of_the_store(demo_store, tmp_path, monkeypatch):
    """An ingest while a report runs changes neither its figures nor its provenance."""
    import shutil

    from dqm.store import connect

    store = tmp_path / "live.duckdb"
    shutil.copyfile(demo_store[0], store)
    # the notebook counts ingests, then (as if an ingest happened meanwhile) the live store changes,
    # then the provenance is computed: both must come from the same snapshot
    code = (f"import duckdb\nfrom dqm.store import connect\nfrom dqm.markup import block\nfrom dqm.reports.provenance import provenance\n"
            f"c = connect(store, read_only=True); n = c.execute('SELECT count(*) FROM ingests').fetchall()[0][0]; c.close()\n"
            f"live = duckdb.connect({str(store)!r}); live.execute(\"INSERT INTO ingests (ingest_id, file_name, sha256, shape, wave, assessment_type, ingested_at, model_id, model_version, rows_read, stored, superseded, rejected, superseded_earlier, blank_rows, ignored_columns) VALUES (999, 'late-arrival.csv', 'x', 'googleforms', 2026, 'self', now(), 'm', 'v', 0, 0, 0, 0, 0, 0, '')\"); live.close()\n"
            f"display(block(f'ingests counted: {{n}}', provenance(store, {{'wave': wave, 'store': store}})))")
    reports = _tiny_report(tmp_path, monkeypatch, code)
    res = reports.run_report("tiny", 2026, store=store, out_dir=tmp_path / "out")
    page = res.html.read_text()
    con = connect(store, read_only=True)
    n_before = con.execute("SELECT count(*) FROM ingests WHERE ingest_id <> 999").fetchall()[0][0]
    con.close()
    assert f"ingests counted: {n_before}" in page and "late-arrival.csv" not in page
    assert "live.duckdb" in page and str(tmp_path) not in page  # the store by name, never by path


def test_a_failing_commit_shows_its_own_error(tmp_path, survey):
    """The real error of a failed COMMIT is not hidden by 'cannot rollback - no transaction is active'."""
    import duckdb

    from dqm.store import connect, ingest_file

    class FailingCommit:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *a):
            if sql.strip().upper() == "COMMIT":
                self.con.execute("ROLLBACK")  # as DuckDB does when a commit fails
                raise duckdb.IOException("IO Error: could not write the checkpoint (disk full)")
            return self.con.execute(sql, *a)

        def __getattr__(self, name):
            return getattr(self.con, name)

    survey.add()
    con = connect(tmp_path / "s.duckdb")
    try:
        with pytest.raises(duckdb.IOException, match="disk full"):
            ingest_file(FailingCommit(con), survey.googleforms(tmp_path / "e.csv"), 2026)
        assert con.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 0
    finally:
        con.close()

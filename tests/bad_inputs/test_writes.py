"""Every file dqm writes, under every fault: table-driven (issue #17, items 3 to 5).

Each command that writes a file runs in-process as a user would (``dqm.cli.main``) against each fault:

* a symbolic link on the way (the output file itself, or a folder below the output folder: the batch's
  ``_build``, the user data folder's ``outcomes``), pointing at a precious file or folder elsewhere;
* an output folder not meant for output: ``/``, the project folder itself, the home folder itself, a system folder;
* a full disk (``os.write`` writes part of a block, then fails with ENOSPC, as write(2) does);
* a read-only file system (creating a file fails with EROFS; root ignores permission bits, so they are not used).

Each must end in a one-line message naming the fault (exit 2, no traceback, never "unexpected error"), leave
the old file as it was, no partial file under the final name and no temporary file, and touch nothing
through the link. Without a fault, every file is written with the usual permissions (0644 under umask 022).

Then every CSV and XLSX writer gets text that starts a formula (``=``, ``+``, ``-``, ``@``, tab, carriage
return), bidi overrides and control characters: the CSV cell is prefixed with ``'`` and the XLSX cell is
text (no ``<f>`` element), with the invisible characters removed; numbers stay numbers and the pack's own
calculator formulas stay live.
"""
from __future__ import annotations

import csv
import errno
import io
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest
import yaml

from dqm.cli import main
from dqm.paths import PROJECT_ROOT, data_dir

WAVE = "2026"
HOSTILE = ["=HYPERLINK(\"http://127.0.0.1:9/x\",\"click\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)",
           "\t=1+1", "\r=1+1", "=1+1\u202e evil", "ok\u202eevil\u2066", "bell\x07\x1b[31m"]


# ---------------------------------------------------------------- the commands
@dataclass
class Ctx:
    tmp: Path
    store: Path
    code: str

    def user_data(self) -> Path:
        """A user data folder with one outcome file (for `outcomes check`)."""
        d = self.tmp / "mine"
        if not (d / "measures.yaml").exists():
            (d / "outcomes").mkdir(parents=True, exist_ok=True)
            (d / "outcomes" / "cost.csv").write_text("council,period,value\nLeeds,2025,2\nBristol City Council,2025,3\n")
            (d / "measures.yaml").write_text(yaml.safe_dump([{"id": "my_cost", "name": "my cost", "unit": "pounds",
                                                               "better": "lower", "file": "outcomes/cost.csv"}]))
        return d

    def outcome_file(self) -> Path:
        p = self.tmp / "src" / "cost.csv"
        p.parent.mkdir(exist_ok=True)
        p.write_text("council,period,value\nLeeds,2025,2\nBristol City Council,2025,3\n")
        return p


@dataclass
class Cmd:
    id: str
    argv: Callable  # (ctx, out) -> argv; out is the output file, or the output folder
    folder: bool = False  # the command fills an output folder (else it writes one file the user names)
    name: str = "out.csv"  # the file written (for a folder command: the file, relative to the folder, to check)
    link: str = ""  # folder commands: where below the folder a planted link is refused
    writes: bool = True  # runs fully in the success and fault cases (the batch is run only up to its first write)
    faults: tuple = ("link", "slash", "system", "full", "readonly")


def _handbook_name() -> str:
    from dqm.model import load_model

    v = load_model().version
    return "dqm-handbook-" + "".join(c if c.isalnum() or c in ".-" else "-" for c in v) + ".html"


FOLDER_FAULTS = ("link", "slash", "project", "home", "system", "full", "readonly")
COMMANDS = [
    Cmd("score", lambda c, o: ["score", "--wave", WAVE, "--store", str(c.store), "--out", str(o)]),
    Cmd("match", lambda c, o: ["match", "Bristol", "Leeds", "--csv", str(o)]),
    Cmd("outcomes-check", lambda c, o: ["outcomes", "check", "--user-data", str(c.user_data()), "--csv", str(o)]),
    Cmd("questions", lambda c, o: ["questions", "--format", "csv", "--out", str(o)]),
    Cmd("pack", lambda c, o: ["pack", "--wave", WAVE, "--council", "BST", "--out", str(o)], name="pack.xlsx"),
    Cmd("action-plan", lambda c, o: ["action-plan", c.code, "--wave", WAVE, "--store", str(c.store), "--out", str(o)],
        name="plan.xlsx"),
    Cmd("handbook", lambda c, o: ["handbook", "--out-dir", str(o)], folder=True, name=_handbook_name(),
        link=_handbook_name(), faults=FOLDER_FAULTS),
    Cmd("build-outcomes", lambda c, o: ["build-outcomes", "--out", str(o)], folder=True, name="outcomes.csv",
        link="mapping_log.csv", faults=FOLDER_FAULTS),
    Cmd("outcomes-add", lambda c, o: ["outcomes", "add", str(c.outcome_file()), "--user-data", str(o), "--measure",
                                      "my_cost", "--unit", "pounds", "--better", "lower"],
        folder=True, name="measures.yaml", link="outcomes", faults=FOLDER_FAULTS),
    Cmd("claims-add", lambda c, o: ["claims", "add", "--user-data", str(o), "--id", "mine-1", "--statement", "No gain.",
                                    "--outcome", "central_services_per_head", "--direction", "none"],
        folder=True, name="claims.yaml", link="claims.yaml", faults=FOLDER_FAULTS),
    # the batch: refused before any work, or stopped at its first write (the store's snapshot); its reports are
    # written by the same writer (tests/test_batch.py runs it in full)
    Cmd("report-councils", lambda c, o: ["report", "councils", "--wave", WAVE, "--store", str(c.store), "--out-dir",
                                         str(o), "--councils", c.code, "--jobs", "1", "--draws", "20"],
        folder=True, name="manifest.json", link="_build", writes=False, faults=FOLDER_FAULTS),
    Cmd("report-annual", lambda c, o: ["report", "annual", "--wave", WAVE, "--store", str(c.store), "--out-dir", str(o)],
        folder=True, writes=False, faults=("slash", "project", "home", "system")),
    Cmd("run", lambda c, o: ["run", "--quick", "--out-dir", str(o)], folder=True, writes=False,
        faults=("slash", "project", "home", "system")),
]
MESSAGES = {"link": "symbolic link", "slash": "the root of the file system", "project": "the project folder itself",
            "home": "your home folder itself", "system": "a system folder", "full": "the disk is full",
            "readonly": "Read-only file system"}


# what dqm may write, by name: anything new by these names in the folders below is a write that should have been refused
WATCHED = ("/", "/etc", "/usr")
DQM_NAMES = ("outcomes", "councils", "_build", "analysts", "claims.yaml", "measures.yaml", "outcomes.csv",
             "mapping_log.csv", "manifest.json", "failures.csv", "index.csv", "index.html", "dqm-*", "state-of-digital-*",
             "evidence-review-*", "council-*", "data-quality-*", ".tmp-*", ".snapshot-*")


@pytest.fixture(autouse=True)
def _machine_left_as_found():
    """Even when the code under test is broken (as before issue #17, run as root), what it wrote in /, /etc or /usr
    is removed again, and the test fails."""
    from fnmatch import fnmatch

    before = {f: set(os.listdir(f)) for f in WATCHED}
    yield
    stray = []
    for f in WATCHED:
        for name in sorted(set(os.listdir(f)) - before[f]):
            if any(fnmatch(name, pat) for pat in DQM_NAMES):
                p = Path(f) / name
                stray.append(str(p))
                shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    assert not stray, f"dqm wrote where it never should: {stray}"


@pytest.fixture(scope="module")
def ctx_base(demo_store):
    from dqm.reports.notebook import councils_in_wave

    store, _ = demo_store
    return store, councils_in_wave(store, int(WAVE))[0]


@pytest.fixture
def ctx(ctx_base, tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))  # the home folder, as dqm sees it
    return Ctx(tmp_path, *ctx_base)


def _precious(tmp: Path) -> Path:
    p = tmp / "elsewhere" / "precious.txt"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text("precious")
    return p


def _full_disk(monkeypatch) -> None:
    """A disk that fills up: the first write to a file takes half the block, the next fails with ENOSPC."""
    real, seen = os.write, set()

    def write(fd, data):
        if fd <= 2:
            return real(fd, data)
        if fd in seen or len(data) < 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        seen.add(fd)
        return real(fd, bytes(memoryview(data)[: len(data) // 2]))

    monkeypatch.setattr(os, "write", write)


def _read_only(monkeypatch) -> None:
    """A read-only file system: no file or folder can be created (existing ones can be opened to read)."""
    real_open = os.open

    def no_create(path, flags, *a, **k):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *a, **k)

    def no_mkdir(path, *a, **k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "open", no_create)
    monkeypatch.setattr(os, "mkdir", no_mkdir)


def _snapshot(root: Path) -> dict:
    """Every file under ``root`` (not following links) with its bytes, and every link with its target."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_symlink():
            out[str(p.relative_to(root))] = ("link", os.readlink(p))
        elif p.is_file():
            out[str(p.relative_to(root))] = p.read_bytes()
    return out


def _leftovers(root: Path) -> list:
    return [str(p) for p in root.rglob(".tmp-*")] + [str(p) for p in root.rglob(".snapshot-*")]


def _run(argv, capsys, fault: str | None = None) -> tuple[int, str, str]:
    """Run dqm in-process, under a full disk or a read-only file system when asked."""
    with pytest.MonkeyPatch.context() as mp:
        if fault == "full":
            _full_disk(mp)
        elif fault == "readonly":
            _read_only(mp)
        code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _refused(code: int, err: str, message: str) -> None:
    """Exit 2 and one line saying what is wrong, after any progress lines (each ending "...") of the work done so far."""
    assert code == 2, err
    *progress, last = err.rstrip("\n").split("\n")
    assert message in last, err
    assert all(line.endswith("...") for line in progress), err
    assert "Traceback" not in err and "unexpected error" not in err, err


def _folder_case(cmd: Cmd, fault: str, ctx: Ctx, monkeypatch):
    """The output folder for a fault, with the old file (and the link) planted; returns (folder, where to look)."""
    if fault == "slash":
        return Path("/"), None
    if fault == "project":
        return PROJECT_ROOT, None
    if fault == "home":
        return Path(os.environ["HOME"]), None
    if fault == "system":
        return Path("/usr/dqm-test-output-never-made"), None
    out = ctx.tmp / "out"
    out.mkdir()
    if fault == "link":
        target = _precious(ctx.tmp)
        (out / cmd.link).symlink_to(target.parent if cmd.link in ("outcomes", "_build") else target)
    else:
        (out / cmd.name).write_text("old")
    return out, out


FILE_CASES = [(c, f) for c in COMMANDS if not c.folder for f in c.faults]
FOLDER_CASES = [(c, f) for c in COMMANDS if c.folder for f in c.faults]


@pytest.mark.parametrize("cmd,fault", FILE_CASES, ids=[f"{c.id}-{f}" for c, f in FILE_CASES])
def test_a_file_the_user_names_is_written_whole_or_not_at_all(cmd, fault, ctx, monkeypatch, capsys):
    folder = ctx.tmp / "out"
    folder.mkdir()
    target = folder / cmd.name
    precious = _precious(ctx.tmp)
    if fault == "link":
        target.symlink_to(precious)
    elif fault == "slash":
        target = Path("/") / f"dqm-test-{cmd.name}"
    elif fault == "system":
        target = Path("/etc") / f"dqm-test-{cmd.name}"
    else:
        target.write_text("old")
    argv = cmd.argv(ctx, target)  # built before the fault (it may write inputs)
    before = _snapshot(ctx.tmp)
    code, _, err = _run(argv, capsys, fault)
    _refused(code, err, MESSAGES[fault])
    after = _snapshot(ctx.tmp)
    # the key that signs kept values (dqm.serial) is made on first use by any command that keeps one, as `dqm score`
    # now keeps the measurement model's fit: it is not an output and holds nothing of the refused file
    after.pop("home/.config/dqm/cache-key", None)
    assert after == before  # the old file as it was, the link and its target untouched, nothing new
    assert precious.read_text() == "precious"
    if fault in ("slash", "system"):
        assert not target.exists()


@pytest.mark.parametrize("cmd,fault", FOLDER_CASES, ids=[f"{c.id}-{f}" for c, f in FOLDER_CASES])
def test_an_output_folder_is_confined_and_written_whole_or_not_at_all(cmd, fault, ctx, monkeypatch, capsys):
    folder, look = _folder_case(cmd, fault, ctx, monkeypatch)
    argv = cmd.argv(ctx, folder)
    outside = _snapshot(ctx.tmp / "elsewhere") if (ctx.tmp / "elsewhere").exists() else {}
    before = _snapshot(look) if look else None
    home_before = sorted(os.listdir(os.environ["HOME"]))
    project_before = sorted(os.listdir(PROJECT_ROOT))
    code, _, err = _run(argv, capsys, fault)
    _refused(code, err, MESSAGES[fault])
    if look is not None:
        after = _snapshot(look)
        if fault == "link" or not cmd.writes:
            assert after == before  # nothing written through the link, nothing half-written
        else:  # the old file as it was; the folder holds nothing more than before (nothing partial)
            assert after.get(cmd.name) == b"old" and set(after) <= set(before) | {"outcomes", "_build"}, after
        assert not _leftovers(look)
    if (ctx.tmp / "elsewhere").exists():
        assert _snapshot(ctx.tmp / "elsewhere") == outside  # nothing written or deleted through the link
    assert sorted(os.listdir(os.environ["HOME"])) == home_before
    assert sorted(os.listdir(PROJECT_ROOT)) == project_before
    assert not Path("/usr/dqm-test-output-never-made").exists()


WRITERS = [c for c in COMMANDS if c.writes]


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)], ids=["umask-022", "umask-027"])
@pytest.mark.parametrize("cmd", WRITERS, ids=[c.id for c in WRITERS])
def test_files_are_written_with_the_usual_permissions_and_no_temporary_file(cmd, umask, mode, ctx, capsys):
    """The control for the fault table (each command does write without a fault), and permissions as any new
    file gets: 0666 less the umask (before, the handbook was always 0644 and the batch's files 0600)."""
    out = ctx.tmp / "out"
    out.mkdir()
    target = out if cmd.folder else out / cmd.name
    if not cmd.folder:
        target.write_text("old")  # replaced, not appended to
    old_umask = os.umask(umask)
    try:
        code, _, err = _run(cmd.argv(ctx, target), capsys)
    finally:
        os.umask(old_umask)
    assert code == 0, err
    written = out / cmd.name
    assert written.is_file() and written.read_bytes() != b"old"
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {oct(p.stat().st_mode & 0o777) for p in files} == {oct(mode)}, \
        [(str(p), oct(p.stat().st_mode)) for p in files]
    assert not _leftovers(ctx.tmp)


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)], ids=["umask-022", "umask-027"])
def test_the_batch_files_get_the_usual_permissions(umask, mode, tmp_path):
    """The batch's manifest, failures list and index were 0600 (its own writer used mkstemp's mode)."""
    import pandas as pd

    from dqm.reports.index import write_index
    from dqm.reports.manifest import write_failures, write_manifest

    old_umask = os.umask(umask)
    try:
        write_manifest(tmp_path, {"councils": {}})
        write_failures(tmp_path, pd.DataFrame({"council": ["BST"], "cell": ["3"], "error": ["x"]}))
        write_index(tmp_path, pd.DataFrame(columns=["council_code", "council", "type", "region", "html", "pdf",
                                                    "status", "updated"]), 2026, False)
    finally:
        os.umask(old_umask)
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} == \
        {n: oct(mode) for n in ("manifest.json", "failures.csv", "index.csv", "index.html")}


def test_a_single_file_may_go_in_the_home_folder_but_dqm_fills_no_folder_there(ctx, capsys):
    home = Path(os.environ["HOME"])
    code, _, err = _run(["match", "Leeds", "--csv", home / "names.csv"], capsys)
    assert code == 0 and (home / "names.csv").is_file(), err
    code, _, err = _run(["handbook", "--out-dir", home], capsys)
    _refused(code, err, "your home folder itself")
    code, _, err = _run(["handbook", "--out-dir", home / "reports"], capsys)  # a folder inside it is fine
    assert code == 0, err


def test_an_output_folder_that_is_a_link_to_a_system_folder_is_refused(ctx, capsys):
    (ctx.tmp / "etc-link").symlink_to("/etc")
    code, _, err = _run(["handbook", "--out-dir", ctx.tmp / "etc-link"], capsys)
    _refused(code, err, "a system folder (/etc)")
    assert not list(Path("/etc").glob("dqm-handbook-*"))


# ---------------------------------------------------------------- deletions: never through a link
def test_the_batch_clears_its_leftovers_without_following_links(ctx, monkeypatch, capsys):
    """Stale `.tmp-*` and `.snapshot-*` entries that are links are removed as links; what they point to stays."""
    out = ctx.tmp / "out"
    (out / "_build").mkdir(parents=True)
    precious = _precious(ctx.tmp)
    (out / ".tmp-council-X.html").symlink_to(precious)
    (out / "_build" / ".snapshot-0123").symlink_to(precious.parent)
    (out / "_build" / ".snapshot-real").mkdir()
    (out / "_build" / ".snapshot-real" / "inner-link").symlink_to(precious)
    batch = next(c for c in COMMANDS if c.id == "report-councils")
    code, _, err = _run(batch.argv(ctx, out), capsys, "full")  # the full disk stops it at its first write
    _refused(code, err, "the disk is full")
    assert precious.read_text() == "precious" and sorted(os.listdir(precious.parent)) == ["precious.txt"]
    assert not _leftovers(out)


def test_remove_confined_never_follows_a_link(tmp_path):
    from dqm.errors import DQMError
    from dqm.paths import remove_confined

    precious = _precious(tmp_path)
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "via").symlink_to(precious.parent)
    with pytest.raises(DQMError, match="symbolic link"):
        remove_confined(root / "via" / "precious.txt", root)
    assert remove_confined(root / "via", root) and not (root / "via").exists() and precious.exists()
    assert remove_confined(root / "sub", root) and not (root / "sub").exists()
    assert not remove_confined(root / "gone", root)
    with pytest.raises(DQMError, match="outside the output folder"):
        remove_confined(precious, root)


def test_a_link_planted_while_dqm_writes_is_refused(tmp_path, monkeypatch):
    """The folders on the way are opened one by one without following links: a race after the check is refused."""
    from dqm import paths
    from dqm.errors import DQMError

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    precious = _precious(tmp_path)
    real_confined = paths.confined

    def swap_after_check(*a, **k):
        p = real_confined(*a, **k)
        shutil.rmtree(root / "sub")
        (root / "sub").symlink_to(precious.parent)
        return p

    monkeypatch.setattr(paths, "confined", swap_after_check)
    with pytest.raises(DQMError, match="symbolic link"):
        paths.write_atomic("sub/precious.txt", "overwritten", root=root)
    assert precious.read_text() == "precious" and sorted(os.listdir(precious.parent)) == ["precious.txt"]


# ---------------------------------------------------------------- a full disk while an ingest commits
def _ingest_argv(tmp: Path, survey) -> list:
    survey.add()
    return ["ingest", str(survey.googleforms(tmp / "e.csv")), "--wave", WAVE, "--store", str(tmp / "s.duckdb")]


def test_a_full_disk_at_commit_is_a_message_and_stores_nothing(tmp_path, survey, monkeypatch, capsys):
    """DuckDB reports a full disk at COMMIT as a TransactionException naming the OS error (checked on a real
    full tmpfs in the next test); dqm says the disk is full and that nothing from the file was stored."""
    import duckdb

    from dqm import store as store_mod

    real_connect = store_mod.connect

    class FullAtCommit:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *a):
            if sql.strip().upper() == "COMMIT":
                self.con.execute("ROLLBACK")  # as DuckDB does when a commit fails
                raise duckdb.TransactionException('TransactionContext Error: Failed to commit: Could not write file '
                                                  f'"{tmp_path}/s.duckdb.wal": No space left on device')
            return self.con.execute(sql, *a)

        def __getattr__(self, name):
            return getattr(self.con, name)

    monkeypatch.setattr(store_mod, "connect", lambda *a, **k: FullAtCommit(real_connect(*a, **k)))
    import dqm.cli

    argv = _ingest_argv(tmp_path, survey)
    code = dqm.cli.main(argv)
    err = capsys.readouterr().err
    monkeypatch.undo()
    assert code == 2 and "the disk is full; nothing from e.csv was stored" in err and "unexpected error" not in err, err
    con = real_connect(tmp_path / "s.duckdb", read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 0
    finally:
        con.close()


@pytest.fixture
def tiny_disk(tmp_path):
    """A real 2 MB file system (tmpfs), where the machine lets the tests mount one (root in a container)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tiny file system needs root")
    import subprocess

    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _fill(folder: Path, leave: int = 0) -> None:
    st = os.statvfs(folder)
    with open(folder / "filler", "wb") as fh:
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))


def test_a_really_full_disk_at_commit_leaves_a_store_that_opens(tiny_disk, survey, tmp_path, capsys):
    from dqm.store import connect

    store = tiny_disk / "s.duckdb"
    connect(store).close()
    _fill(tiny_disk)
    survey.add(council="Leeds", email="b@leeds.gov.uk")
    argv = _ingest_argv(tmp_path, survey)
    argv[-1] = str(store)
    code, _, err = _run(argv, capsys)
    assert code == 2 and "the disk is full; nothing from e.csv was stored" in err and "unexpected error" not in err, err
    wal = Path(str(store) + ".wal")
    assert not wal.exists() or wal.stat().st_size == 0  # DuckDB empties its log; nothing half-committed
    (tiny_disk / "filler").unlink()
    con = connect(store, read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM submissions").fetchall()[0][0] == 0
    finally:
        con.close()
    assert main(argv) == 0  # with space again, the same file ingests


@pytest.mark.parametrize("argv", [["pack", "--wave", WAVE, "--out", "{d}/pack.xlsx"],
                                  ["questions", "--format", "csv", "--out", "{d}/q.csv"],
                                  ["match", "Leeds", "--csv", "{d}/m.csv"]], ids=["pack", "questions", "match"])
def test_a_really_full_disk_leaves_no_file(argv, tiny_disk, capsys):
    (tiny_disk / argv[-1].split("/")[-1]).write_text("old")
    _fill(tiny_disk, leave=2048)
    code, _, err = _run([a.format(d=tiny_disk) for a in argv], capsys)
    _refused(code, err, "the disk is full")
    assert sorted(os.listdir(tiny_disk)) == sorted(["filler", argv[-1].split("/")[-1]])
    assert (tiny_disk / argv[-1].split("/")[-1]).read_text() == "old"


# ---------------------------------------------------------------- the cell rule in every CSV and XLSX dqm writes
def _csv_cells(path_or_text) -> list[list[str]]:
    text = path_or_text.read_text(encoding="utf-8") if isinstance(path_or_text, Path) else path_or_text
    return list(csv.reader(io.StringIO(text)))


def _assert_inert_csv(rows, hostile=HOSTILE) -> None:
    cells = [c for r in rows for c in r]
    for c in cells:
        assert not re.match(r" *[=+\-@]|[\t\r\n]", c) or re.fullmatch(r"[+-]?\d+(\.\d*)?([eE][+-]?\d+)?", c), c
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", c), c
    for h in hostile:  # every hostile value arrived, as text (a reader may trim the spaces around a name)
        core = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "", h.replace("\r", "\n")).strip()
        assert any(core in c for c in cells), (h, core)


def test_match_csv_neutralises_names_that_start_a_formula(tmp_path, capsys):
    out = tmp_path / "m.csv"
    assert main(["match", "--csv", str(out), "--", *HOSTILE, "Leeds"]) == 0, capsys.readouterr().err
    _assert_inert_csv(_csv_cells(out))
    assert main(["match", "--csv", "-", "--", *HOSTILE]) == 0
    _assert_inert_csv(_csv_cells(capsys.readouterr().out))


@pytest.mark.parametrize("sub", ["check", "add"])
def test_outcomes_csv_neutralises_council_names_that_start_a_formula(sub, tmp_path, capsys):
    src = tmp_path / "cost.csv"
    with open(src, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["council", "period", "value"])
        w.writerow(["Leeds", "2025", "-2.5"])  # a negative number stays a number
        for i, h in enumerate(HOSTILE):
            w.writerow([h, "2025", str(i)])
    d = tmp_path / "mine"
    add = ["outcomes", "add", str(src), "--user-data", str(d), "--measure", "my_cost", "--unit", "pounds", "--better", "lower"]
    out = tmp_path / "join.csv"
    argv = [*add, "--csv", str(out)] if sub == "add" else add
    assert main(argv) == 0, capsys.readouterr().err
    if sub == "check":
        assert main(["outcomes", "check", "--user-data", str(d), "--csv", str(out)]) == 0
    rows = _csv_cells(out)
    _assert_inert_csv(rows)
    assert ["-2.5"] == [r[4] for r in rows if r[2] == "Leeds"]


def test_batch_index_and_failures_csv_neutralise_names(tmp_path):
    import pandas as pd

    from dqm.reports.index import write_index
    from dqm.reports.manifest import write_failures

    table = pd.DataFrame({"council_code": ["AAA", "BBB"], "council": [HOSTILE[0], HOSTILE[7]], "type": [HOSTILE[3], "x"],
                          "region": ["-", HOSTILE[8]], "html": ["", ""], "pdf": ["", ""], "status": ["ready", "failed"],
                          "updated": ["=NOW()", "2026-01-01T00:00:00Z"]})
    csv_path, _ = write_index(tmp_path, table, 2026, False)
    rows = _csv_cells(csv_path)
    _assert_inert_csv(rows, hostile=[HOSTILE[0], HOSTILE[3], HOSTILE[7], HOSTILE[8], "=NOW()"])
    assert rows[1][1].startswith("'=HYPERLINK") and rows[2][1] == "okevil"  # the bidi override is gone
    failures = pd.DataFrame({"council": HOSTILE[:3], "cell": [1, 2, 3], "error": HOSTILE[3:6]})
    _assert_inert_csv(_csv_cells(write_failures(tmp_path, failures)), hostile=HOSTILE[:6])
    assert {oct(p.stat().st_mode & 0o777) for p in tmp_path.iterdir()} <= {"0o644", oct(0o666 & ~_umask())}


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def _hostile_model(tmp: Path) -> Path:
    m = yaml.safe_load((data_dir() / "model" / "dqm.yaml").read_text(encoding="utf-8"))
    for i, (d, h) in enumerate(zip(m["dimensions"], HOSTILE * 3)):
        d["name"] = f"{h} {i}"
        d["question"] = f"{h} question {i}"
    path = tmp / "model.yaml"
    path.write_text(yaml.safe_dump(m, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_questions_csv_neutralises_model_text(tmp_path, capsys):
    out = tmp_path / "q.csv"
    code = main(["questions", "--format", "csv", "--model", str(_hostile_model(tmp_path)), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    _assert_inert_csv(_csv_cells(out), hostile=[f"{h} question {i}" for i, h in enumerate(HOSTILE)])


def _formula_cells(path: Path) -> dict[str, list[str]]:
    """Per sheet, the cells that hold a formula (openpyxl's reading and the XML's <f> elements must agree)."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    found = {ws.title: [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"] for ws in wb.worksheets}
    with zipfile.ZipFile(path) as z:
        xml_f = sum(len(re.findall(rb"<f[ >]", z.read(n))) for n in z.namelist() if n.startswith("xl/worksheets/"))
    assert xml_f == sum(len(v) for v in found.values())
    return found


def _all_text(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    return [c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if isinstance(c.value, str) and c.data_type == "s"]


def test_the_pack_writes_model_text_as_text_and_keeps_its_own_formulas_live(tmp_path, capsys):
    from dqm.documents.pack import overall_formula  # noqa: F401  (the calculator's own formulas)

    out = tmp_path / "pack.xlsx"
    code = main(["pack", "--wave", WAVE, "--model", str(_hostile_model(tmp_path)), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    formulas = _formula_cells(out)
    assert set(k for k, v in formulas.items() if v) == {"Calculator"}  # only the calculator computes
    calc = formulas["Calculator"]
    assert all(re.fullmatch(r"[BCD]\d+", c) for c in calc) and len(calc) >= 3 * 10 + 7
    texts = _all_text(out)
    for h in HOSTILE:
        clean = re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", "", h.replace("\r", "\n"))
        assert any(t == clean or t.startswith(clean) for t in texts), h
    assert not any(re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", t) for t in texts)


def test_the_action_plan_writes_library_text_as_text(tmp_path, demo_store, capsys):
    from openpyxl import load_workbook

    from dqm.reports.notebook import councils_in_wave

    store, _ = demo_store
    lib = yaml.safe_load((data_dir() / "actions.yaml").read_text(encoding="utf-8"))
    k = 0
    for steps in lib["actions"].values():
        for items in steps.values():
            for item in items:
                item["action"] = HOSTILE[k % len(HOSTILE)]
                item["rationale"] = HOSTILE[(k + 1) % len(HOSTILE)]
                k += 1
    actions = tmp_path / "actions.yaml"
    actions.write_text(yaml.safe_dump(lib, allow_unicode=True, sort_keys=False), encoding="utf-8")
    out = tmp_path / "plan.xlsx"
    code = main(["action-plan", councils_in_wave(store, 2026)[0], "--wave", WAVE, "--store", str(store),
                 "--actions", str(actions), "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert not any(_formula_cells(out).values())
    ws = load_workbook(out)["Action plan"]
    actions_written = [ws.cell(r, 5).value for r in range(2, ws.max_row + 1)]
    assert any(a.startswith("=HYPERLINK") for a in actions_written)  # as text: a reader sees what the library says
    levels = [ws.cell(r, 2).value for r in range(2, ws.max_row + 1)]
    assert all(v is None or isinstance(v, (int, float)) for v in levels)  # numbers stay numbers
    assert not any(re.search("[\x00-\x08\x0b-\x1f\u202a-\u202e\u2066-\u2069]", t) for t in _all_text(out))


def test_the_cell_rule():
    from openpyxl import Workbook

    from dqm.cells import Formula, csv_cell, inert, put, xlsx_bytes

    assert [csv_cell(v) for v in ("=1", "+1+1", "-1", "-1+1", "@A1", "\t=1", "\r=1", "1e5", "-.5", "a\u202eb", None, -3,
                                  "  =1", " ok", "\u202e=1")] \
        == ["'=1", "'+1+1", "-1", "'-1+1", "'@A1", "'\t=1", "'\n=1", "1e5", "-.5", "ab", None, -3, "'  =1", " ok", "'=1"]
    wb = Workbook()
    ws = wb.active
    assert put(ws["A1"], "=1+1").data_type == "s" and put(ws["A2"], "#N/A").data_type == "s"
    assert put(ws["A3"], -1).data_type == "n" and put(ws["A4"], Formula("=SUM(A3:A3)")).data_type == "f"
    ws["A5"] = "=HYPERLINK(\"http://x\")"  # written past the rule: made text before saving
    assert inert(wb) == 1 and ws["A5"].data_type == "s"
    with pytest.raises(ValueError):
        Formula("SUM(A1)")
    assert xlsx_bytes(wb).startswith(b"PK")

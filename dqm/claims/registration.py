"""When each registered claim was fixed, verifiably: its date and the git commit of data/claims.yaml that first held it.

A claim's ``registered`` date in ``data/claims.yaml`` is only what the registry says. The commit that first
held the claim is what a sceptic can check (``git show COMMIT:data/claims.yaml``). Published outputs and
installs from a tarball have no ``.git``, so the commits are kept in a committed data file,
``data/claims_registration.csv`` (claim_id, registered, first_commit, commit_date), regenerated from
``git log`` by::

    python -m dqm.claims.registration          # write the file from the history of data/claims.yaml
    python -m dqm.claims.registration --check  # exit 1 if the file disagrees with the history

and checked against the history by the tests whenever ``.git`` is there. :func:`registration_table` gives
the reports' provenance one row per claim; :func:`registration_sentence` says, for the evidence review,
exactly what was fixed before which data, and says so when the claims were registered after the data existed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
from pathlib import Path

import pandas as pd

from ..datadir import PROJECT_ROOT
from ..errors import DQMError
from ..paths import data_dir

CLAIMS_FILE = "data/claims.yaml"  # as git names it, from the repository's root
REGISTRATION_COLUMNS = ["claim_id", "registered", "first_commit", "commit_date"]
SHORT = 12  # characters of a commit hash shown in reports (enough to find it with `git show`)
HINT = "Run `python -m dqm.claims.registration` in a git clone of the project to write it again."


def registration_path() -> Path:
    """The committed table of claims and the commits that first held them (``data/claims_registration.csv``)."""
    return data_dir() / "claims_registration.csv"


# ---------------------------------------------------------------- from the git history
def _git(root: Path, *args: str) -> str:
    """The output of one git command in ``root``; a DQMError when git or the history is not there."""
    try:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise DQMError("git is not installed, so the claims' commits cannot be read from the history.",
                       hint="Install git, or use the committed data/claims_registration.csv as it is.") from None
    if done.returncode != 0:
        raise DQMError(f"git could not read the history of {CLAIMS_FILE} in {root} "
                       f"({' '.join(done.stderr.split())[:200] or 'no message'}).",
                       hint="Run it in a git clone of the project (a tarball install has no history).")
    return done.stdout


def has_history(root: Path | None = None) -> bool:
    """Whether ``root`` (the project) is a full git clone in which the history of data/claims.yaml can be read."""
    root = Path(root or PROJECT_ROOT)
    if not (root / ".git").exists():
        return False
    try:
        return _git(root, "rev-parse", "--is-shallow-repository").strip() == "false"
    except DQMError:
        return False


def _claims_in(text: str, commit: str) -> list[dict]:
    """The claims (id and registered date) in one version of data/claims.yaml."""
    from ..yamlio import load_yaml_text

    raw = load_yaml_text(text, file=f"{CLAIMS_FILE} at commit {commit[:SHORT]}", what="claims file")
    items = raw if isinstance(raw, list) else []
    return [{"claim_id": str(c["id"]), "registered": str(c.get("registered", ""))}
            for c in items if isinstance(c, dict) and c.get("id")]


def from_git(root: Path | None = None) -> pd.DataFrame:
    """Each claim ever in data/claims.yaml with the first commit that held it, read from ``git log``.

    Columns: claim_id, registered (the date the claim gave in that commit), first_commit (the full hash),
    commit_date (the commit's date, ISO 8601 with its offset). One row per claim, in the order the claims
    were first committed (and within a commit, in the file's order). A shallow clone is refused: its first
    commit need not be the first commit of the file.
    """
    root = Path(root or PROJECT_ROOT)
    if not (root / ".git").exists():
        raise DQMError(f"{root} is not a git clone, so the claims' commits cannot be read from the history.",
                       hint="Use the committed data/claims_registration.csv, or run this in a git clone.")
    if _git(root, "rev-parse", "--is-shallow-repository").strip() != "false":
        raise DQMError("this is a shallow git clone: the first commit it holds need not be the first that held a claim.",
                       hint="Run `git fetch --unshallow` first.")
    log = _git(root, "log", "--reverse", "--format=%H %cI", "--", CLAIMS_FILE).split()
    rows, seen = [], set()
    for commit, when in zip(log[0::2], log[1::2]):
        for c in _claims_in(_git(root, "show", f"{commit}:{CLAIMS_FILE}"), commit):
            if c["claim_id"] not in seen:
                seen.add(c["claim_id"])
                rows.append({**c, "first_commit": commit, "commit_date": when})
    return pd.DataFrame(rows, columns=REGISTRATION_COLUMNS)


# ---------------------------------------------------------------- the committed file
def read_registration(path: Path | None = None) -> pd.DataFrame:
    """The committed table (:data:`REGISTRATION_COLUMNS`); an empty table if the file is not there.

    A file that is not that table is a DQMError naming the file (and the row).
    """
    from ..limits import read_file

    path = Path(path or registration_path())
    if not path.exists():
        return pd.DataFrame(columns=REGISTRATION_COLUMNS)
    import io

    data = read_file(path, "claims registration table", DQMError, hint=HINT)
    try:
        table = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DQMError(f"the file cannot be read as a CSV table ({' '.join(str(exc).split())[:120]}).", file=path,
                       hint=HINT) from None
    if list(table.columns) != REGISTRATION_COLUMNS:
        raise DQMError(f"the columns are {', '.join(table.columns)}; they must be {', '.join(REGISTRATION_COLUMNS)}.",
                       file=path, row=1, hint=HINT)
    for i, row in enumerate(table.itertuples(index=False), start=2):
        if not row.claim_id or len(row.first_commit) != 40 or not _is_date(row.commit_date[:10]):
            raise DQMError("each row needs a claim id, a 40-character commit hash and the commit's date.", file=path,
                           row=i, hint=HINT)
    if table["claim_id"].duplicated().any():
        dup = table.loc[table["claim_id"].duplicated(), "claim_id"].iloc[0]
        raise DQMError(f"claim {dup!r} is listed twice.", file=path, hint=HINT)
    return table


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
        return True
    except ValueError:
        return False


def write_registration(root: Path | None = None, path: Path | None = None) -> pd.DataFrame:
    """Write data/claims_registration.csv from the git history (:func:`from_git`); returns the table."""
    table = from_git(root)
    path = Path(path or registration_path())
    tmp = path.with_name(path.name + ".tmp")
    table.to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)
    return table


def differences(committed: pd.DataFrame, history: pd.DataFrame) -> list[str]:
    """How the committed table differs from the history, one line per claim ([] when they agree)."""
    a = committed.set_index("claim_id")[REGISTRATION_COLUMNS[1:]]
    b = history.set_index("claim_id")[REGISTRATION_COLUMNS[1:]]
    out = [f"{cid}: in the history (first committed in {b.loc[cid, 'first_commit'][:SHORT]}), not in the file"
           for cid in b.index.difference(a.index)]
    out += [f"{cid}: in the file, never in the history of {CLAIMS_FILE}" for cid in a.index.difference(b.index)]
    for cid in a.index.intersection(b.index):
        for col in REGISTRATION_COLUMNS[1:]:
            if a.loc[cid, col] != b.loc[cid, col]:
                out.append(f"{cid}: {col} is {a.loc[cid, col]!r} in the file, {b.loc[cid, col]!r} in the history")
    return out


# ---------------------------------------------------------------- for the reports
def registration_table(claims) -> pd.DataFrame:
    """One row per claim for a report's provenance: when it was registered and the commit that first held it.

    Columns: claim_id, layer (bundled or user), registered (the claim's own date), first_commit (the full
    hash, '' if none), commit (its first 12 characters), commit_date (the commit's day, YYYY-MM-DD),
    status: ``committed`` (in data/claims_registration.csv, with the date the registry gives),
    ``date changed`` (the registry now gives another date than when it was first committed), ``not recorded``
    (a registered claim missing from the file: regenerate it) or ``your own claim`` (a user claim, never in
    the registry's history).
    """
    kept = read_registration().set_index("claim_id")
    rows = []
    for c in claims:
        row = {"claim_id": c.id, "layer": c.layer, "registered": c.registered.isoformat(), "first_commit": "",
               "commit": "", "commit_date": "", "status": "your own claim"}
        if c.layer == "bundled":
            if c.id in kept.index:
                k = kept.loc[c.id]
                row.update(first_commit=k["first_commit"], commit=k["first_commit"][:SHORT],
                           commit_date=k["commit_date"][:10],
                           status="committed" if k["registered"] == row["registered"] else "date changed")
            else:
                row["status"] = "not recorded"
        rows.append(row)
    return pd.DataFrame(rows, columns=["claim_id", "layer", "registered", "first_commit", "commit", "commit_date",
                                       "status"])


def wave_dates(submissions: pd.DataFrame, wave: int, assessment_type: str = "self") -> dict:
    """When the assessments a wave's claims are tested on were given: {wave, first, last} (dates, or None).

    ``submissions`` is the store's submissions table (``dqm.store.load(...).submissions``): the dates are the
    survey tool's own timestamps of the current (not superseded) submissions.
    """
    s = submissions[(submissions["wave"] == int(wave)) & (submissions["assessment_type"] == assessment_type)]
    if "current" in s:
        s = s[s["current"].astype(bool)]
    when = pd.to_datetime(s["submitted_at"], errors="coerce").dropna()
    return {"wave": int(wave), "first": when.min().date() if len(when) else None,
            "last": when.max().date() if len(when) else None}


def day_words(value) -> str:
    """A date as GOV.UK writes it ('22 November 2026') from an ISO date or a date; other text as it is.

    >>> day_words("2026-11-22"), day_words(dt.date(2026, 3, 2)), day_words("unknown")
    ('22 November 2026', '2 March 2026', 'unknown')
    """
    try:
        d = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return f"{d.day} {d:%B %Y}"


def _commits(table: pd.DataFrame) -> str:
    """'11 in commit c1bbc8a… of 22 November 2026, 2 in …' for the bundled claims of a registration table."""
    groups = table.groupby(["commit", "commit_date"], sort=False).size()
    return ", ".join(f"{n} in commit {commit} of {day_words(day)}" for (commit, day), n in groups.items())


def registration_sentence(table: pd.DataFrame, dates: dict | None = None) -> str:
    """What was fixed before which data, for the evidence review, in plain sentences.

    ``table`` is :func:`registration_table`; ``dates`` is :func:`wave_dates` of the wave tested. Says when and in
    which commits the registered claims were fixed, and whether that was before the assessments were given, after
    the last of them (then the claims were fixed before they were tested, not before the data existed), or
    between. Claims missing from data/claims_registration.csv and user claims are named as such.

    >>> t = pd.DataFrame({"claim_id": ["a", "b"], "layer": "bundled", "registered": "2026-11-22",
    ...                   "first_commit": "c" * 40, "commit": "c" * 12, "commit_date": "2026-11-22",
    ...                   "status": "committed"})
    >>> text = registration_sentence(t, {"wave": 2026, "first": dt.date(2026, 3, 2), "last": dt.date(2026, 5, 20)})
    >>> text.endswith("before any claim was fixed: the claims were fixed before they were tested, not before these "
    ...               "data existed, and could have been written knowing them.")
    True
    """
    bundled = table[table["layer"] == "bundled"]
    recorded = bundled[bundled["commit"] != ""]
    parts = []
    if len(recorded):
        first, last = recorded["commit_date"].min(), recorded["commit_date"].max()
        when = f"on {day_words(first)}" if first == last else f"between {day_words(first)} and {day_words(last)}"
        n = len(recorded)
        parts.append(f"The {n} registered claim{'s were' if n > 1 else ' was'} fixed {when}, each in the commit of "
                     f"{CLAIMS_FILE} that first held it ({_commits(recorded)}); `git show COMMIT:{CLAIMS_FILE}` shows "
                     "each as it was then.")
        changed = recorded[recorded["status"] == "date changed"]
        if len(changed):
            parts.append(f"The registry now gives another registration date than its first commit for "
                         f"{', '.join(changed['claim_id'])}.")
        if dates and dates.get("first") and dates.get("last"):
            d0, d1 = dates["first"].isoformat(), dates["last"].isoformat()
            given = (f"The {dates['wave']} self-assessments they are tested on were given from {day_words(d0)} to "
                     f"{day_words(d1)}")
            if last < d0:
                parts.append(f"{given}, after every claim was fixed: the claims were written before these data "
                             "existed.")
            elif first > d1:
                parts.append(f"{given}, before any claim was fixed: the claims were fixed before they were tested, "
                             "not before these data existed, and could have been written knowing them.")
            else:
                before = int((recorded["commit_date"] < d0).sum())
                parts.append(f"{given}; {before} of the claims were fixed before the first of them and "
                             f"{len(recorded) - before} after it, so only the first {before} were written before "
                             "these data existed.")
    missing = bundled[bundled["commit"] == ""]
    if len(missing):
        parts.append(f"No commit is recorded for {', '.join(missing['claim_id'])} (not yet in "
                     "data/claims_registration.csv), so nothing shows when they were fixed.")
    own = table[table["layer"] != "bundled"]
    if len(own):
        parts.append(f"Your own claims ({', '.join(own['claim_id'])}) are not in the registry's history: their dates "
                     "are only what their file says.")
    return " ".join(parts)


def claim_registration_note(row: pd.Series | dict, dates: dict | None = None) -> str:
    """One claim's registration for its section of the review: 'Registered on D in commit C (of D'), after the
    2026 self-assessments it is tested on were given (from … to …).' (``row``: a row of
    :func:`registration_table`)."""
    r = dict(row)
    if r.get("layer") != "bundled":
        return f"Your own claim, dated {day_words(r['registered'])} in its file; it is not in the registry's history."
    if not r.get("commit"):
        return (f"Registered on {day_words(r['registered'])} by the registry's own word; no commit is recorded for it in "
                "data/claims_registration.csv.")
    text = (f"Registered on {day_words(r['registered'])} in commit {r['commit']} of {CLAIMS_FILE} (committed "
            f"{day_words(r['commit_date'])})")
    if dates and dates.get("first") and dates.get("last"):
        d0, d1 = dates["first"].isoformat(), dates["last"].isoformat()
        span = (f"the {dates['wave']} self-assessments it is tested on were given (from {day_words(d0)} to "
                f"{day_words(d1)})")
        text += (f", before {span}" if r["commit_date"] < d0 else f", after {span}" if r["commit_date"] > d1
                 else f", while {span}")
    return text + "."


# ---------------------------------------------------------------- python -m dqm.claims.registration
def main(argv=None) -> int:
    """Write data/claims_registration.csv from the git history, or check it (``--check``). Exit 0 when done or in
    agreement, 1 when ``--check`` finds a difference, 2 on an error (one line, no traceback)."""
    parser = argparse.ArgumentParser(prog="python -m dqm.claims.registration",
                                     description="Record each registered claim's first commit of data/claims.yaml.")
    parser.add_argument("--check", action="store_true", help="compare the committed file with the history; write nothing")
    args = parser.parse_args(argv)
    try:
        history = from_git()
        if args.check:
            diff = differences(read_registration(), history)
            for line in diff:
                print(line)
            print(f"{registration_path().name}: " + (f"{len(diff)} difference(s) from the history of {CLAIMS_FILE}."
                                                      if diff else f"agrees with the history of {CLAIMS_FILE}."))
            return 1 if diff else 0
        table = write_registration()
        print(f"Wrote {registration_path()}: {len(table)} claims, first held in {table['first_commit'].nunique()} "
              f"commits of {CLAIMS_FILE}.")
        return 0
    except DQMError as exc:
        print(f"python -m dqm.claims.registration: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

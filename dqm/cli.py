"""The `dqm` command line. Every subcommand has --help. User errors print one paragraph, no traceback."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .argtypes import MOST_BOOTSTRAP, MOST_DRAWS, MOST_JOBS, MOST_NULL_BOOTSTRAP, positive, seed, year
from .errors import DQMError, DQMWarning
from .limits import check_regular_file, csv_field_limit, read_file
from .mainjob import QUICK, example_council  # noqa: F401  (the main job's settings, importable from here as before)

if TYPE_CHECKING:  # for the annotations only: pandas is imported inside the commands that need it
    import pandas as pd

EXIT_USER_ERROR = 2  # the input or a parameter is wrong: the message says what to do
EXIT_BUG = 1  # anything else: a short message; --debug shows the traceback
EXIT_NOTHING_STORED = 3  # `dqm ingest`: a file was read but stored nothing (every row quarantined, or none)


def _read_store(store):
    """The store a reading command uses; when none was named, say on stderr which one (see paths.resolve_store)."""
    from .paths import resolve_store

    path, note = resolve_store(store)
    if not store:
        print(f"dqm: reading the {note}; name another with --store or DQM_STORE.", file=sys.stderr)
    return path


def _cmd_demo(args) -> int:
    from .demo import write_demo

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise DQMError("--out is a file; the demo writes a folder of exports.", file=out,
                       hint="Give the path of a folder (new or existing).")
    manifest = write_demo(out, seed=args.seed)
    print(f"Wrote {len(manifest)} synthetic survey exports, manifest.csv and truth.yaml to {args.out}.")
    return 0


def _cmd_ingest(args) -> int:
    from .model import load_model
    from .reference import load_council_map
    from .store import connect, ingest_file

    if args.write_map:
        _check_output_file(args.write_map, ".csv", "draft council map")
    model = load_model(args.model) if args.model else load_model()
    council_map = load_council_map(args.council_map) if args.council_map else None
    con = connect(args.store)
    results, failed = [], []
    try:
        from .documents.pack import expand_folders

        for f in expand_folders(args.files):  # a folder stands for the exports or filled packs in it
            try:
                results.append(ingest_file(con, f, args.wave, args.assessment_type, model, args.shape, args.sheet,
                                           council_map))
            except DQMError as exc:
                failed.append({"file": str(f), "error": str(exc)})
    finally:
        con.close()
    if args.json:
        out = [r.as_dict() for r in results] + [{"file": f["file"], "error": f["error"]} for f in failed]
        print(json.dumps(out[0] if len(out) == 1 else out, indent=2))
        for f in failed:
            print(f"Could not ingest {f['error']}", file=sys.stderr)
    else:
        for r in results:
            print(r.summary())
            for u in r.unmatched_councils:
                label = "not a council" if u.get("method") == "refused" else "unmatched council"
                print(f"  {label} {u['text']!r}" + (f": {u['note']}" if u.get("note") else ""))
            if any(u.get("method") in ("fuzzy", "none") for u in r.unmatched_councils) and not args.write_map:
                print("  To confirm a probable council, list the name and its code in a CSV file with columns "
                      "name,local_authority_code (--write-map FILE writes a draft) and ingest again with "
                      "--council-map FILE.")
        for f in failed:
            print(f"Could not ingest {f['error']}", file=sys.stderr)
    if args.write_map:
        _write_draft_map(args.write_map, results)
    empty = [r.file for r in results if not r.already_ingested and r.stored == 0]
    for name in empty:
        print(f"Nothing was stored from {name}: every row was quarantined or blank (exit code "
              f"{EXIT_NOTHING_STORED}).", file=sys.stderr)
    return EXIT_USER_ERROR if failed else EXIT_NOTHING_STORED if empty else 0


DRAFT_MAP_COLUMNS = ["name", "local_authority_code", "suggestion", "reason"]


def draft_map(results) -> "pd.DataFrame":
    """Every quarantined council name of these ingests, once, with its best suggestion (or none), as a draft
    council map: ``local_authority_code`` holds the suggested code for the user to confirm, correct or clear
    (rows left without a code must be removed before the map is passed back with --council-map)."""
    import pandas as pd

    rows, seen = [], set()
    for r in results:
        for u in r.unmatched_councils:
            if u["text"] in seen or u.get("method") == "too_long":
                continue
            seen.add(u["text"])
            best = u.get("best")
            code, name = (best[0], best[1]) if best else ("", "")
            rows.append({"name": u["text"], "local_authority_code": code,
                         "suggestion": f"{name} ({code})" if best else "none",
                         "reason": u.get("note") or "no confident match."})
    return pd.DataFrame(rows, columns=DRAFT_MAP_COLUMNS)


def _write_draft_map(path, results) -> None:
    from .cells import csv_text
    from .paths import write_atomic

    table = draft_map(results)
    write_atomic(path, csv_text(table), "draft council map")
    suggested = int((table["local_authority_code"] != "").sum())
    print(f"Wrote a draft council map of {len(table):,} quarantined names ({suggested:,} with a suggested council) to "
          f"{path}. Check each row: keep a code only if the name means that council, delete the other rows, then "
          f"ingest again with --council-map {path}.")


def _cmd_report_councils(args) -> int:
    """Every council's benchmark report (or those named), in worker processes; see dqm.reports.batch."""
    from .paths import default_store, make_folder, output_folder, reports_dir
    from .reports.batch import run_batch

    if args.council or args.output:
        raise DQMError("`report councils` makes one report per council; name councils with --councils CODE,CODE "
                       "(not a council code or --output).")
    # resolved once, here, before any worker or notebook starts: nothing after depends on the working directory
    store = Path(args.store).resolve() if args.store else default_store().resolve()
    if args.out_dir:
        out_dir = Path(args.out_dir).resolve()
    else:  # inside the reports folder, through no link planted there
        out_dir = make_folder(output_folder(reports_dir()), f"councils/{args.wave}", "council reports folder")
    codes = [c.strip() for c in args.councils.split(",") if c.strip()] if args.councils else None
    if args.jobs is not None and args.jobs < 1:
        raise DQMError("--jobs must be 1 or more.")
    extra = {"draws": args.draws} if args.draws else {}
    result = run_batch(args.wave, store, out_dir, councils=codes, jobs=args.jobs, pdf=args.pdf, force=args.force,
                       draws=extra.get("draws", 1000))
    print(result.summary())
    return EXIT_USER_ERROR if len(result.failed) else 0


def _cmd_report(args) -> int:
    from .reports.notebook import run_report

    args.store = _read_store(args.store)
    if args.kind == "councils" or (args.kind == "council" and args.all):
        return _cmd_report_councils(args)
    if args.councils or args.force:
        raise DQMError("--councils and --force belong to `dqm report councils`.")
    if args.kind == "council" and not args.council:
        raise DQMError("a council report needs a council code (dqm report council CODE --wave YEAR) or --all.")
    if args.kind != "council" and args.council:
        raise DQMError(f"only the council report takes a council code, not the {args.kind} report.")
    if args.council:  # a code, a GSS code or a name, matched as the API matches it
        from .reference import require_council

        args.council = require_council(args.council)
    res = run_report(args.kind, args.wave, store=args.store, out_dir=args.out_dir, output=args.output,
                     council=args.council, pdf=args.pdf, extra=_user_parameters(args))
    print(f"Wrote {res.html}" + (f" and {res.pdf}" if res.pdf else "") + f" in {res.seconds:.1f} s.")
    return 0


def _user_parameters(args) -> dict | None:
    """--user-data / --claims / --outcomes as notebook parameters (absolute paths: notebooks run in notebooks/)."""
    from .outcomes import user_data_dir

    if args.kind not in ("annual", "evidence"):
        if args.user_data or args.claims or args.outcomes:
            raise DQMError(f"the {args.kind} report does not read claims or outcomes; --user-data, --claims and "
                           "--outcomes are for the annual and evidence reports.")
        return None
    folder = user_data_dir(args.user_data)
    params = {"user_data": str(folder.resolve()) if folder else "",
              "extra_claims": str(Path(args.claims).resolve()) if args.claims else "",
              "extra_outcomes": str(Path(args.outcomes).resolve()) if args.outcomes else ""}
    if any(params.values()):
        from .claims.registry import load_evidence

        load_evidence(params["user_data"] or None, params["extra_claims"] or None, params["extra_outcomes"] or None)
    return params if any(params.values()) else None


def _check_output_file(path, suffix: str, what: str = "output file") -> None:
    """An output file's folder must exist and the path must not be a folder, a link or in a system folder
    (checked before the work is done; :func:`dqm.paths.write_atomic` checks again when it writes)."""
    from .paths import output_file

    p = Path(path)
    if p.is_dir():
        raise DQMError("this is a folder; give a file name to write.", file=p, hint=f"For example {p / ('scores' + suffix)}.")
    if not p.parent.exists():
        raise DQMError(f"the folder {p.parent} does not exist.", file=p, hint="Create it first, or write somewhere else.")
    output_file(p, what)
    if not os.access(p.parent, os.W_OK):
        raise DQMError(f"the folder {p.parent} cannot be written.", file=p, hint="Write somewhere else.")


def _cmd_score(args) -> int:
    import pandas as pd

    from .api import for_people, load
    from .api import scores as api_scores
    from .cells import csv_text
    from .model import load_model
    from .paths import write_atomic

    if args.out:
        _check_output_file(args.out, ".csv", "scores file")
    if args.method == "model" and (args.draws is not None or args.seed is not None):
        raise DQMError("--draws and --seed set the Monte Carlo of --method rules; the measurement model's intervals "
                       "come from its fit (its draws and seed are in data/measurement.yaml).",
                       hint="Leave them out, or add --method rules.")
    model = load_model()
    args.store = _read_store(args.store)
    # the model is fitted to every wave (waves linked through the same councils and respondents, as in the reports)
    data = load(args.store, wave=None if args.method == "model" else args.wave, model=model)
    if not (data.answers["wave"] == args.wave).any():
        raise DQMError(f"the store has no submissions for wave {args.wave}.", file=args.store)
    # the API's table (council_name, integer councils_ranked), rounded for a person in the CSV and on screen
    scores = api_scores(data, args.wave, method=args.method, draws=args.draws, seed=args.seed)
    for note in scores.attrs.get("notes", []):  # what the model had to assume, beside the table
        print(f"Assumed: {note}", file=sys.stderr)
    scores.attrs = {}
    if args.out:
        write_atomic(args.out, csv_text(for_people(scores)), "scores file")
        print(f"Wrote scores for {len(scores)} councils to {args.out}.")
    elif args.json:
        print(scores.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(for_people(scores).to_string(index=False))
    return 0


def _evidence(args, model=None):
    """The registry and outcomes plus the user's own, from --user-data / --claims / --outcomes; warnings to stderr."""
    from .claims.registry import load_evidence

    ev = load_evidence(getattr(args, "user_data", None), getattr(args, "claims", None), getattr(args, "outcomes", None),
                       model=model)
    for w in ev.warnings:
        print(f"Warning: {w}", file=sys.stderr)
    summary = ev.join_summary()
    for r in summary.itertuples():
        print(f"Your outcome file {r.file} (measure {r.measure}): {r.matched:,} of {r.rows:,} rows joined to councils"
              + (f"; {r.not_used:,} not used (see `dqm outcomes check`)." if r.not_used else "."), file=sys.stderr)
    return ev


def _cmd_claims(args) -> int:
    if getattr(args, "claims_command", None) == "add":
        return _cmd_claims_add(args)
    from .claims import EngineConfig, evaluate_claims, results_json, results_table
    from .model import load_model
    from .store import load

    if args.wave is None:
        raise DQMError("dqm claims needs --wave YEAR (the assessment year whose levels are the exposure).")
    model = load_model()
    ev = _evidence(args, model)
    args.store = _read_store(args.store)
    data = load(args.store, model=model)
    if not (data.councils["wave"] == args.wave).any():
        raise DQMError(f"the store has no submissions for wave {args.wave}.", file=args.store or "the default store")
    cfg = EngineConfig(n_boot=args.bootstrap, n_null_boot=args.null_bootstrap, seed=args.seed)
    results = evaluate_claims(ev.claims, data.councils, ev.outcomes, model, args.wave, cfg, measurement=data)
    if args.json:
        print(json.dumps(results_json(results), indent=2))
    else:
        tab = results_table(results)
        for r in tab.itertuples():
            line = f"{r.id}: {r.verdict}"
            if r.verdict != "untestable":
                line += (f" (estimate {r.estimate:.2f}, 95% interval {r.ci_low:.2f} to {r.ci_high:.2f}, Holm-adjusted "
                         f"p {r.p_adjusted:.3f}, n {r.n}, MDE {r.mde:.2f}, specifications agreeing {r.spec_curve_share:.0%})")
            else:
                line += f" ({r.reason})"
            print(line + (" [exploratory]" if r.exploratory else ""))
        if data.submissions["synthetic"].any():
            print("Note: the assessments in this store are synthetic demonstration data; these verdicts say nothing about real councils.")
    return 0


def _user_folder(args, create: bool = True) -> Path:
    from .outcomes import USER_DATA_ENV, user_data_dir
    from .paths import output_folder

    folder = user_data_dir(args.user_data)
    if folder is None:
        raise DQMError(f"say where your own claims and outcome data live: --user-data DIR (or set {USER_DATA_ENV}).")
    if create:  # dqm writes here: resolved once, meant for output; nothing below it is written through a link
        return output_folder(folder, what="user data folder", option="--user-data")
    return folder


def _cmd_claims_add(args) -> int:
    """Append a claim to the user's claims.yaml: dated today, exploratory, validated before it is written."""
    import datetime as dt

    import yaml

    from .claims.registry import load_evidence
    from .paths import confined, write_atomic

    folder = _user_folder(args)
    entry = {"id": args.id, "statement": args.statement, "source": args.source, "side": args.side,
             "exposure": args.exposure, "outcome": args.outcome, "direction": args.direction,
             "controls": args.controls.split(",") if args.controls else [], "sesoi": args.sesoi,
             "family": args.family, "registered": dt.date.today().isoformat(), "exploratory": True}
    if args.population:
        pop = {}
        for item in args.population:
            if "=" not in item:
                raise DQMError(f"--population {item!r}: write COLUMN=VALUE, for example nation=England.")
            k, v = item.split("=", 1)
            pop.setdefault(k.strip(), []).append(v.strip())
        entry["population"] = {k: v[0] if len(v) == 1 else v for k, v in pop.items()}
    if args.transform:
        entry["transform"] = args.transform
    if args.period:
        entry["period"] = args.period
    path = confined(folder, "claims.yaml", "claims file")
    saved = {path: path.read_bytes() if path.exists() else None}  # to put back as it was (None: remove it)
    before = path.read_text(encoding="utf-8") if saved[path] is not None else (
        "# Your own claims, added to the registry when you pass --user-data (see the README).\n"
        "# Added after the data were seen, so exploratory: they are tested in families of their own.\n")
    text = before.rstrip("\n") + "\n\n" + yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, width=100)
    write_atomic(path, text, "claims file", root=folder)
    try:
        ev = load_evidence(folder)  # the whole user layer must still load, or nothing is written
    except DQMError:
        _restore(folder, saved)
        raise
    claim = next(c for c in ev.claims if c.id == args.id)
    for w in claim.warnings:
        print(f"Warning: claim {claim.id!r}: {w}", file=sys.stderr)
    print(f"Added claim {claim.id!r} to {path} (registered {claim.registered.isoformat()}, exploratory, "
          f"multiple-testing family {claim.family!r}).")
    return 0


def _restore(folder: Path, saved: dict) -> None:
    """Put files of the user data folder back as they were: bytes to write back, or None for a file that was not
    there (removed). Best effort: the error that made the command stop is the one reported."""
    from .paths import remove_confined, write_atomic

    for path, content in saved.items():
        try:
            if content is None:
                remove_confined(path, folder)
            else:
                write_atomic(path, content, root=folder)
        except DQMError:
            pass


def _cmd_outcomes(args) -> int:
    import yaml

    from .outcomes import load_outcome_data
    from .paths import confined, copy_atomic, make_folder, write_atomic

    if args.outcomes_command == "add":
        folder = _user_folder(args)
        src = Path(args.file)
        check_regular_file(src, "outcome file")  # not a device or pipe, within the size limit, before it is copied
        # every file written is inside the folder, through no link (a planted DIR/outcomes link is refused)
        dest = confined(folder, Path("outcomes") / src.name, "outcome file")
        mpath = confined(folder, "measures.yaml", "measures file")
        before = mpath.read_text(encoding="utf-8") if mpath.exists() else (
            "# Your own outcome measures: each names its file (in this folder) keyed by council code, GSS code or name.\n")
        cmap_src = Path(args.council_map) if args.council_map else None
        if cmap_src is not None:
            check_regular_file(cmap_src, "council map")
        cmap_dest = confined(folder, Path("outcomes") / cmap_src.name, "council map") if cmap_src else None
        entry = {k: v for k, v in {"id": args.measure, "name": args.name or args.measure.replace("_", " "),
                                   "unit": args.unit, "better": args.better, "file": f"outcomes/{src.name}",
                                   "source": args.source, "licence": args.licence, "combine": args.combine,
                                   "council_column": args.council_column, "period_column": args.period_column,
                                   "value_column": args.value_column,
                                   "council_map": f"outcomes/{cmap_src.name}" if cmap_src else None}.items() if v}
        from .yamlio import load_yaml

        had_measures = mpath.exists()
        declared = (load_yaml(mpath, what="measures file") or []) if had_measures else []
        again = isinstance(declared, list) and any(isinstance(m, dict) and m.get("id") == args.measure for m in declared)
        if again and not any(isinstance(m, dict) and m.get("id") == args.measure and m.get("file") == entry["file"]
                             for m in declared):
            raise DQMError(f"your measure {args.measure!r} already has another file.", file=mpath,
                           hint="Give the new file's measure another id, or remove the old measure first.")
        if dest.exists() and not again and dest.resolve() != src.resolve():
            raise DQMError(f"your data folder already has an outcome file named {src.name}.", file=dest,
                           hint="Rename your file, or remove the old one and its measure first.")
        saved = {p: (p.read_bytes() if p.exists() else None) for p in (dest, mpath, cmap_dest) if p is not None}
        if again:  # adding a measure again (say with a council map) replaces its entry
            kept = [entry if isinstance(m, dict) and m.get("id") == args.measure else m for m in declared]
            text = before.split("\n- ", 1)[0].rstrip("\n") + "\n\n" + yaml.safe_dump(kept, sort_keys=False, allow_unicode=True)
        else:
            text = before.rstrip("\n") + "\n\n" + yaml.safe_dump([entry], sort_keys=False, allow_unicode=True)
        try:  # the folder is left as it was unless every file is written and the whole user layer loads
            make_folder(folder, "outcomes", "outcomes folder")
            if dest.resolve() != src.resolve():
                copy_atomic(src, dest, "outcome file", root=folder)
            if cmap_dest is not None and cmap_dest.resolve() != cmap_src.resolve():
                copy_atomic(cmap_src, cmap_dest, "council map", root=folder)
            write_atomic(mpath, text, "measures file", root=folder)
            data = load_outcome_data(folder)
        except DQMError:
            _restore(folder, saved)
            raise
        print(f"{'Replaced' if again else 'Added'} measure {args.measure!r} ({dest.name}) in {mpath}.")
    else:
        data = load_outcome_data(_user_folder(args, create=False))
    return _print_join(data, args)


def _print_join(data, args) -> int:
    from .cells import csv_text
    from .paths import write_atomic

    j = data.join
    if getattr(args, "csv", None):
        write_atomic(args.csv, csv_text(j), "join CSV")
        print(f"Wrote how each of {len(j):,} rows joined to {args.csv}.")
    for r in data.join_summary().itertuples():
        print(f"{r.file} (measure {r.measure}): {r.rows:,} rows; {r.matched:,} joined to councils; {r.not_used:,} not used.")
    bad = j[j["status"] != "matched"]
    for r in bad.itertuples():
        print(f"  row {r.row}: {r.council!r}, {r.period}, {r.value!r}: {r.status}" + (f" ({r.reason})" if r.reason else ""))
    if len(bad):
        print("Rows not used are not tested. Fix the names (`dqm match` shows how names match) or values in your file and run again.")
    if (bad["status"] == "ambiguous").any():
        print("To confirm a probable council, list the name and its code in a CSV file with columns name,local_authority_code "
              "and add the file again with --council-map FILE (or name it as council_map: in measures.yaml).")
    if j.empty:
        print("There are no outcome files of your own yet: add one with `dqm outcomes add FILE --measure ID --unit UNIT --better higher|lower|neither`.")
    return 0


def _cmd_build_outcomes(args) -> int:
    from .outcomes import build_outcomes

    outcomes, log = build_outcomes(args.out)
    print(f"Wrote {len(outcomes):,} outcome values for {outcomes['measure'].nunique()} bundled measures, and the mapping "
          f"log of {len(log):,} source rows and names, each with its action and reason:")
    for source, grp in log.groupby("source", sort=False):
        by = grp["category"].where(grp["category"] != "", grp["action"])
        print(f"  {source}: " + ", ".join(f"{k} {v:,}" for k, v in by.value_counts().items()))
    print("Your own measures (in a user data folder) are not touched by a rebuild.")
    return 0


MATCH_COLUMNS = ["text", "local_authority_code", "name", "method", "score", "status", "successors", "suggestions", "note"]


def match_table(names) -> "pd.DataFrame":
    """One row per name: code, method, score, status (matched, former council with successor, not a principal
    council, ambiguous, no match), successors of a former council and suggestions."""
    import pandas as pd

    from .outcomes import _council_status
    from .reference import match_council

    rows = []
    for text in names:
        m = match_council(text)
        status, _ = _council_status(m)
        former = status == "former council with successor"
        rows.append({"text": text, "local_authority_code": m.code or "", "name": m.name or "", "method": m.method,
                     "score": round(float(m.score), 1), "status": status,
                     "successors": "; ".join(f"{n} ({c})" for c, n in m.suggestions) if former else "",
                     "suggestions": "" if former else "; ".join(f"{n} ({c})" for c, n in m.suggestions),
                     "note": m.note})
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 100 else text[:100] + "...")


def _cmd_match(args) -> int:
    names = list(args.names)
    if args.file:
        path = Path(args.file)
        try:
            text = read_file(path, "file of names").decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DQMError("the file of names is not UTF-8 text.", file=path, hint="Save it as UTF-8.") from None
        lines = [ln.strip() for ln in text.splitlines()]
        if path.suffix.lower() == ".csv":
            import csv

            try:
                with csv_field_limit():
                    rows = list(csv.reader(text.splitlines()))
            except csv.Error as exc:
                raise DQMError(f"the file of names cannot be read as CSV ({exc}).", file=path) from None
            col = args.column
            if rows and col:
                if col not in rows[0]:
                    raise DQMError(f"there is no column {col!r}; the columns are {', '.join(rows[0])}.", file=path)
                i = rows[0].index(col)
                lines = [r[i].strip() if i < len(r) else "" for r in rows[1:]]
            elif rows:
                lines = [r[0].strip() if r else "" for r in rows[1:]]  # the first column, after its header
        names += [ln for ln in lines if ln]
    if not names:
        raise DQMError("give names or codes to match, or --file FILE with one name a line (or a CSV with --column).")
    from .cells import csv_text
    from .paths import write_atomic

    if args.csv and args.csv != "-":
        _check_output_file(args.csv, ".csv", "CSV file")
    tab = match_table(names)
    if args.json:
        print(json.dumps(tab.to_dict(orient="records"), indent=2, ensure_ascii=False))
    elif args.csv:
        if args.csv == "-":
            sys.stdout.write(csv_text(tab))
        else:
            write_atomic(args.csv, csv_text(tab), "CSV file")
            counts = tab["status"].value_counts()
            print(f"Wrote {len(tab):,} names to {args.csv}: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()) + ".")
    else:
        for r in tab.itertuples():
            if r.local_authority_code:
                print(f"{_shown(r.text)} -> {r.local_authority_code} ({r.name}; {r.method})")
            else:
                from .reference import match_council

                print(f"{_shown(r.text)} -> {r.status}. {match_council(r.text).explanation}".rstrip())
    return 0


def _cmd_run(args) -> int:
    """The main job: ingest the bundled demo exports into a fresh store and build the reports (dqm.mainjob)."""
    from .mainjob import run_main_job
    from .paths import demo_dir, reports_dir

    # resolved once, here: nothing after depends on the working directory
    exports = Path(args.exports).resolve() if args.exports else demo_dir() / "exports"
    out_dir = Path(args.out_dir).resolve() if args.out_dir else reports_dir()
    store = Path(args.store).resolve() if args.store else out_dir / "_build" / "demo.duckdb"
    if args.jobs is not None and args.jobs < 1:
        raise DQMError("--jobs must be 1 or more.")
    run_main_job(exports, out_dir, store, wave=args.wave, council=args.council, quick=args.quick, jobs=args.jobs,
                 default_store=not args.store, reports=not args.no_reports)
    return 0


def _user_options(s) -> None:
    """The options of every command that reads claims or outcomes."""
    s.add_argument("--user-data", metavar="DIR",
                   help="your data folder with claims.yaml and measures.yaml (default $DQM_USER_DATA); added to the "
                   "registry and the bundled outcomes, never replacing them")
    s.add_argument("--claims", metavar="FILE", help="a further claims file of your own, added to the registry")
    s.add_argument("--outcomes", metavar="FILE",
                   help="a further outcome file of your own (columns council, measure, period, value), added to the bundled outcomes")


STORE_HELP = ("DuckDB store to read (default: DQM_STORE, else data/dqm.duckdb if it exists, else the demo store "
              "reports/_build/demo.duckdb built by `make report`)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dqm", description="DQM evidence workbook: ingest Digital Quality Model "
                                "assessments, score them and publish reports. Add --debug to any command to see "
                                "the traceback of an error.")
    p.add_argument("--debug", action="store_true", help="show the traceback of an error (anywhere on the line)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("run", help="run the main job on the bundled demo data (ingest, then build reports)",
                       description="Ingest the bundled synthetic demo exports into a fresh store and build the "
                       "State of Digital report and the evidence review into reports/, an example council benchmark "
                       "into reports/councils/YEAR/ and the data quality report (for analysts) into reports/analysts/ "
                       "(HTML, and PDF for the three publications).")
    s.add_argument("--exports", help="folder of exports with a manifest.csv (default data/demo/exports)")
    s.add_argument("--store", help="store to (re)build (default reports/_build/demo.duckdb)")
    s.add_argument("--out-dir", help="output folder (default reports/)")
    s.add_argument("--wave", type=year, help="wave to report on (default the latest in the manifest)")
    s.add_argument("--council", help="council code for the example council report (default: chosen from the data)")
    s.add_argument("--quick", action="store_true",
                   help="fewer bootstrap and simulation replications (for tests; figures are less precise)")
    s.add_argument("--jobs", type=positive(int, MOST_JOBS),
                   help=f"reports built side by side, 1 to {MOST_JOBS} (default: the number of CPU cores)")
    s.add_argument("--no-reports", action="store_true",
                   help="only build the store (the demo store for `make lab` and notebooks), no reports")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("demo", help="write synthetic survey exports for three waves",
                       description="Write synthetic (clearly labelled) survey exports shaped like Microsoft Forms "
                       "and Google Forms exports for waves 2024 to 2026, with manifest.csv and the planted truth.")
    s.add_argument("--out", required=True, help="folder to write to")
    s.add_argument("--seed", type=seed, default=2026, help="random seed, 0 to 2**32 - 1 (default 2026)")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("ingest", help="ingest survey exports (CSV or XLSX) into the store",
                       description="Read survey exports, map columns and answers to the quality model, and store "
                       "them; rows that cannot be used are quarantined with a reason. Re-ingesting a file changes nothing.",
                       epilog="Exit codes: 0 every file ingested (or already ingested); 2 a file or option was refused "
                       "(the message says why); 3 a file was read but stored nothing (every row quarantined or blank).")
    s.add_argument("files", nargs="+", type=Path, help="CSV or XLSX exports, filled assessment packs, or folders of them")
    s.add_argument("--wave", type=year, required=True, help="assessment year, e.g. 2026 (2000 to 2100)")
    s.add_argument("--store", help="DuckDB store to write (default DQM_STORE, else data/dqm.duckdb)")
    s.add_argument("--assessment-type", default="self", choices=["self", "peer", "independent"],
                   help="type of assessment in these files (a column in the file overrides it per row)")
    s.add_argument("--shape", choices=["msforms", "googleforms", "smartsurvey", "jisc", "qualtrics", "pack", "generic"],
                   help="force the survey tool shape instead of detecting it")
    s.add_argument("--sheet", help="XLSX sheet to read (default the first)")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.add_argument("--council-map", metavar="CSV",
                   help="CSV with columns name,local_authority_code confirming council names the matcher will not "
                   "take on its own (near spellings, names it does not know)")
    s.add_argument("--write-map", metavar="CSV",
                   help="write every quarantined council name with its best suggestion (or none) as a draft council "
                   "map (columns name,local_authority_code,suggestion,reason) to check and pass back with --council-map")
    s.add_argument("--json", action="store_true", help="print one JSON object per file")
    s.add_argument("--max-file-mb", type=positive(float, 1_000_000), help="largest export to read, in MB (default in data/limits.yaml)")
    s.add_argument("--max-rows", type=positive(int, 100_000_000), help="most rows in one export (default in data/limits.yaml)")
    s.add_argument("--max-cell-chars", type=positive(int, 100_000_000),
                   help="longest cell; a row with a longer one is quarantined (default in data/limits.yaml)")
    s.set_defaults(func=_cmd_ingest)

    s = sub.add_parser("report", help="build a report from the store",
                       description="Execute a report notebook with papermill and export it to HTML (and PDF with --pdf).")
    s.add_argument("kind", choices=["annual", "council", "councils", "evidence", "quality"],
                   help="annual: State of Digital; council: one council's benchmark; councils: every council's benchmark "
                   "(resumable, incremental; into reports/councils/YEAR/ with index.html); evidence: evidence review of "
                   "the claims; quality: data quality (for analysts)")
    s.add_argument("council", nargs="?", help="council code (local-authority-code, e.g. BST), for the council report")
    s.add_argument("--pdf", action="store_true", help="also write a PDF (WeasyPrint, tagged PDF/UA-1)")
    s.add_argument("--all", action="store_true", help="`council --all` is the same as `councils`")
    s.add_argument("--councils", help="councils: only these codes, comma-separated (e.g. BST,KTT)")
    s.add_argument("--jobs", type=positive(int, MOST_JOBS),
                   help=f"councils: worker processes, 1 to {MOST_JOBS} (default: the number of CPU cores)")
    s.add_argument("--force", action="store_true", help="councils: remake every report, even those whose inputs are unchanged")
    s.add_argument("--draws", type=positive(int, MOST_DRAWS),
                   help=f"councils: Monte Carlo draws for the rank intervals, 1 to {MOST_DRAWS:,} (default 1000)")
    s.add_argument("--wave", type=year, required=True, help="assessment year (2000 to 2100)")
    s.add_argument("--store", help=STORE_HELP)
    s.add_argument("--out-dir", help="output folder (default reports/; for councils reports/councils/YEAR/)")
    s.add_argument("--output", help="output file name inside the output folder")
    _user_options(s)
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("score", help="council levels and rank intervals from the measurement model",
                       description="Every council assessed in a wave: its overall level from the measurement model "
                       "(on the scale of independent assessment) with a 90% interval, its rank with the whole ranks "
                       "around its 5th-95th percentile interval, what that interval supports, and its level on each "
                       "dimension, as in the council reports (one fit per store content, kept in reports/_build). "
                       "--method rules gives instead the older Monte Carlo over defensible aggregation rules, "
                       "imputations and weights, as a sensitivity display. Names councils: for analysts, not for "
                       "publication.")
    s.add_argument("--wave", type=year, required=True, help="assessment year (2000 to 2100)")
    s.add_argument("--store", help=STORE_HELP)
    s.add_argument("--method", choices=("model", "rules"), default="model",
                   help="model: the measurement model, as the reports (default); rules: the older Monte Carlo over "
                        "defensible rules, a sensitivity display")
    s.add_argument("--draws", type=positive(int, MOST_DRAWS), default=None,
                   help=f"with --method rules: Monte Carlo draws, 1 to {MOST_DRAWS:,} (default 1000)")
    s.add_argument("--seed", type=seed, default=None, help="with --method rules: Monte Carlo seed, 0 to 2**32 - 1 "
                   "(default 20261122)")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON records")
    out.add_argument("--out", help="write a CSV file")
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("claims", help="test the pre-registered benefit claims (and your own) against outcome data",
                       description="Test every claim in the registry (data/claims.yaml), and your own claims if you give "
                       "a user data folder, against the outcome data, with robust effects, equivalence tests, Holm "
                       "adjustment, a specification curve and a verdict. `dqm claims add` registers a claim of your own.")
    s.add_argument("--wave", type=year, help="assessment year whose levels are the exposure (required to test)")
    s.add_argument("--store", help=STORE_HELP)
    _user_options(s)
    s.add_argument("--bootstrap", type=positive(int, MOST_BOOTSTRAP), default=2000,
                   help=f"BCa bootstrap resamples, 1 to {MOST_BOOTSTRAP:,} (default 2000)")
    s.add_argument("--null-bootstrap", type=positive(int, MOST_NULL_BOOTSTRAP), default=500,
                   help=f"resamples for the specification curve's joint test, 1 to {MOST_NULL_BOOTSTRAP:,} (default 500)")
    s.add_argument("--seed", type=seed, default=20261122, help="random seed, 0 to 2**32 - 1")
    s.add_argument("--json", action="store_true", help="print a JSON list, one object per claim")
    s.set_defaults(func=_cmd_claims)
    cs = s.add_subparsers(dest="claims_command", metavar="add")
    a = cs.add_parser("add", help="add a claim of your own to your claims file (dated today, exploratory)",
                      description="Append a claim to claims.yaml in your user data folder, registered today and marked "
                      "exploratory (it was written after the data were seen), in a multiple-testing family of its own. "
                      "The claim is checked before it is written.")
    a.add_argument("--user-data", metavar="DIR", help="your data folder (created if missing; default $DQM_USER_DATA)")
    a.add_argument("--id", required=True, help="a short id, such as sceptic-cost-per-transaction")
    a.add_argument("--statement", required=True, help="the claim in one sentence")
    a.add_argument("--exposure", default="overall", help="overall (default) or a dimension id of the model")
    a.add_argument("--outcome", required=True, help="a measure id (bundled or yours; see dqm outcomes add)")
    a.add_argument("--direction", required=True, choices=["positive", "negative", "none"],
                   help="what the claim predicts: positive, negative, or none (no meaningful relation)")
    a.add_argument("--sesoi", type=float, default=0.10,
                   help="smallest effect of interest, standardised (default 0.10)")
    a.add_argument("--controls", default="council_type,log_population,deprivation,rurality",
                   help="comma-separated controls (default council_type,log_population,deprivation,rurality)")
    a.add_argument("--population", action="append", metavar="COLUMN=VALUE",
                   help="restrict the councils, e.g. nation=England (repeat for more)")
    a.add_argument("--family", default="user claims", help="multiple-testing family (always one of your own)")
    a.add_argument("--source", default="added with dqm claims add", help="who makes the claim, or where it is made")
    a.add_argument("--side", default="user", help="promoters, sceptics, or your own label (default user)")
    a.add_argument("--transform", choices=["raw", "log", "rank-normal"], help="main outcome transform (default raw)")
    a.add_argument("--period", help="outcome period (default latest)")
    a.set_defaults(func=_cmd_claims)

    s = sub.add_parser("outcomes", help="add your own outcome data, and check how it joins to councils",
                       description="Your own outcome measures live in a user data folder, apart from the bundled ones, "
                       "and are added to them when you pass --user-data. Files may name councils by "
                       "local-authority-code, GSS code or name (matched by the same rules as ingest).")
    os_ = s.add_subparsers(dest="outcomes_command", required=True, metavar="COMMAND")
    a = os_.add_parser("add", help="copy an outcome file into your data folder and declare its measure",
                       description="Copy FILE (columns: council, period, value, or name yours with --council-column, "
                       "--period-column and --value-column) into DIR/outcomes/, add its measure to "
                       "DIR/measures.yaml, and report how every row joined to a council.")
    a.add_argument("file", help="CSV with a council column (code, GSS code or name), period and value")
    a.add_argument("--user-data", metavar="DIR", help="your data folder (created if missing; default $DQM_USER_DATA)")
    a.add_argument("--measure", required=True, help="an id for the measure, such as cost_per_transaction")
    a.add_argument("--name", help="the measure's name as shown in reports")
    a.add_argument("--unit", required=True, help="the unit, such as 'pounds per transaction'")
    a.add_argument("--better", required=True, choices=["higher", "lower", "neither"], help="which direction is better")
    a.add_argument("--source", help="where the data come from")
    a.add_argument("--licence", help="the data's licence")
    a.add_argument("--combine", choices=["sum", "mean", "max", "min"],
                   help="how to combine several rows for one council and period (default: they are an error)")
    a.add_argument("--council-map", metavar="CSV",
                   help="CSV with columns name,local_authority_code confirming names the matcher will not take on its "
                   "own (near spellings, names it does not know), as in dqm ingest; copied beside the file")
    a.add_argument("--council-column", metavar="HEADER",
                   help="the column naming the council, as headed in your file (default: one headed council, "
                   "local-authority-code, code, gss, name or similar)")
    a.add_argument("--period-column", metavar="HEADER",
                   help="the column giving the period, as headed in your file (default: period, year, financial_year "
                   "or date)")
    a.add_argument("--value-column", metavar="HEADER",
                   help="the column holding the values, as headed in your file, such as 'Complaints per 1,000 "
                   "residents' (default: value)")
    a.add_argument("--csv", metavar="FILE", help="also write how each row joined to this CSV")
    a.set_defaults(func=_cmd_outcomes)
    a = os_.add_parser("check", help="report how each row of your outcome files joins to councils",
                       description="Read every outcome file in your data folder and report, row by row, the rows that "
                       "did not join to a council and why.")
    a.add_argument("--user-data", metavar="DIR", help="your data folder (default $DQM_USER_DATA)")
    a.add_argument("--csv", metavar="FILE", help="write how each row joined to this CSV")
    a.set_defaults(func=_cmd_outcomes)

    s = sub.add_parser("build-outcomes", help="rebuild data/outcomes/outcomes.csv from data/sources",
                       description="Rebuild the long outcome table and its mapping log from the copied sources.")
    s.add_argument("--out", help="folder to write to (default data/outcomes)")
    s.set_defaults(func=_cmd_build_outcomes)

    s = sub.add_parser("match", help="match council names or codes to local-authority-codes",
                       description="Show how free-text council names or GSS codes match current councils: code, method, "
                       "score, status (matched, former council with successor, not a principal council, ambiguous, "
                       "no match) and suggestions. Names come from the arguments and/or --file.")
    s.add_argument("names", nargs="*", help="names or codes")
    s.add_argument("--file", help="a text file with one name a line, or a CSV (first column, or --column)")
    s.add_argument("--column", help="with a CSV --file: the column holding the names")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON list, one object per name")
    out.add_argument("--csv", metavar="FILE", help="write a CSV (use - for standard output)")
    s.set_defaults(func=_cmd_match)

    from .documents.commands import add_document_commands

    add_document_commands(sub)  # questions, pack, action-plan, handbook: the model's own documents
    return p


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


@contextlib.contextmanager
def _warnings_as_lines():
    """Within the block, dqm's own warnings (:class:`dqm.errors.DQMWarning`) print as one "Warning:" line on
    stderr, each once; any other warning is shown as before."""
    with warnings.catch_warnings():
        before, shown = warnings.showwarning, set()

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, DQMWarning):
                if str(message) not in shown:
                    shown.add(str(message))
                    print(f"Warning: {message}", file=sys.stderr if file is None else file)
            else:
                before(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def main(argv=None) -> int:
    """Run one dqm command. A user error prints one paragraph (exit 2); --debug adds the traceback."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("DQM_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]  # accepted anywhere on the line, for every subcommand
    args = build_parser().parse_args(argv)  # a bad command line: argparse prints the usage and exits with 2
    command = f"dqm {args.command}"
    try:
        _apply_limits(args)
        with _warnings_as_lines():
            return args.func(args)
    except DQMError as exc:
        if debug:
            traceback.print_exc()
        print(f"{command}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("dqm: interrupted; the store is unchanged by the interrupted ingest.", file=sys.stderr)
        return 130
    except OSError as exc:  # the machine, not dqm: a full disk, a read-only folder, a missing path
        if debug:
            traceback.print_exc()
        where = f" {exc.filename}" if exc.filename else ""
        print(f"{command}: could not read or write{where}: {exc.strerror or _short(exc)}. Check the path, its "
              "permissions and the free space, and run again.", file=sys.stderr)
        return EXIT_USER_ERROR
    except MemoryError:
        print(f"{command}: ran out of memory. Check the input files are what you meant (see data/limits.yaml for "
              "the size limits) and run again.", file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a short message, not a traceback
        if debug:
            traceback.print_exc()
        print(f"{command}: unexpected error ({_short(exc)}). This is a bug in dqm or an input it does not check "
              "yet; run the same command again with --debug to see where it happened, and report it.", file=sys.stderr)
        return EXIT_BUG


def _apply_limits(args) -> None:
    from .limits import reset_limits, set_limits

    reset_limits()  # limits given to an earlier command in the same process do not carry over
    set_limits(**{k: getattr(args, k) for k in ("max_file_mb", "max_rows", "max_cell_chars") if hasattr(args, k)})


if __name__ == "__main__":
    sys.exit(main())

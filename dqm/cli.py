"""The `dqm` command line. Every subcommand has --help. User errors print one paragraph, no traceback."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .errors import DQMError

EXIT_USER_ERROR = 2


def _cmd_demo(args) -> int:
    from .demo import write_demo

    manifest = write_demo(args.out, seed=args.seed)
    print(f"Wrote {len(manifest)} synthetic survey exports, manifest.csv and truth.yaml to {args.out}.")
    return 0


def _cmd_ingest(args) -> int:
    from .store import connect, ingest_file
    from .model import load_model

    from .reference import load_council_map

    model = load_model(args.model) if args.model else load_model()
    council_map = load_council_map(args.council_map) if args.council_map else None
    con = connect(args.store)
    results, failed = [], []
    try:
        for f in args.files:
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
    else:
        for r in results:
            print(r.summary())
            for u in r.unmatched_councils:
                label = "not a council" if u.get("method") == "refused" else "unmatched council"
                print(f"  {label} {u['text']!r}" + (f": {u['suggestions']}" if u["suggestions"] else ""))
            if any(u.get("method") == "fuzzy" for u in r.unmatched_councils):
                print("  To confirm a probable council, list the name and its code in a CSV file with columns "
                      "name,local_authority_code and ingest again with --council-map FILE.")
        for f in failed:
            print(f"Could not ingest {f['error']}", file=sys.stderr)
    return EXIT_USER_ERROR if failed else 0


def _cmd_report(args) -> int:
    from .reports import run_report

    if args.kind == "council" and args.all:
        from .reports import run_council_reports

        if args.council or args.output:
            raise DQMError("--all makes one report per council; do not also give a council code or --output.")
        done = run_council_reports(args.wave, store=args.store, out_dir=args.out_dir, pdf=args.pdf, jobs=args.jobs)
        failed = done[done["error"] != ""]
        print(f"Wrote {len(done) - len(failed)} council reports" + (f"; {len(failed)} failed (listed above)." if len(failed) else "."))
        return EXIT_USER_ERROR if len(failed) else 0
    if args.kind == "council" and not args.council:
        raise DQMError("a council report needs a council code (dqm report council CODE --wave YEAR) or --all.")
    if args.kind != "council" and args.council:
        raise DQMError(f"only the council report takes a council code, not the {args.kind} report.")
    res = run_report(args.kind, args.wave, store=args.store, out_dir=args.out_dir, output=args.output,
                     council=args.council, pdf=args.pdf)
    print(f"Wrote {res.html}" + (f" and {res.pdf}" if res.pdf else "") + f" in {res.seconds:.1f} s.")
    return 0


QUICK = {"annual": {"bootstrap": 200, "null_bootstrap": 50}, "evidence": {"bootstrap": 200, "null_bootstrap": 50,
         "check_replications": 50}, "council": {"draws": 200}, "quality": {}}


def example_council(store, wave: int) -> str:
    """The demo's example council: one with both a self and an independent assessment and the most respondents."""
    from .store import connect

    con = connect(store, read_only=True)
    try:
        row = con.execute("""
            SELECT council_code, count(*) FILTER (WHERE assessment_type = 'self') AS n,
                   bool_or(assessment_type <> 'self') AS other
            FROM submissions WHERE wave = ? AND superseded_by IS NULL
            GROUP BY council_code HAVING n > 0 ORDER BY other DESC, n DESC, council_code LIMIT 1""", [wave]).fetchall()
    finally:
        con.close()
    return row[0][0]


def _cmd_score(args) -> int:
    import pandas as pd

    from .model import load_model
    from .scoring import council_scores
    from .store import load

    model = load_model()
    data = load(args.store, wave=args.wave, model=model)
    if data.answers.empty:
        raise DQMError(f"the store has no submissions for wave {args.wave}.", file=args.store)
    scores = council_scores(data.councils, data.answers, model, args.wave, n_draws=args.draws, seed=args.seed)
    if args.out:
        scores.to_csv(args.out, index=False)
        print(f"Wrote scores for {len(scores)} councils to {args.out}.")
    elif args.json:
        print(scores.to_json(orient="records", indent=2))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200):
            print(scores.round(2).to_string(index=False))
    return 0


def _cmd_claims(args) -> int:
    from .claims import EngineConfig, evaluate_claims, load_claims, results_json, results_table
    from .model import load_model
    from .outcomes import load_measures, load_outcomes
    from .store import load

    model = load_model()
    outcomes = load_outcomes(args.outcomes) if args.outcomes else load_outcomes()
    measures = list(load_measures()["id"]) + sorted(set(outcomes["measure"]))
    claims = load_claims(args.claims, dimension_ids=model.dimension_ids, measure_ids=measures)
    data = load(args.store, model=model)
    if not (data.councils["wave"] == args.wave).any():
        raise DQMError(f"the store has no submissions for wave {args.wave}.", file=args.store or "the default store")
    cfg = EngineConfig(n_boot=args.bootstrap, n_null_boot=args.null_bootstrap, seed=args.seed)
    results = evaluate_claims(claims, data.councils, outcomes, model, args.wave, cfg)
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


def _cmd_match(args) -> int:
    from .reference import match_council

    for text in args.names:
        m = match_council(text)
        if m.code:
            print(f"{text!r} -> {m.code} ({m.name}; {m.method})")
        else:
            sugg = "; ".join(f"{n} ({c})" for c, n in m.suggestions)
            print(f"{text!r} -> no match. {m.note}" + (f" Nearest: {sugg}." if sugg else ""))
    return 0


def _cmd_run(args) -> int:
    """The main job: ingest the bundled demo exports into a fresh store and build the reports."""
    import pandas as pd

    from .paths import clear_run_store, demo_dir, mark_run_store, output_folder, reports_dir
    from .reports import run_report
    from .store import connect, ingest_files

    exports = Path(args.exports) if args.exports else demo_dir() / "exports"
    out_dir = Path(args.out_dir) if args.out_dir else reports_dir()
    store = Path(args.store) if args.store else out_dir / "_build" / "demo.duckdb"
    manifest_path = exports / "manifest.csv"
    if not manifest_path.exists():
        raise DQMError("no manifest.csv; it lists each export's wave and assessment type.", file=manifest_path,
                       hint="Run `dqm demo --out DIR` to make one, or pass --exports.")
    manifest = pd.read_csv(manifest_path)
    output_folder(out_dir)
    store.parent.mkdir(parents=True, exist_ok=True)
    clear_run_store(store, default=not args.store)  # the main job rebuilds its store every time, but only its own
    connect(store).close()
    mark_run_store(store)  # marked before any ingest, so that a killed run's store can be rebuilt next time
    for r in manifest.itertuples():
        for res in ingest_files([exports / r.file], wave=int(r.wave), store=store, assessment_type=r.assessment_type):
            print(res.summary())
    wave = int(args.wave or manifest["wave"].max())
    council = args.council or example_council(store, wave)
    for kind in ("quality", "annual", "council", "evidence"):
        res = run_report(kind, wave, store=store, out_dir=out_dir, council=council if kind == "council" else None,
                         pdf=kind != "quality", extra=QUICK[kind] if args.quick else None)
        print(f"Wrote {res.html}" + (f" and {res.pdf}" if res.pdf else "") + f" in {res.seconds:.1f} s.")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="dqm", description="DQM evidence workbook: ingest Digital Quality Model "
                                "assessments, score them and publish reports.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("run", help="run the main job on the bundled demo data (ingest, then build reports)",
                       description="Ingest the bundled synthetic demo exports into a fresh store and build the "
                       "data quality report, the State of Digital report, an example council benchmark and the "
                       "evidence review into reports/ (HTML, and PDF for the three publications).")
    s.add_argument("--exports", help="folder of exports with a manifest.csv (default data/demo/exports)")
    s.add_argument("--store", help="store to (re)build (default reports/_build/demo.duckdb)")
    s.add_argument("--out-dir", help="output folder (default reports/)")
    s.add_argument("--wave", type=int, help="wave to report on (default the latest in the manifest)")
    s.add_argument("--council", help="council code for the example council report (default: chosen from the data)")
    s.add_argument("--quick", action="store_true",
                   help="fewer bootstrap and simulation replications (for tests; figures are less precise)")
    s.set_defaults(func=_cmd_run)

    s = sub.add_parser("demo", help="write synthetic survey exports for three waves",
                       description="Write synthetic (clearly labelled) survey exports shaped like Microsoft Forms "
                       "and Google Forms exports for waves 2024 to 2026, with manifest.csv and the planted truth.")
    s.add_argument("--out", required=True, help="folder to write to")
    s.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")
    s.set_defaults(func=_cmd_demo)

    s = sub.add_parser("ingest", help="ingest survey exports (CSV or XLSX) into the store",
                       description="Read survey exports, map columns and answers to the quality model, and store "
                       "them; rows that cannot be used are quarantined with a reason. Re-ingesting a file changes nothing.")
    s.add_argument("files", nargs="+", type=Path, help="CSV or XLSX exports")
    s.add_argument("--wave", type=int, required=True, help="assessment year, e.g. 2026")
    s.add_argument("--store", help="DuckDB store (default data/dqm.duckdb)")
    s.add_argument("--assessment-type", default="self", choices=["self", "peer", "independent"],
                   help="type of assessment in these files (a column in the file overrides it per row)")
    s.add_argument("--shape", choices=["msforms", "googleforms", "smartsurvey", "jisc", "qualtrics", "generic"],
                   help="force the survey tool shape instead of detecting it")
    s.add_argument("--sheet", help="XLSX sheet to read (default the first)")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.add_argument("--council-map", metavar="CSV",
                   help="CSV with columns name,local_authority_code confirming council names the matcher will not "
                   "take on its own (near spellings, names it does not know)")
    s.add_argument("--json", action="store_true", help="print one JSON object per file")
    s.set_defaults(func=_cmd_ingest)

    s = sub.add_parser("report", help="build a report from the store",
                       description="Execute a report notebook with papermill and export it to HTML (and PDF with --pdf).")
    s.add_argument("kind", choices=["annual", "council", "evidence", "quality"],
                   help="annual: State of Digital; council: one council's benchmark; evidence: evidence review of the "
                   "claims; quality: data quality (for analysts)")
    s.add_argument("council", nargs="?", help="council code (local-authority-code, e.g. BST), for the council report")
    s.add_argument("--pdf", action="store_true", help="also write a PDF (WeasyPrint, tagged PDF/UA-1)")
    s.add_argument("--all", action="store_true", help="council report: one for every council that took part in the wave")
    s.add_argument("--jobs", type=int, default=2, help="with --all: reports built at the same time (default 2)")
    s.add_argument("--wave", type=int, required=True, help="assessment year")
    s.add_argument("--store", help="DuckDB store (default data/dqm.duckdb)")
    s.add_argument("--out-dir", help="output folder (default reports/)")
    s.add_argument("--output", help="output file name inside the output folder")
    s.set_defaults(func=_cmd_report)

    s = sub.add_parser("score", help="council scores with Monte Carlo score and rank intervals",
                       description="Score every council for a wave (self-assessments): overall level under the "
                       "model's rule, and the median and 5th-95th percentile score and rank over a Monte Carlo of "
                       "defensible choices. Names councils: for analysts, not for publication.")
    s.add_argument("--wave", type=int, required=True, help="assessment year")
    s.add_argument("--store", help="DuckDB store (default data/dqm.duckdb)")
    s.add_argument("--draws", type=int, default=1000, help="Monte Carlo draws (default 1000)")
    s.add_argument("--seed", type=int, default=20261122, help="Monte Carlo seed")
    out = s.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print JSON records")
    out.add_argument("--out", help="write a CSV file")
    s.set_defaults(func=_cmd_score)

    s = sub.add_parser("claims", help="test the pre-registered benefit claims against outcome data",
                       description="Test every claim in the registry (data/claims.yaml) against the outcome data, "
                       "with robust effects, equivalence tests, Holm adjustment, a specification curve and a verdict.")
    s.add_argument("--wave", type=int, required=True, help="assessment year whose levels are the exposure")
    s.add_argument("--store", help="DuckDB store (default data/dqm.duckdb)")
    s.add_argument("--claims", help="claims registry YAML (default data/claims.yaml)")
    s.add_argument("--outcomes", help="outcome table CSV (default data/outcomes/outcomes.csv)")
    s.add_argument("--bootstrap", type=int, default=2000, help="BCa bootstrap resamples (default 2000)")
    s.add_argument("--null-bootstrap", type=int, default=500,
                   help="resamples for the specification curve's joint test (default 500)")
    s.add_argument("--seed", type=int, default=20261122, help="random seed")
    s.add_argument("--json", action="store_true", help="print a JSON list, one object per claim")
    s.set_defaults(func=_cmd_claims)

    s = sub.add_parser("build-outcomes", help="rebuild data/outcomes/outcomes.csv from data/sources",
                       description="Rebuild the long outcome table and its mapping log from the copied sources.")
    s.add_argument("--out", help="folder to write to (default data/outcomes)")
    s.set_defaults(func=_cmd_build_outcomes)

    s = sub.add_parser("match", help="match council names or codes to local-authority-codes",
                       description="Show how free-text council names or GSS codes match current councils.")
    s.add_argument("names", nargs="+", help="names or codes")
    s.set_defaults(func=_cmd_match)

    from .documents.commands import add_document_commands

    add_document_commands(sub)  # questions, pack, action-plan, handbook: the model's own documents
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except DQMError as exc:
        print(f"dqm {args.command}: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:  # output piped into `head` and the like
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("dqm: interrupted; the store is unchanged by the interrupted ingest.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `dqm` subcommands that make the model's documents: questions, pack, action-plan, handbook."""
from __future__ import annotations

import sys


def _model(args):
    from ..model import load_model

    return load_model(args.model) if getattr(args, "model", None) else load_model()


def _cmd_questions(args) -> int:
    from ..paths import output_file, write_atomic
    from .questions import questions_csv, questions_markdown

    if args.out:
        output_file(args.out, "questions file")  # checked before the work
    text = (questions_csv if args.format == "csv" else questions_markdown)(_model(args))
    if args.out:
        write_atomic(args.out, text, "questions file")
        print(f"Wrote the survey questions to {args.out}.")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_pack(args) -> int:
    from .pack import write_pack

    model = _model(args)
    out = write_pack(args.out, model, args.wave, council=args.council, assessment_type=args.assessment_type)
    print(f"Wrote the assessment pack and calculator for {model.id} version {model.version} "
          f"({len(model.dimension_ids)} dimensions) to {out}.")
    return 0


def _cmd_action_plan(args) -> int:
    from .actions import load_actions, write_action_plan

    model = _model(args)
    library = load_actions(model, args.actions)
    out = write_action_plan(args.out, args.council, args.wave, store=args.store, model=model, library=library)
    gaps = f" The action library has no actions for {len(library.gaps)} steps of this model." if library.gaps else ""
    print(f"Wrote the action plan for {args.council}, {args.wave}, to {out}.{gaps}")
    return 0


def _cmd_handbook(args) -> int:
    from ..paths import reports_dir
    from .handbook import write_handbook

    html, pdf = write_handbook(args.out_dir or reports_dir(), _model(args), pdf=args.pdf)
    print(f"Wrote {html}" + (f" and {pdf}" if pdf else "") + ".")
    return 0


def add_document_commands(sub) -> None:
    """Register the document subcommands on the `dqm` parser's subparsers."""
    from ..argtypes import year

    s = sub.add_parser("questions", help="print the survey questions and answer options for a survey tool",
                       description="Print the exact question texts and answer options, in order, for setting up "
                       "Microsoft Forms, Google Forms or another survey tool, so that its export ingests without "
                       "renaming any column.")
    s.add_argument("--format", choices=["csv", "md"], default="md", help="csv (one row per question) or md (default)")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.add_argument("--out", help="write to this file instead of printing")
    s.set_defaults(func=_cmd_questions)

    s = sub.add_parser("pack", help="write the assessment pack and calculator (XLSX) for a council to fill in",
                       description="Write an Excel workbook generated from the model: a cover sheet, one row per "
                       "dimension with the level descriptors side by side, drop-downs for the current and target "
                       "level, an evidence cell, and a calculator whose formulas give the overall level by the "
                       "model's rule and the gaps to target. A filled pack is read back by `dqm ingest`.")
    s.add_argument("--council", help="local-authority-code of the council (pre-fills its name)")
    s.add_argument("--assessment-type", choices=["self", "peer", "independent"], help="pre-fill the assessment type")
    s.add_argument("--wave", type=year, required=True, help="assessment year, e.g. 2026 (2000 to 2100)")
    s.add_argument("--out", required=True, help="output file (.xlsx)")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.set_defaults(func=_cmd_pack)

    s = sub.add_parser("action-plan", help="write a council's pre-filled action plan (XLSX) from the action library",
                       description="Write an action plan for one council: for each dimension, its current and target "
                       "level from its self-assessment and the library's actions for each step up to the target, "
                       "with owner, due date and status columns to fill in.")
    s.add_argument("council", help="council code (local-authority-code, e.g. BST)")
    s.add_argument("--wave", type=year, required=True, help="assessment year (2000 to 2100)")
    s.add_argument("--store", help="DuckDB store (default data/dqm.duckdb)")
    s.add_argument("--out", required=True, help="output file (.xlsx)")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.add_argument("--actions", help="action library YAML (default data/actions.yaml)")
    s.set_defaults(func=_cmd_action_plan)

    s = sub.add_parser("handbook", help="write the model handbook (HTML, and PDF with --pdf)",
                       description="Render the quality model as an accessible handbook: the steps of an assessment, "
                       "the levels, and each dimension with its descriptors per level, points to consider and survey "
                       "questions, with provisional dimensions marked. Written to the reports folder as "
                       "dqm-handbook-VERSION.html.")
    s.add_argument("--model", help="quality model YAML (default data/model/dqm.yaml)")
    s.add_argument("--pdf", action="store_true", help="also write a PDF (WeasyPrint, tagged PDF/UA-1)")
    s.add_argument("--out-dir", help="output folder (default reports/)")
    s.set_defaults(func=_cmd_handbook)

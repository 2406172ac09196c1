"""The survey questions, in order, with their answer options: what to type into Microsoft Forms,
Google Forms or any other tool so that its export is ingested without renaming a column.

>>> from dqm.model import load_model
>>> q = survey_questions(load_model())
>>> q.loc[q["id"] == "leadership", "options"].iloc[0][:2]
['1 - Passive', '2 - Developing']
"""
from __future__ import annotations

import pandas as pd

from ..model import Model

DONT_KNOW = "Don't know"
ASSESSMENT_TYPE_OPTIONS = ["Self", "Peer", "Independent"]


def level_options(model: Model) -> list[str]:
    """Answer options for a level question: "3 - Impactful" and so on (ingest reads these as levels)."""
    return [f"{v} - {model.level_name(v)}" for v in model.level_values]


def survey_questions(model: Model) -> pd.DataFrame:
    """One row per question, in survey order: id, question, answer_type, required, options, help."""
    meta = model.metadata_questions
    rows = [
        {"id": "council", "question": meta["council"]["question"], "answer_type": "text", "required": True,
         "options": [], "help": "The council's full name (for example Bristol City Council) or its GSS code."},
    ]
    if "respondent_role" in meta:
        rows.append({"id": "respondent_role", "question": meta["respondent_role"]["question"], "answer_type": "text",
                     "required": False, "options": [], "help": "Your job title."})
    if "assessment_type" in meta:
        rows.append({"id": "assessment_type", "question": meta["assessment_type"]["question"], "answer_type": "choice",
                     "required": False, "options": ASSESSMENT_TYPE_OPTIONS,
                     "help": "Leave out of the form if every response is of one type; say which at ingest."})
    levels = level_options(model)
    for d in model.dimensions.itertuples():
        desc = model.descriptors[model.descriptors["dimension_id"] == d.id]
        guide = " ".join(f"{r.level} {model.level_name(r.level)}: {r.descriptor}" for r in desc.itertuples())
        rows += [
            {"id": d.id, "question": d.question, "answer_type": "choice", "required": True,
             "options": levels + [DONT_KNOW], "help": guide},
            {"id": f"{d.id}_target", "question": d.target_question, "answer_type": "choice", "required": False,
             "options": levels, "help": ""},
            {"id": f"{d.id}_evidence", "question": d.evidence_question, "answer_type": "long text",
             "required": False, "options": [], "help": "Documents, decisions or measures that show the level."},
        ]
    out = pd.DataFrame(rows)
    out.insert(0, "order", range(1, len(out) + 1))
    return out


def questions_csv(model: Model) -> str:
    """The questions as CSV: options separated by " | " in one cell (text under :mod:`dqm.cells`' rule)."""
    from ..cells import csv_rows

    q = survey_questions(model)
    rows = [["order", "id", "question", "answer_type", "required", "options", "help"]]
    rows += [[r.order, r.id, r.question, r.answer_type, "yes" if r.required else "no", " | ".join(r.options), r.help]
             for r in q.itertuples()]
    return csv_rows(rows)


def questions_markdown(model: Model) -> str:
    """The questions as a Markdown checklist for whoever builds the form."""
    q = survey_questions(model)
    lines = [f"# Survey questions: {model.id} version {model.version}", "",
             "Type each question exactly as written (numbering such as \"3.\" in front is fine) and offer the "
             "answer options exactly as listed, in this order. The export then ingests without renaming.", ""]
    for r in q.itertuples():
        need = "required" if r.required else "optional"
        lines.append(f"{r.order}. **{r.question}** ({r.answer_type}, {need})")
        for o in r.options:
            lines.append(f"    - {o}")
        if r.help:
            lines.append(f"    - *Help text:* {r.help}")
    return "\n".join(lines) + "\n"

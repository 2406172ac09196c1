"""The model's own documents: survey questions, assessment pack and calculator, action plan, handbook."""
from __future__ import annotations

import csv
import io
import subprocess
import sys

import pandas as pd

from dqm.documents.questions import questions_csv, survey_questions
from dqm.store import connect, ingest_file, load


def test_questions_export_ingests_without_renaming(tmp_path, model):
    """A form set up from `dqm questions` exports columns that are exactly the question texts."""
    q = survey_questions(model)
    opts = dict(zip(q["id"], q["options"]))
    answers = {"council": "Bristol City Council", "respondent_role": "Head of Digital", "assessment_type": "Peer"}
    for i, d in enumerate(model.dimension_ids):
        answers[d] = opts[d][i % 5] if i != 3 else "Don't know"
        answers[f"{d}_target"] = opts[f"{d}_target"][4]
        answers[f"{d}_evidence"] = f"Evidence for {d}, <b>bold</b>"
    path = tmp_path / "form.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["Timestamp", *q["question"]])
        w.writerow(["10/03/2026 10:00:00", *[answers[i] for i in q["id"]]])
    con = connect(tmp_path / "s.duckdb")
    res = ingest_file(con, path, 2026, model=model)
    con.close()
    assert (res.stored, res.rejected, res.ignored_columns) == (1, 0, [])
    a = load(tmp_path / "s.duckdb", 2026, model).answers.set_index("dimension_id")
    assert a.loc["leadership", "level"] == 1 and a.loc["strategy", "level"] == 2
    assert pd.isna(a.loc["capacity", "level"]) and a.loc["capacity", "level_status"] == "dont_know"
    assert (a["target_level"] == 5).all() and a.loc["data", "evidence"] == "Evidence for data, <b>bold</b>"
    assert (a["assessment_type"] == "peer").all()


def test_questions_cli_csv_and_md(model):
    out = subprocess.run([sys.executable, "-m", "dqm.cli", "questions", "--format", "csv"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert out.stdout == questions_csv(model)
    assert [r["question"] for r in rows[:1]] == [model.metadata_questions["council"]["question"]]
    assert rows[3]["options"] == "1 - Passive | 2 - Developing | 3 - Impactful | 4 - Mainstreamed | 5 - Transformative | Don't know"
    assert len(rows) == 3 + 3 * len(model.dimension_ids)
    md = subprocess.run([sys.executable, "-m", "dqm.cli", "questions", "--format", "md"], capture_output=True, text=True)
    assert md.returncode == 0 and "**Leadership: which level best describes your council today?**" in md.stdout

"""Shared fixtures: the model and small survey exports in every shape (the demo store is in ../conftest.py)."""
from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook

from dqm.model import load_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def model():
    return load_model()


@pytest.fixture(scope="session")
def demo_truth(demo_exports) -> dict:
    return yaml.safe_load((demo_exports / "truth.yaml").read_text())


class Survey:
    """Build small survey exports: rows of answers to the model's questions, written in any tool's shape."""

    def __init__(self, model):
        self.model = model
        self.rows = []

    def add(self, council="Bristol, City of", email="a@example.gov.uk", name="Ann Example", role="Head of Digital",
            when=dt.datetime(2026, 3, 10, 10, 0), level="3 - Impactful", target="4 - Mainstreamed",
            evidence="Strategy agreed.", overrides=None, **extra):
        rec = {"council": council, "email": email, "name": name, "role": role, "when": when, "answers": {}}
        for _, d in self.model.dimensions.iterrows():
            rec["answers"][d["question"]] = level
            rec["answers"][d["target_question"]] = target
            rec["answers"][d["evidence_question"]] = evidence
        rec["answers"].update(overrides or {})
        rec.update(extra)
        self.rows.append(rec)
        return self

    def questions(self):
        return list(self.rows[0]["answers"]) if self.rows else []

    def _meta(self):
        m = self.model.metadata_questions
        return m["council"]["question"], m["respondent_role"]["question"]

    def googleforms(self, path, encoding="utf-8", delimiter=",", date_fmt="%d/%m/%Y %H:%M:%S"):
        cq, rq = self._meta()
        with open(path, "w", newline="", encoding=encoding) as fh:
            w = csv.writer(fh, delimiter=delimiter)
            w.writerow(["Timestamp", "Email address", cq, rq, *self.questions()])
            for r in self.rows:
                w.writerow([r["when"].strftime(date_fmt), r["email"], r["council"], r["role"],
                            *[r["answers"][q] for q in self.questions()]])
        return path

    def msforms(self, path, sheet="Sheet1"):
        cq, rq = self._meta()
        wb = Workbook()
        ws = wb.active
        ws.title = sheet
        ws.append(["ID", "Start time", "Completion time", "Email", "Name", cq, rq, *self.questions()])
        for i, r in enumerate(self.rows, 1):
            ws.append([i, r["when"] - dt.timedelta(minutes=9), r["when"], r["email"], r["name"], r["council"], r["role"],
                       *[r["answers"][q] for q in self.questions()]])
        wb.save(path)
        return path

    def smartsurvey(self, path, second_header=True):
        cq, rq = self._meta()
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["UserID", "Name", "Email", "IP Address", "Started", "Ended", cq, rq, *self.questions()])
            if second_header:
                w.writerow(["", "", "", "", "", "", "Response", "Response", *["Response"] * len(self.questions())])
            for i, r in enumerate(self.rows, 1):
                w.writerow([1000 + i, r["name"], r["email"], "10.0.0.1", r["when"].strftime("%d/%m/%Y %H:%M"),
                            r["when"].strftime("%d/%m/%Y %H:%M"), r["council"], r["role"],
                            *[r["answers"][q] for q in self.questions()]])
        return path

    def jisc(self, path):
        cq, rq = self._meta()
        qs = self.questions()
        with open(path, "w", newline="", encoding="utf-8-sig") as fh:
            w = csv.writer(fh)
            w.writerow(["Response ID", "Start date", "Completion date", f"1. {cq}", f"2. {rq}",
                        *[f"{3 + i}. {q}" for i, q in enumerate(qs)]])
            for i, r in enumerate(self.rows, 1):
                w.writerow([i, r["when"].strftime("%Y-%m-%d %H:%M:%S"), r["when"].strftime("%Y-%m-%d %H:%M:%S"),
                            r["council"], r["role"], *[r["answers"][q] for q in qs]])
        return path

    def qualtrics(self, path, import_row=True):
        cq, rq = self._meta()
        qs = self.questions()
        meta = ["StartDate", "EndDate", "Status", "IPAddress", "Progress", "Duration (in seconds)", "Finished",
                "RecordedDate", "ResponseId", "RecipientLastName", "RecipientFirstName", "RecipientEmail"]
        qids = [f"Q{i + 1}" for i in range(len(qs) + 2)]
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(meta + qids)
            w.writerow(["Start Date", "End Date", "Response Type", "IP Address", "Progress", "Duration (in seconds)",
                        "Finished", "Recorded Date", "Response ID", "Recipient Last Name", "Recipient First Name",
                        "Recipient Email", cq, rq, *qs])
            if import_row:
                w.writerow([f'{{"ImportId":"{m.lower()}"}}' for m in meta] + [f'{{"ImportId":"QID{i + 1}"}}' for i in range(len(qids))])
            for i, r in enumerate(self.rows, 1):
                ts = r["when"].strftime("%Y-%m-%d %H:%M:%S")
                last, first = (r["name"].split(" ", 1) + [""])[:2][::-1]
                w.writerow([ts, ts, "IP Address", "10.0.0.1", "100", "300", "True", ts, f"R_{i:05d}", last, first,
                            r["email"], r["council"], r["role"], *[r["answers"][q] for q in qs]])
        return path


@pytest.fixture
def survey(model):
    return Survey(model)


# the tests never read a user data folder from the environment of whoever runs them
os.environ.pop("DQM_USER_DATA", None)


@pytest.fixture(scope="session")
def small_store(tmp_path_factory, model):
    """Three councils in wave 2026 (York answers only 7 dimensions, so has no overall score), for the batch's
    tests; read only (a test that changes a store changes a copy)."""
    from dqm.store import ingest_files

    tmp = tmp_path_factory.mktemp("batch")
    s = Survey(model)
    s.add(council="Bristol, City of", email="a@bristol.gov.uk")
    s.add(council="Kingston upon Thames", email="b@kingston.gov.uk", level="2 - Developing")
    s.add(council="York", email="c@york.gov.uk", overrides={q: "" for q in model.dimensions["question"].iloc[:3]})
    store = tmp / "s.duckdb"
    ingest_files([s.googleforms(tmp / "e.csv")], wave=2026, store=store)
    return store

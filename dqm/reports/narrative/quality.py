"""Words of the data quality report.
"""
from __future__ import annotations

import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)
from .words import number


def ingest_table(ingests: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({
        "File": ingests["file_name"], "Tool": ingests["shape"], "Assessment": ingests["assessment_type"],
        "Rows read": ingests["rows_read"].map(number), "Stored": ingests["stored"].map(number),
        "Superseded": ingests["superseded"].map(number), "Quarantined": ingests["rejected"].map(number),
        "Blank rows": ingests["blank_rows"].map(number),
        "Columns not used": ingests["ignored_columns"].fillna("").replace("", "none"),
    })


def accounting_sentence(ingests: "pd.DataFrame") -> str:
    r, s, sup, q = (int(ingests[c].sum()) for c in ("rows_read", "stored", "superseded", "rejected"))
    ok = "All rows are accounted for." if r == s + sup + q else "ROWS ARE MISSING: investigate before using the data."
    return (f"{number(r)} rows were read from {number(len(ingests))} files: {number(s)} stored, {number(sup)} superseded "
            f"by a later submission from the same respondent and {number(q)} quarantined. {ok}")


def reason_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    if rejects.empty:
        return pd.DataFrame({"Reason": ["none"], "Rows": ["0"]})
    g = rejects.groupby("reason").size().sort_values(ascending=False)
    return pd.DataFrame({"Reason": g.index, "Rows": g.map(number).to_numpy()})


def reject_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    return pd.DataFrame({"File": rejects["file_name"], "Row": rejects["source_row"].map(number),
                         "Reason": rejects["reason"], "Detail": rejects["detail"].str.slice(0, 300)})


def unmatched_table(rejects: "pd.DataFrame") -> "pd.DataFrame":
    u = rejects[rejects["reason"] == "unknown council"]
    if u.empty:
        return pd.DataFrame({"Name as given": ["none"], "Rows": ["0"], "Nearest councils": ["–"]})
    text = u["detail"].str.extract(r"^'(.*)' is not a current council")[0]
    sugg = u["detail"].str.extract(r"nearest: (.*)$")[0].fillna("–")
    g = pd.DataFrame({"name": text, "sugg": sugg, "file": u["file_name"]}).groupby(["name", "sugg"], dropna=False)
    t = g.size().reset_index(name="rows")
    return pd.DataFrame({"Name as given": t["name"], "Rows": t["rows"].map(number), "Nearest councils": t["sugg"]})

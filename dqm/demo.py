"""Synthetic survey exports that behave like the real thing (SYNTHETIC DATA, for demonstration and tests).

``write_demo(out_dir, seed)`` writes, for each wave, a Microsoft Forms-shaped XLSX and a Google
Forms-shaped CSV of self-assessments, and a Google Forms-shaped CSV of independent assessments, plus
``manifest.csv`` (file, wave, assessment type, tool) and ``truth.yaml``, the planted generating
parameters and realised counts, which only validation tests read. The structure is documented in
``data/demo/README.md``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from openpyxl import Workbook

from .cells import xlsx_bytes
from .model import Model, load_model
from .paths import output_folder, reference_dir, write_atomic
from .reference import councils, match_council

WAVES = (2024, 2025, 2026)
SYNTHETIC_CELL = "Yes: demonstration data, not a real assessment"
SYNTHETIC_LABEL = "Synthetic demonstration data: these are not real council assessments."

# The planted truth. Latent maturity is on the 1-5 level scale.
PARAMS = {
    "intercept": 2.35,
    "type_effect": {
        "London borough": 0.35, "County council": 0.20, "Metropolitan borough": 0.15, "English unitary": 0.10,
        "Scottish council": 0.0, "Welsh council": -0.10, "Northern Ireland council": -0.20, "District council": -0.30,
    },
    "log_population_sd_effect": 0.20,  # per SD of log population
    "deprivation_sd_effect": -0.12,  # per SD of deprivation score
    "council_sd": 0.45,
    "dimension_offset": {
        "leadership": 0.20, "strategy": 0.15, "culture": -0.10, "capacity": -0.30, "decision_making": 0.0,
        "user_centred_services": 0.05, "data": -0.20, "technology": 0.10, "skills": -0.15, "partnerships": 0.10,
    },
    "council_dimension_sd": 0.30,
    "growth_per_wave": 0.15,
    "respondent_sd": 0.45,
    "optimism": {"self": 0.35, "independent": 0.0},
    "response_rate": 0.62,
    "response_maturity_logit_slope": 0.8,  # per SD of latent maturity: less mature councils respond less
    "respondents_per_council": {1: 0.6, 2: 0.3, 3: 0.1},
    "independent_share": 0.12,  # of responding councils that also have an independent assessment
    "resubmission_share": 0.02,  # of respondents who submit twice
    "dont_know_share": 0.02,
    "blank_answer_share": 0.01,
    "evidence_blank_share": 0.35,
    "msforms_share": 0.5,  # of councils using the Microsoft Forms survey rather than Google Forms
}
ROLES = ["Chief Digital Officer", "Head of Digital", "Head of IT", "Director of Transformation",
         "Service Manager", "Data and Insight Lead"]
EVIDENCE = [
    "Digital strategy agreed by Cabinet in {year}; quarterly reports to the corporate leadership team.",
    "Customer portal live for {n} services; usage up {p}% on last year.",
    "Some teams use agile methods & user research; others do not yet.",
    "Budget pressures mean <strong>limited</strong> capacity for change.",
    "See \"Our Digital Future\" plan (2024 to 2027), section {n}.",
    "Data warehouse in place; dashboards used by {n} service areas.",
    "=HYPERLINK(\"http://example.org\",\"evidence pack\")",
    "Shared service with neighbouring councils for IT and payroll.",
]
INVALID_ROWS = [  # (council text, what is wrong) planted once per self-assessment file
    ("Gotham City Council", "unknown council"),
    ("", "no council given"),
    ("TEST - please ignore", "unknown council"),
]


def _level_label(model: Model, value) -> str:
    return f"{int(value)} - {model.level_name(int(value))}"


def _name_variant(rng, row, variants: list[str]) -> str:
    u = rng.random()
    """(text, is_typo): how a respondent writes their council's name."""
    if u < 0.45:
        return row["official-name"], False
    if u < 0.65:
        return row["nice-name"], False
    if u < 0.85 and variants:
        return variants[rng.integers(len(variants))], False
    if u < 0.97 or len(row["nice-name"]) <= 6:
        return "  " + row["official-name"].lower() + " ", False
    name = row["nice-name"]  # a typo: swap two inner letters; the matcher should ask a human
    i = int(rng.integers(2, len(name) - 3))
    return name[:i] + name[i + 1] + name[i] + name[i + 2:], name[i] != name[i + 1]


def simulate(seed: int = 2026, model: Model | None = None) -> dict:
    """Simulate respondents' answers for all waves. Returns tidy frames and the realised truth."""
    model = model or load_model()
    rng = np.random.default_rng(seed)
    ref = councils()
    ref = ref[ref["principal"]].reset_index(drop=True)
    z = lambda s: (s - s.mean()) / s.std()
    logpop = np.log(ref["population"].fillna(ref["population"].median()))
    p = PARAMS
    latent = (p["intercept"] + ref["type_group"].map(p["type_effect"]).fillna(0.0)
              + p["log_population_sd_effect"] * z(logpop) + p["deprivation_sd_effect"] * z(ref["deprivation_score"])
              + rng.normal(0, p["council_sd"], len(ref)))
    dims = model.dimension_ids
    offsets = np.array([p["dimension_offset"].get(d, 0.0) for d in dims])
    council_dim = latent.to_numpy()[:, None] + offsets[None, :] + rng.normal(0, p["council_dimension_sd"], (len(ref), len(dims)))
    lookup = pd.read_csv(reference_dir() / "lookup_name_to_registry.csv", dtype=str, keep_default_na=False)
    variants = lookup.groupby("local-authority-code")["la-name"].apply(list).to_dict()
    tool_of = np.where(rng.random(len(ref)) < p["msforms_share"], "msforms", "googleforms")
    base_logit = np.log(p["response_rate"] / (1 - p["response_rate"]))
    zlat = z(latent).to_numpy()

    rows = []
    for w_i, wave in enumerate(WAVES):
        # calibrate the intercept so the expected response rate is as planted despite the slope
        logits = base_logit + p["response_maturity_logit_slope"] * zlat
        shift = np.log(p["response_rate"] / (1 - p["response_rate"])) - np.log(np.mean(1 / (1 + np.exp(-logits))) / (1 - np.mean(1 / (1 + np.exp(-logits)))))
        responds = rng.random(len(ref)) < 1 / (1 + np.exp(-(logits + shift)))
        for i in np.flatnonzero(responds):
            c = ref.iloc[i]
            k = rng.choice(list(p["respondents_per_council"]), p=list(p["respondents_per_council"].values()))
            assessors = [("self", j) for j in range(k)]
            if rng.random() < p["independent_share"]:
                assessors.append(("independent", 0))
            for atype, j in assessors:
                person = f"{c['local-authority-code'].lower()}{j}" if atype == "self" else f"assessor.{c['local-authority-code'].lower()}"
                council_text, typo = _name_variant(rng, c, variants.get(c["local-authority-code"], []))
                n_sub = 2 if (atype == "self" and rng.random() < p["resubmission_share"]) else 1
                start = dt.datetime(wave, 3, 1, 9) + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 80)))
                for s in range(n_sub):
                    when = start + dt.timedelta(days=int(s * rng.integers(2, 10)), minutes=int(rng.integers(5, 50)))
                    noise = rng.normal(0, p["respondent_sd"], len(dims))
                    true = council_dim[i] + w_i * p["growth_per_wave"] + p["optimism"][atype] + noise
                    levels = np.clip(np.rint(true), 1, 5).astype(int)
                    targets = np.minimum(5, levels + 1 + (rng.random(len(dims)) < 0.4)).astype(int)
                    answers = {}
                    for d_i, d in enumerate(dims):
                        u = rng.random()
                        lv = "Don't know" if u < p["dont_know_share"] else ("" if u < p["dont_know_share"] + p["blank_answer_share"] else _level_label(model, levels[d_i]))
                        answers[d] = (lv, _level_label(model, targets[d_i]),
                                      "" if rng.random() < p["evidence_blank_share"] else
                                      EVIDENCE[rng.integers(len(EVIDENCE))].format(year=wave - 1, n=int(rng.integers(2, 30)), p=int(rng.integers(2, 40))))
                    rows.append({
                        "wave": wave, "assessment_type": atype, "tool": tool_of[i] if atype == "self" else "googleforms",
                        "council_code": c["local-authority-code"], "council_text": council_text, "typo": typo,
                        "official_name": c["official-name"],
                        "respondent": person, "email": f"{person}@example.gov.uk", "name": f"Respondent {person.upper()}",
                        "role": "Independent assessor" if atype == "independent" else ROLES[rng.integers(len(ROLES))],
                        "submitted_at": when, "resubmission_of_earlier": s > 0, "answers": answers,
                        "levels": levels, "latent": float(latent.iloc[i]),
                    })
    return {"rows": rows, "councils": ref.assign(latent=latent.to_numpy()), "dimensions": dims}


def _question_columns(model: Model) -> list[tuple[str, str, int]]:
    cols = []
    for _, d in model.dimensions.iterrows():
        cols += [(d["id"], d["question"], 0), (d["id"], d["target_question"], 1), (d["id"], d["evidence_question"], 2)]
    return cols


def _records(model: Model, rows: list[dict], with_invalid: bool) -> list:
    meta = model.metadata_questions
    out = []
    for r in rows:
        rec = {meta["council"]["question"]: r["council_text"], meta["respondent_role"]["question"]: r["role"],
               meta["synthetic"]["question"]: SYNTHETIC_CELL}
        for dim, q, k in _question_columns(model):
            rec[q] = r["answers"][dim][k]
        out.append((r["submitted_at"], r["email"], r["name"], rec))
    if with_invalid:
        when = rows[0]["submitted_at"] if rows else dt.datetime(2026, 3, 1)
        for text, _ in INVALID_ROWS:
            rec = {meta["council"]["question"]: text, meta["respondent_role"]["question"]: "Tester",
                   meta["synthetic"]["question"]: SYNTHETIC_CELL}
            for _dim, q, k in _question_columns(model):
                rec[q] = "3 - Impactful" if k < 2 else ""
            out.append((when + dt.timedelta(hours=1), "tester@example.org", "Test User", rec))
        # a valid council with a level out of range in one column
        rec = dict(out[0][3])
        rec[meta["council"]["question"]] = rows[0]["official_name"]
        first_q = model.dimensions["question"].iloc[0]
        rec[first_q] = "7"
        out.append((when + dt.timedelta(hours=2), "typo@example.gov.uk", "Typo Person", rec))
    return sorted(out, key=lambda rec: rec[0])  # exports list responses in time order


def write_msforms_xlsx(path: Path, records: list) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "Sheet1"
    questions = list(records[0][3]) if records else []
    ws.append(["ID", "Start time", "Completion time", "Email", "Name", *questions])
    for i, (when, email, name, rec) in enumerate(records, start=1):
        ws.append([i, when - dt.timedelta(minutes=17), when, email, name, *[rec[q] for q in questions]])
    wb.properties.creator = "dqm demo"
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 1, 1)
    _write(path, xlsx_bytes(wb), "demo export")


def write_googleforms_csv(path: Path, records: list) -> None:
    questions = list(records[0][3]) if records else []
    fh = io.StringIO(newline="")
    w = csv.writer(fh)
    w.writerow(["Timestamp", "Email address", *questions])
    for when, email, _name, rec in records:
        w.writerow([when.strftime("%d/%m/%Y %H:%M:%S"), email, *[rec[q] for q in questions]])
    _write(path, fh.getvalue(), "demo export")


def _write(path: Path, data, what: str) -> Path:
    """Through dqm's one writer: confined to the file's own folder, atomic, no link followed."""
    return write_atomic(Path(path).name, data, what, root=Path(path).parent)


def write_demo(out_dir: str | Path, seed: int = 2026, model: Model | None = None) -> pd.DataFrame:
    """Write the demo exports, manifest.csv and truth.yaml into out_dir; returns the manifest."""
    model = model or load_model()
    out_dir = output_folder(out_dir, what="demo folder", option="--out")  # not /, home, the project or a system folder
    sim = simulate(seed, model)
    rows = pd.DataFrame(sim["rows"])
    manifest, truth_files = [], []
    for wave in WAVES:
        for atype, tool in (("self", "msforms"), ("self", "googleforms"), ("independent", "googleforms")):
            sel = rows[(rows["wave"] == wave) & (rows["assessment_type"] == atype) & (rows["tool"] == tool)]
            with_invalid = atype == "self"
            recs = _records(model, sel.to_dict("records"), with_invalid)
            ext = "xlsx" if tool == "msforms" else "csv"
            name = f"dqm-{wave}-{atype}-{tool}.{ext}"
            (write_msforms_xlsx if tool == "msforms" else write_googleforms_csv)(out_dir / name, recs)
            n_invalid = (len(INVALID_ROWS) + 1) if with_invalid else 0
            # a typo is expected to be quarantined unless the matcher confidently finds the right council;
            # a typo matched to the wrong council is counted so that tests can insist there are none
            typo_code = sel["council_text"].map(lambda t: match_council(t).code).where(sel["typo"])
            wrong = int((sel["typo"] & typo_code.notna() & (typo_code != sel["council_code"])).sum())
            lost = sel["typo"] & typo_code.isna()
            clean = sel[~lost]
            n_typo = int(lost.sum())
            n_resub = int(clean["resubmission_of_earlier"].sum())
            manifest.append({"file": name, "wave": wave, "assessment_type": atype, "tool": tool})
            truth_files.append({"file": name, "rows": len(recs), "valid_rows": int(len(sel)), "invalid_rows": n_invalid,
                                "typo_rows": int(sel["typo"].sum()), "typo_rows_unmatched": n_typo,
                                "typo_rows_matched_wrongly": wrong, "resubmissions": n_resub,
                                "expected_stored": int(len(clean)) - n_resub, "expected_superseded": n_resub,
                                "expected_rejected": n_invalid + n_typo,
                                "expected_reasons": {k: v for k, v in {
                                    "unknown council": 2 * with_invalid + n_typo, "no council given": int(with_invalid),
                                    "level out of range": int(with_invalid)}.items() if v}})
    man = pd.DataFrame(manifest)
    _write(out_dir / "manifest.csv", man.to_csv(index=False), "demo manifest")
    resp = rows[rows["assessment_type"] == "self"].groupby("wave")["council_code"].nunique()
    truth = {
        "label": SYNTHETIC_LABEL, "seed": seed, "params": PARAMS, "files": truth_files,
        "councils_responding": {int(k): int(v) for k, v in resp.items()},
        "principal_councils": int(len(sim["councils"])),
        "mean_latent_by_type": {k: round(float(v), 4) for k, v in sim["councils"].groupby("type_group")["latent"].mean().items()},
    }
    _write(out_dir / "truth.yaml", "# Planted truth of the demo generator. Only validation tests read this file.\n"
           + yaml.safe_dump(truth, sort_keys=False), "demo truth file")
    return man


def write_bulk_export(path: str | Path, n_submissions: int, seed: int = 1, wave: int = 2026,
                      model: Model | None = None) -> Path:
    """A large Google Forms-shaped CSV (all principal councils, many respondents each) for benchmarks. SYNTHETIC."""
    model = model or load_model()
    rng = np.random.default_rng(seed)
    ref = councils()
    ref = ref[ref["principal"]].reset_index(drop=True)
    meta = model.metadata_questions
    qs = _question_columns(model)
    labels = [_level_label(model, v) for v in model.level_values]
    pick = rng.integers(0, len(ref), n_submissions)
    levels = rng.integers(0, len(labels), (n_submissions, len(model.dimension_ids)))
    start = dt.datetime(wave, 3, 1)
    fh = io.StringIO(newline="")
    w = csv.writer(fh)
    w.writerow(["Timestamp", "Email address", meta["council"]["question"], meta["respondent_role"]["question"],
                meta["synthetic"]["question"], *[q for _, q, _ in qs]])
    for i in range(n_submissions):
        c = ref.iloc[pick[i]]
        answers = []
        for d_i in range(len(model.dimension_ids)):
            lv = levels[i, d_i]
            answers += [labels[lv], labels[min(lv + 1, len(labels) - 1)], EVIDENCE[(i + d_i) % len(EVIDENCE)]]
        when = start + dt.timedelta(seconds=int(i * 37))
        w.writerow([when.strftime("%d/%m/%Y %H:%M:%S"), f"person{i}@example.gov.uk", c["official-name"],
                    ROLES[i % len(ROLES)], SYNTHETIC_CELL, *[a.format(year=wave, n=3, p=5) for a in answers]])
    return _write(path, fh.getvalue(), "bulk export")

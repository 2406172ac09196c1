"""Outcome measures: build the long table from the copied sources, and load it.

``build_outcomes()`` is the reproducible script that makes ``data/outcomes/outcomes.csv``
(``local-authority-code, measure, period, value``) and ``data/outcomes/mapping_log.csv`` (every source
row that was remapped to a successor council or dropped, with the reason). Run it with
``dqm build-outcomes``; a test checks the committed files match a fresh build.

Mapping rules (why a row is kept or dropped):

* Finance (RS 2017-18) is joined on ``ecode``. It is kept only for current councils whose boundaries
  and functions are unchanged since 2017-18: rows for former councils, and for current councils
  created by merging others, are dropped, because spending of predecessors of different tiers cannot
  be added up into a successor's spending.
* Adult social care (ASC) is joined on GSS code, current or former. A former council is mapped to its
  successor only when the successor has exactly one social-care predecessor and the predecessor one
  successor (a county that became a unitary on the same footprint, such as Somerset); splits and
  merges of social-care councils are dropped.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from .errors import DQMError
from .paths import outcomes_dir, reference_dir, sources_dir

OUTCOME_COLUMNS = ["local-authority-code", "measure", "period", "value"]


def load_measures(path: str | Path | None = None) -> pd.DataFrame:
    """The outcome measures' metadata (id, name, unit, better, source, licence, period, caveats)."""
    path = Path(path) if path else outcomes_dir() / "measures.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, list):
        raise DQMError("must be a list of measures.", file=path)
    for i, m in enumerate(raw):
        for k in ("id", "name", "unit", "better", "source", "licence", "period"):
            if k not in m:
                raise DQMError(f"measure {m.get('id', i)!r} has no key {k!r}.", file=path)
        if m["better"] not in ("higher", "lower", "neither"):
            raise DQMError(f"measure {m['id']!r}: 'better' must be higher, lower or neither.", file=path)
    return pd.DataFrame(raw)


def load_outcomes(path: str | Path | None = None) -> pd.DataFrame:
    """The long outcome table; bring your own by passing a CSV with the same four columns."""
    path = Path(path) if path else outcomes_dir() / "outcomes.csv"
    df = pd.read_csv(path, dtype={"local-authority-code": str, "measure": str, "period": str})
    missing = [c for c in OUTCOME_COLUMNS if c not in df.columns]
    if missing:
        raise DQMError(f"missing column(s) {', '.join(missing)}; an outcome file needs {', '.join(OUTCOME_COLUMNS)}.",
                       file=path)
    return df[OUTCOME_COLUMNS]


def _registry() -> pd.DataFrame:
    return pd.read_csv(reference_dir() / "uk_local_authorities_current.csv", dtype=str, keep_default_na=False)


def _finance(measures: pd.DataFrame, reg: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    src = sources_dir() / "england_revenue_outturn_2017_18" / "rs_2017_18_net_current_expenditure_by_la.csv"
    rs = pd.read_csv(src, dtype=str, keep_default_na=False)
    rs = rs[rs["class"] != "O"]  # police, fire, parks and other bodies are not councils
    current = reg[reg["current-authority"] == "True"]
    merged_into = {c.strip() for r in reg["replaced-by"] for c in r.split(",") if c.strip()}
    by_ecode = reg[reg["ecode"] != ""].set_index("ecode")
    pop = pd.to_numeric(current.set_index("local-authority-code")["pop-2020"], errors="coerce")
    log, rows = [], []
    fin = measures[measures["source_column"].notna()] if "source_column" in measures else measures.iloc[:0]
    for _, r in rs.iterrows():
        base = {"source": "RS 2017-18", "source_key": r["ecode"], "source_name": r["local_authority"]}
        if r["ecode"] not in by_ecode.index:
            log.append({**base, "action": "dropped", "local-authority-code": "", "reason": "ecode not in the council registry"})
            continue
        reg_row = by_ecode.loc[r["ecode"]]
        code = reg_row["local-authority-code"]
        if reg_row["current-authority"] != "True":
            heirs = reg_row["replaced-by"] or "unknown"
            log.append({**base, "action": "dropped", "local-authority-code": code,
                        "reason": f"former council (replaced by {heirs}); 2017-18 boundaries do not match a current council"})
            continue
        if code in merged_into:
            log.append({**base, "action": "dropped", "local-authority-code": code,
                        "reason": "council absorbed others after 2017-18; its 2017-18 spending covers a different area or set of functions"})
            continue
        if not pop.get(code, 0) > 0:
            log.append({**base, "action": "dropped", "local-authority-code": code, "reason": "no population to divide by"})
            continue
        for _, m in fin.iterrows():
            value = pd.to_numeric(r[m["source_column"]], errors="coerce")
            if pd.isna(value):
                log.append({**base, "action": "dropped", "local-authority-code": code,
                            "reason": f"{m['source_column']} is not a number ({r[m['source_column']]!r})"})
                continue
            rows.append({"local-authority-code": code, "measure": m["id"], "period": "2017-18",
                         "value": round(float(value) * 1000.0 / float(pop[code]), 4)})
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS), log


def _social_care(measures: pd.DataFrame, reg: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    src = sources_dir() / "oflog_adult_social_care_outcomes" / "asc_outcomes_2015_16_to_2022_23.csv"
    asc = pd.read_csv(src, dtype=str, keep_default_na=False)
    gss = pd.read_csv(reference_dir() / "lookup_gss_to_registry.csv", dtype=str, keep_default_na=False)
    gss_map = dict(zip(gss["gss-code"], gss["local-authority-code"]))
    status = dict(zip(reg["local-authority-code"], reg["current-authority"]))
    replaced = dict(zip(reg["local-authority-code"], reg["replaced-by"]))
    code_of_measure = {m["source_code"]: m["id"] for _, m in measures.iterrows() if isinstance(m.get("source_code"), str)}
    asc_codes = {gss_map.get(g) for g in asc["Local authority code"].unique()}
    # successor -> social-care predecessors, to detect merges
    preds: dict[str, set] = {}
    for c in asc_codes:
        if c and status.get(c) != "True":
            for h in filter(None, replaced.get(c, "").split(",")):
                preds.setdefault(h, set()).add(c)
    log, rows = [], []
    for (gss_code, name), grp in asc.groupby(["Local authority code", "Local authority name"], sort=True):
        base = {"source": "Oflog ASC", "source_key": gss_code, "source_name": name}
        code = gss_map.get(gss_code)
        if code is None:
            log.append({**base, "action": "dropped", "local-authority-code": "", "reason": "GSS code not in the registry"})
            continue
        target = code
        if status.get(code) != "True":
            heirs = [h for h in replaced.get(code, "").split(",") if h]
            if len(heirs) != 1:
                log.append({**base, "action": "dropped", "local-authority-code": code,
                            "reason": f"former council split between {', '.join(heirs) or 'unknown successors'}"})
                continue
            if len(preds.get(heirs[0], ())) != 1:
                log.append({**base, "action": "dropped", "local-authority-code": code,
                            "reason": f"successor {heirs[0]} merged several social-care councils ({', '.join(sorted(preds[heirs[0]]))})"})
                continue
            target = heirs[0]
            log.append({**base, "action": "remapped", "local-authority-code": target,
                        "reason": f"former council {code} mapped to its single successor {target} (same social-care footprint)"})
        for _, r in grp.iterrows():
            measure = code_of_measure.get(r["Code"])
            value = pd.to_numeric(r["Value"], errors="coerce")
            if measure is None or pd.isna(value):
                log.append({**base, "action": "dropped", "local-authority-code": target,
                            "reason": f"{r['Code']} {r['Financial year']}: " + ("measure not used" if measure is None else f"value {r['Value']!r} is not a number")})
                continue
            rows.append({"local-authority-code": target, "measure": measure, "period": r["Financial year"], "value": float(value)})
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    dup = out.duplicated(["local-authority-code", "measure", "period"], keep=False)
    if dup.any():  # a successor with its own data and a remapped predecessor in the same year: keep neither
        for _, r in out[dup].drop_duplicates(["local-authority-code", "measure", "period"]).iterrows():
            log.append({"source": "Oflog ASC", "source_key": "", "source_name": "", "action": "dropped",
                        "local-authority-code": r["local-authority-code"],
                        "reason": f"{r['measure']} {r['period']}: two source rows map to one council"})
        out = out[~dup]
    return out, log


def build_outcomes(out_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild outcomes.csv and mapping_log.csv from data/sources; returns (outcomes, log)."""
    out_dir = Path(out_dir) if out_dir else outcomes_dir()
    measures = load_measures()
    reg = _registry()
    fin, log1 = _finance(measures, reg)
    asc, log2 = _social_care(measures, reg)
    outcomes = (pd.concat([fin, asc], ignore_index=True)
                .sort_values(["measure", "period", "local-authority-code"]).reset_index(drop=True))
    log = pd.DataFrame(log1 + log2, columns=["source", "source_key", "source_name", "action", "local-authority-code", "reason"])
    out_dir.mkdir(parents=True, exist_ok=True)
    outcomes.to_csv(out_dir / "outcomes.csv", index=False)
    log.to_csv(out_dir / "mapping_log.csv", index=False)
    return outcomes, log

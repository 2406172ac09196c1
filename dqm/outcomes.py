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

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .errors import DQMError
from .limits import cell_cap, csv_field_limit, read_file
from .paths import outcomes_dir, reference_dir, sources_dir
from .reference import not_a_council, only_councils, principal_councils
from .yamlio import load_yaml

OUTCOME_COLUMNS = ["local-authority-code", "measure", "period", "value"]


def load_measures(path: str | Path | None = None) -> pd.DataFrame:
    """The outcome measures' metadata (id, name, unit, better, source, licence, period, caveats)."""
    path = Path(path) if path else outcomes_dir() / "measures.yaml"
    raw = load_yaml(path, what="measures file")
    if not isinstance(raw, list) or not raw:
        raise DQMError("the measures file must be a list of measures, each with id, name, unit, better, source, "
                       "licence and period.", file=path)
    seen = set()
    for i, m in enumerate(raw):
        if not isinstance(m, dict):
            raise DQMError(f"measure #{i + 1} must be a mapping of keys (id, name, unit, ...).", file=path)
        label = m.get("id") if isinstance(m.get("id"), str) else f"#{i + 1}"
        for k in ("id", "name", "unit", "better", "source", "licence", "period"):
            if k not in m:
                raise DQMError(f"measure {label!r} has no key {k!r}.", file=path)
        if not isinstance(m["id"], str) or not m["id"].strip():
            raise DQMError(f"measure #{i + 1}: 'id' must be a short text, not {m['id']!r}.", file=path)
        if m["id"] in seen:
            raise DQMError(f"measure {m['id']!r} is given twice.", file=path)
        seen.add(m["id"])
        if m["better"] not in ("higher", "lower", "neither"):
            raise DQMError(f"measure {m['id']!r}: 'better' must be higher, lower or neither.", file=path)
    return pd.DataFrame(raw)


def load_outcomes(path: str | Path | None = None) -> pd.DataFrame:
    """The long outcome table; bring your own by passing a CSV with the same four columns.

    Checked on load, each problem named by file, row and column: the four columns are present, every
    value is a plain finite number (``1,234.5`` and ``inf`` are refused), and no council has two values
    for one measure and period (which would silently double its weight).
    """
    path = Path(path) if path else outcomes_dir() / "outcomes.csv"
    hint = f"An outcome file is a CSV with the columns {', '.join(OUTCOME_COLUMNS)}, one value per row."
    if not path.exists():
        raise DQMError("the outcome file does not exist.", file=path, hint="Check the path.")
    data = _check_outcome_file(path, hint, size_hint="Raise the limit with DQM_MAX_FILE_MB if it really is an outcome "
                               "table.", utf8_hint="Save it as CSV UTF-8.")
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise DQMError(f"the outcome file cannot be read as CSV ({' '.join(str(exc).split())[:160]}).", file=path,
                       hint=hint) from None
    missing = [c for c in OUTCOME_COLUMNS if c not in df.columns]
    if missing:
        raise DQMError(f"missing column(s) {', '.join(missing)}; an outcome file needs {', '.join(OUTCOME_COLUMNS)}.",
                       file=path, row=1, hint=hint)
    for col in ("local-authority-code", "measure", "period"):
        blank = df[col].str.strip() == ""
        if blank.any():
            raise DQMError(f"the {col} is blank.", file=path, row=int(blank.idxmax()) + 2, column=col, hint=hint)
    text = df["value"].str.strip()
    value = pd.to_numeric(text.where(text != "", None), errors="coerce")
    bad = (text != "") & value.isna()
    if bad.any():
        i = int(bad.idxmax())
        raise DQMError(f"{df['value'].iloc[i]!r} is not a plain number (write 1234.5, without thousands separators, "
                       "units or symbols).", file=path, row=i + 2, column="value", hint="Fix the value, or leave the cell "
                       "blank if it is missing.")
    inf = value.isin([float("inf"), float("-inf")])
    if inf.any():
        i = int(inf.idxmax())
        raise DQMError(f"{df['value'].iloc[i]!r} is infinite, not a measured value.", file=path, row=i + 2,
                       column="value", hint="Fix the value, or leave the cell blank if it is missing.")
    df["value"] = value
    dup = df.duplicated(["local-authority-code", "measure", "period"], keep=False)
    if dup.any():
        rows = [int(i) + 2 for i in df.index[dup][:6]]
        first = df[dup].iloc[0]
        raise DQMError(f"{int(dup.sum())} rows give a second value for the same council, measure and period (rows "
                       f"{', '.join(map(str, rows))}{', ...' if dup.sum() > 6 else ''}; for example "
                       f"{first['local-authority-code']} {first['measure']} {first['period']}); each would count twice.",
                       file=path, row=rows[0], hint="Keep one row for each council, measure and period.")
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
        if not_a_council(code):
            log.append({**base, "action": "dropped", "local-authority-code": code, "reason": f"{not_a_council(code)}, not a council"})
            continue
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
        if not_a_council(code):
            log.append({**base, "action": "dropped", "local-authority-code": code, "reason": f"{not_a_council(code)}, not a council"})
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


# ---------------------------------------------------------------- GOV.UK Pay
PAY_SOURCE = "GOV.UK Pay"
PAY_CATEGORIES = ("matched council", "duplicate spelling", "joint service", "former council with successor",
                  "parish or town council", "police", "fire and rescue", "NHS", "other public body", "unclassified")


def _pay_rules() -> dict:
    path = outcomes_dir() / "govuk_pay_organisations.yaml"
    raw = load_yaml(path, what="GOV.UK Pay organisation rules")
    if not isinstance(raw, dict):
        raise DQMError("must be a mapping with keys names, before_matching and after_matching.", file=path)
    for key in ("names", "before_matching", "after_matching"):
        if not isinstance(raw.get(key), (dict, list)):
            raise DQMError(f"key {key!r} is missing or not a list or mapping.", file=path)
    for name, rule in raw["names"].items():
        if rule.get("category") not in PAY_CATEGORIES:
            raise DQMError(f"name {name!r}: category must be one of {', '.join(PAY_CATEGORIES)}.", file=path)
    return raw


def classify_organisations(names, reg: pd.DataFrame) -> pd.DataFrame:
    """One row per organisation name: category, the council code(s) it counts for, and why.

    Columns: organisation, category, codes (list of local-authority-codes), reason. Names are settled
    by data/outcomes/govuk_pay_organisations.yaml and the council matcher (see that file).
    """
    import re

    from .reference import match_council

    rules = _pay_rules()
    before = [(r["category"], re.compile(r["regex"], re.I)) for r in rules["before_matching"]]
    after = [(r["category"], re.compile(r["regex"], re.I)) for r in rules["after_matching"]]
    replaced = dict(zip(reg["local-authority-code"], reg["replaced-by"]))
    rows = []
    for name in names:
        rule = rules["names"].get(name) or rules["names"].get(name.strip())
        if rule:
            rows.append({"organisation": name, "category": rule["category"], "codes": list(rule.get("councils", [])),
                         "reason": rule["reason"]})
            continue
        hit = next(((cat, rx.pattern) for cat, rx in before if rx.search(name)), None)
        if hit:
            rows.append({"organisation": name, "category": hit[0], "codes": [], "reason": "the name says so"})
            continue
        m = match_council(name)
        if m.code and m.method in ("code", "gss", "exact"):
            rows.append({"organisation": name, "category": "matched council", "codes": [m.code],
                         "reason": f"matched {m.name} ({m.method})"})
            continue
        if m.method == "former" or "former council" in (m.note or ""):  # the suggestions are its successors
            heirs = [c for c, _ in m.suggestions]
            rows.append({"organisation": name, "category": "former council with successor",
                         "codes": heirs if len(heirs) == 1 else [],
                         "reason": (f"{m.note.split(';')[0].rstrip('.')}; its services count for its single successor {heirs[0]}"
                                    if len(heirs) == 1 else f"{m.note.split(';')[0].rstrip('.')}; split, so its services are not attributed")})
            continue
        hit = next(((cat, rx.pattern) for cat, rx in after if rx.search(name)), None)
        if hit:
            rows.append({"organisation": name, "category": hit[0], "codes": [], "reason": "the name says so"})
            continue
        rows.append({"organisation": name, "category": "unclassified", "codes": [],
                     "reason": f"no rule and no confident council match ({m.note}); add a decision to govuk_pay_organisations.yaml"})
    out = pd.DataFrame(rows)
    # a former council named in the rules goes to its successor only if there is exactly one
    for i, r in out[(out["category"] == "former council with successor") & out["organisation"].isin(list(rules["names"]))].iterrows():
        heirs = [h for c in r["codes"] for h in replaced.get(c, "").split(",") if h]
        out.at[i, "codes"] = heirs if len(heirs) == 1 else []
        out.at[i, "reason"] += (f"; its services count for its single successor {heirs[0]}" if len(heirs) == 1
                                else "; split, so its services are not attributed")
    return out


def _pay_reference_dates(snapshots: pd.Series) -> dict[str, str]:
    """{period label 'YYYY-03': snapshot date}: the last snapshot published in March of each year."""
    dates = pd.to_datetime(pd.Series(sorted(set(snapshots))))
    march = dates[dates.dt.month == 3]
    return {f"{d.year}-03": d.strftime("%Y-%m-%d") for d in march.groupby(march.dt.year).max()}


def _govuk_pay(measures: pd.DataFrame, reg: pd.DataFrame) -> tuple[pd.DataFrame, list[dict]]:
    """Live GOV.UK Pay services per 100,000 residents at the end of March, and the change over the year to it.

    Every organisation name is logged with its category. A current principal council with no live
    service in a snapshot has 0 (GOV.UK Pay lists every organisation with a live service); a council
    that did not yet exist at the reference date has no value. Joint services are shared between their
    councils in proportion to population; duplicate spellings of one council are added together.
    """
    src = sources_dir() / "govuk_pay_services" / "govuk_pay_services_by_organisation_monthly.csv"
    pay = pd.read_csv(src, dtype={"snapshot_date": str, "organisation": str})
    pay["live_services"] = pd.to_numeric(pay["live_services"], errors="raise")
    names = sorted(pay["organisation"].unique())
    cls = classify_organisations(names, reg).set_index("organisation")
    seen = pay.groupby("organisation")["snapshot_date"].nunique()
    current = reg[reg["local-authority-code"].isin(set(principal_councils()["local-authority-code"]))]
    pop = pd.to_numeric(current.set_index("local-authority-code")["pop-2020"], errors="coerce")
    # which name is a council's main one (most snapshots, then alphabetical); the others are duplicate spellings
    council_names: dict[str, list[str]] = {}
    for name, r in cls.iterrows():
        if r["category"] == "matched council":
            council_names.setdefault(r["codes"][0], []).append(name)
    for code, group in council_names.items():
        main = sorted(group, key=lambda n: (-seen[n], n))[0]
        for n in group:
            if n != main:
                cls.at[n, "category"] = "duplicate spelling"
                cls.at[n, "reason"] = f"another name for {code}, published as {main!r}; services of both names are added"
    log = []
    for name, r in cls.iterrows():
        action = {"matched council": "kept", "duplicate spelling": "combined", "joint service": "shared",
                  "former council with successor": "remapped" if r["codes"] else "dropped"}.get(r["category"], "dropped")
        log.append({"source": PAY_SOURCE, "source_key": "", "source_name": name, "category": r["category"],
                    "action": action, "local-authority-code": ",".join(r["codes"]), "reason": r["reason"]})
    # services per council and snapshot: each name's services go to its councils (joint: by population share)
    shares = []
    for name, r in cls.iterrows():
        codes = [c for c in r["codes"] if c in pop.index]
        if not codes or r["category"] not in ("matched council", "duplicate spelling", "joint service",
                                              "former council with successor"):
            continue
        total = float(pop[codes].sum())
        shares += [{"organisation": name, "local-authority-code": c, "share": float(pop[c]) / total} for c in codes]
    shares = pd.DataFrame(shares, columns=["organisation", "local-authority-code", "share"])
    per = pay.merge(shares, on="organisation")
    per = (per.assign(services=per["live_services"] * per["share"])
           .groupby(["snapshot_date", "local-authority-code"])["services"].sum())
    start = pd.to_datetime(current.set_index("local-authority-code")["start-date"].replace("", "1900-01-01"))
    level = {}
    for period, date in _pay_reference_dates(pay["snapshot_date"]).items():
        existing = start.index[start <= pd.Timestamp(date)]
        s = per.xs(date, level="snapshot_date") if date in per.index.get_level_values(0) else pd.Series(dtype=float)
        level[period] = s.reindex(existing, fill_value=0.0) / pop[existing] * 100_000
    rows = []
    built = measures["build"] if "build" in measures else pd.Series("", index=measures.index)
    ids = dict(zip(built.fillna(""), measures["id"]))
    level_id, change_id = ids.get("govuk_pay_live_per_100k"), ids.get("govuk_pay_added_per_100k")
    periods = sorted(level)
    for period in periods:
        if level_id:
            rows += [{"local-authority-code": c, "measure": level_id, "period": period, "value": round(float(v), 4)}
                     for c, v in level[period].items() if v == v]
    for prev, period in zip(periods, periods[1:]):
        if change_id:
            d = (level[period] - level[prev]).dropna()
            rows += [{"local-authority-code": c, "measure": change_id, "period": period, "value": round(float(v), 4)}
                     for c, v in d.items()]
    platform, plog = _pay_platform(pay, cls, reg, ids)
    return pd.concat([pd.DataFrame(rows, columns=OUTCOME_COLUMNS), platform], ignore_index=True), log + plog


PLATFORM_SOURCE = "GOV.UK Pay platform outcomes"


def _year_after(year: int) -> str:
    """The label of the twelve months after a wave's reference date (end of March ``year``): '2025-26'."""
    return f"{year}-{(year + 1) % 100:02d}"


def _pay_platform(pay: pd.DataFrame, cls: pd.DataFrame, reg: pd.DataFrame, ids: dict) -> tuple[pd.DataFrame, list[dict]]:
    """The platform outcomes: adoption (0/1), the count of live services, and whether any was added in the year after.

    Counted, not divided: a council's count is the live services published under its own name(s)
    (duplicate spellings added); a joint service counts once for each of its councils (each offers it
    to its own residents); population enters the models as a control, never as a divisor. A county and
    its districts are different councils with different functions and their own assessments: each is
    credited only with services published under its own name, so no service is counted for two tiers,
    and the claims compare councils within their type. Covers the nations and councils set under
    ``platform_outcomes`` in govuk_pay_organisations.yaml; every council left out is logged with why
    (another nation; formed by a reorganisation since GOV.UK Pay began). Periods: the level and the
    adoption at the last March snapshot ('2026-03'); the change over the twelve months AFTER each
    March ('2025-26': end of March 2025 to end of March 2026), so that it follows the wave it is read with.
    """
    rules = _pay_rules().get("platform_outcomes") or {}
    nations = list(rules.get("nations") or [])
    formed = str(rules.get("formed_on_or_after") or "")
    if not nations or not formed:
        raise DQMError("platform_outcomes needs nations (a list) and formed_on_or_after (a date).",
                       file=outcomes_dir() / "govuk_pay_organisations.yaml")
    principal = principal_councils()
    nation = dict(zip(principal["local-authority-code"], principal["nation"]))
    current = reg[reg["local-authority-code"].isin(set(nation))].set_index("local-authority-code")
    predecessors: dict[str, list[str]] = {}
    for _, r in reg[reg["current-authority"] != "True"].iterrows():
        for heir in filter(None, r["replaced-by"].split(",")):
            predecessors.setdefault(heir.strip(), []).append(r["local-authority-code"])
    log, covered = [], []
    base = {"source": PLATFORM_SOURCE, "source_name": "", "category": "", "action": "left out"}
    for code in sorted(nation):
        start = current.at[code, "start-date"]
        if nation[code] not in nations:
            log.append({**base, "source_key": code, "local-authority-code": code,
                        "reason": f"{nation[code]}: the platform outcomes cover {', '.join(nations)} only"})
        elif start and start >= formed:
            was = ", ".join(sorted(predecessors.get(code, []))) or "earlier councils"
            log.append({**base, "source_key": code, "local-authority-code": code, "action": "flagged, left out",
                        "reason": f"reorganised council: formed on {start} from {was}; its GOV.UK Pay services may "
                                  "have been set up by the councils it replaced, so its count is not its own decision"})
        else:
            covered.append(code)
    # whole services per council and snapshot (joint services count once for each council)
    owners = [(name, c) for name, r in cls.iterrows() if r["category"] in
              ("matched council", "duplicate spelling", "joint service", "former council with successor") for c in r["codes"]]
    owners = pd.DataFrame(owners, columns=["organisation", "local-authority-code"])
    per = pay.merge(owners, on="organisation").groupby(["snapshot_date", "local-authority-code"])["live_services"].sum()
    count = {}
    for period, date in _pay_reference_dates(pay["snapshot_date"]).items():
        s = per.xs(date, level="snapshot_date") if date in per.index.get_level_values(0) else pd.Series(dtype=float)
        count[int(period[:4])] = s.reindex(covered, fill_value=0).astype(int)
    rows = []
    level_id, adopted_id, after_id = (ids.get(k) for k in ("govuk_pay_live_services", "govuk_pay_adopted",
                                                            "govuk_pay_added_any_year_after"))
    for year, s in sorted(count.items()):
        for measure, values in ((level_id, s), (adopted_id, (s > 0).astype(int))):
            if measure:
                rows += [{"local-authority-code": c, "measure": measure, "period": f"{year}-03", "value": float(v)}
                         for c, v in values.items()]
        if after_id and year + 1 in count:
            rows += [{"local-authority-code": c, "measure": after_id, "period": _year_after(year), "value": float(v)}
                     for c, v in (count[year + 1] > s).astype(int).items()]
    return pd.DataFrame(rows, columns=OUTCOME_COLUMNS), log


LOG_COLUMNS = ["source", "source_key", "source_name", "category", "action", "local-authority-code", "reason"]


def build_outcomes(out_dir: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rebuild outcomes.csv and mapping_log.csv from data/sources; returns (outcomes, log).

    Only the bundled measures are built here; your own measures live in a user data folder
    (see :func:`load_outcome_data`) and are never touched by a rebuild.
    """
    from .cells import csv_text
    from .paths import confined, output_folder, write_atomic

    out_dir = Path(out_dir) if out_dir else outcomes_dir()
    folder = output_folder(out_dir, what="outcomes folder", option="--out")  # checked before the work
    targets = {name: confined(folder, name, what) for name, what in (("outcomes.csv", "outcome table"),
                                                                     ("mapping_log.csv", "mapping log"))}
    measures = load_measures()
    reg = _registry()
    fin, log1 = _finance(measures, reg)
    asc, log2 = _social_care(measures, reg)
    pay, log3 = _govuk_pay(measures, reg)
    outcomes = (pd.concat([fin, asc, pay], ignore_index=True)
                .sort_values(["measure", "period", "local-authority-code"]).reset_index(drop=True))
    log = pd.DataFrame(log1 + log2 + log3, columns=LOG_COLUMNS).fillna({"category": ""})
    write_atomic(targets["outcomes.csv"], csv_text(outcomes), "outcome table", root=folder)
    write_atomic(targets["mapping_log.csv"], csv_text(log), "mapping log", root=folder)
    return outcomes, log


# ---------------------------------------------------------------- your own outcome data (the user layer)
USER_DATA_ENV = "DQM_USER_DATA"
MEASURE_KEYS = ("id", "name", "unit", "better", "file", "source", "licence", "period", "coverage", "caveats",
                "combine", "council_column", "period_column", "value_column", "council_map")
COMBINE = {"sum": "sum", "mean": "mean", "max": "max", "min": "min"}
# the column that names the council, in the order they are looked for (compared ignoring case, spaces, - and _)
COUNCIL_COLUMNS = ("local-authority-code", "council_code", "gss-code", "gss_code", "code", "council", "council_name",
                   "local_authority", "authority", "organisation", "name")
JOIN_COLUMNS = ["file", "row", "council", "period", "value", "measure", "local-authority-code", "status", "reason"]


def user_data_dir(user_data=None) -> Path | None:
    """Your data folder: ``user_data`` if given, else the DQM_USER_DATA environment variable, else none."""
    import os

    d = user_data or os.environ.get(USER_DATA_ENV)
    return Path(d) if d else None


@dataclass
class OutcomeData:
    """The outcome measures and values used to test claims: the bundled ones plus your own.

    ``outcomes``: long table (local-authority-code, measure, period, value); ``measures``: one row per
    measure, with ``layer`` (bundled or user) and ``file``; ``join``: one row per row of your outcome
    files, with how it joined (status matched, or the reason it was not used); ``files``: {label: path}
    of every input, for provenance (labels carry file names, never local paths).
    """

    outcomes: pd.DataFrame
    measures: pd.DataFrame
    join: pd.DataFrame
    files: dict

    def join_summary(self) -> pd.DataFrame:
        """Per user outcome file and measure: rows read, matched, not used."""
        j = self.join
        if j.empty:
            return pd.DataFrame(columns=["file", "measure", "rows", "matched", "not_used"])
        g = j.groupby(["file", "measure"], sort=False)["status"]
        return pd.DataFrame({"rows": g.size(), "matched": g.apply(lambda s: int((s == "matched").sum()))}).assign(
            not_used=lambda d: d["rows"] - d["matched"]).reset_index()


def _norm_col(c) -> str:
    return str(c).strip().lower().replace(" ", "").replace("-", "").replace("_", "")


def _find_column(df: pd.DataFrame, wanted, given, path, what: str) -> str:
    if given:
        if given not in df.columns:
            raise DQMError(f"there is no column {given!r} (the measure's {what}); the columns are "
                           f"{', '.join(map(str, df.columns))}.", file=path)
        return given
    by_norm = {_norm_col(c): c for c in df.columns}
    for w in wanted:
        if _norm_col(w) in by_norm:
            return by_norm[_norm_col(w)]
    raise DQMError(f"no {what}: looked for {', '.join(wanted)} (case, spaces, '-' and '_' ignored); the "
                   f"columns are {', '.join(map(str, df.columns))}.", file=path,
                   hint=f"Rename the column, or name it: `dqm outcomes add FILE --{what.replace(' ', '-')} HEADER`, "
                        f"or {what.replace(' ', '_')}: HEADER in the measure.")


def _council_status(m) -> tuple[str, str]:
    """(status, reason) of a council match, in the words of `dqm match`.

    A refused name (a police force, a parish council, a combined authority, the GLA, ...) is "not a principal
    council", with the matcher's note ("... is a combined authority, not a council; ...") as the reason.
    """
    if m.code:
        return "matched", ""
    if m.method == "former" or "former council" in (m.note or ""):
        return "former council with successor", m.note
    if m.method == "refused":
        return "not a principal council", m.note
    if m.method == "fuzzy" or (m.score >= 85 and m.suggestions):
        return "ambiguous", m.note + (f"; nearest: {'; '.join(f'{n} ({c})' for c, n in m.suggestions[:3])}" if m.suggestions else "")
    return "no match", m.note or "no confident match"



def _check_outcome_file(path: Path, hint: str, size_hint: str | None = None, utf8_hint: str | None = None) -> bytes:
    """The bytes of an outcome file, refused with a one-line message naming the file if it is not a regular file
    (a folder, a device, a named pipe), is too large, empty or not UTF-8 (see :func:`dqm.limits.read_file`)."""
    data = read_file(path, "outcome file", DQMError, hint=hint, size_hint=size_hint)
    if not data.strip():
        raise DQMError("the outcome file is empty.", file=path, hint=hint)
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DQMError(f"the outcome file is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}).", file=path,
                       row=line, hint=utf8_hint or hint) from None
    return data


def _read_user_csv(path: Path, **kw) -> pd.DataFrame:
    """Read one of your outcome CSVs as text, every failure a one-line message naming the file.

    The file is read once, by :func:`_check_outcome_file`, and parsed from those bytes with every cell's
    length checked as it is read (:func:`dqm.limits.csv_field_limit`).
    """
    import csv

    path = Path(path)
    hint = "Save it as CSV, UTF-8, with a header row (council, measure, period, value)."
    data = _check_outcome_file(path, hint)
    try:
        with csv_field_limit():
            return pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig", sep=None,
                               engine="python", **kw)
    except (csv.Error, pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        why = (f"a cell holds more than {cell_cap():,} characters" if "field larger than field limit" in str(exc)
               else " ".join(str(exc).split())[:160])
        raise DQMError(f"cannot read the outcome file as CSV ({why}).", file=path, hint=hint) from None


def read_user_outcomes(path: Path, measure: dict, label: str, council_map: dict | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read one of your outcome files for one measure; returns (long rows, join report).

    The file has a council column (a local-authority-code, a GSS code or a name, matched by the same
    rules as ingest), a period column and a value column; if it has a ``measure`` column only the rows
    for this measure are read. Rows that cannot be used are reported with the reason, never dropped
    silently. Two rows for one council and period are an error naming them, unless the measure says how
    to combine them (``combine: sum``, ``mean``, ``max`` or ``min``). ``council_map`` ({name: code}, from
    :func:`dqm.reference.load_council_map`) confirms names the matcher will not take on its own, as in ingest.
    """
    from .reference import Match, map_key, match_council

    if not path.exists():
        raise DQMError(f"the outcome file of measure {measure['id']!r} does not exist.", file=path)
    df = _read_user_csv(path)
    if "measure" in [_norm_col(c) for c in df.columns]:
        mcol = next(c for c in df.columns if _norm_col(c) == "measure")
        df = df[df[mcol].str.strip() == measure["id"]]
    ccol = _find_column(df, COUNCIL_COLUMNS, measure.get("council_column"), path, "council column")
    pcol = _find_column(df, ("period", "year", "financial_year", "date"), measure.get("period_column"), path, "period column")
    vcol = _find_column(df, ("value",), measure.get("value_column"), path, "value column")
    rows, report = [], []
    for i, r in df.iterrows():
        text, period, raw = r[ccol].strip(), r[pcol].strip(), r[vcol].strip()
        rec = {"file": label, "row": int(i) + 2, "council": text, "period": period, "value": raw, "measure": measure["id"],
               "local-authority-code": ""}
        value = pd.to_numeric(raw.replace(",", "").rstrip("%").strip(), errors="coerce") if raw else float("nan")
        if council_map and map_key(text) in council_map:
            code = council_map[map_key(text)]
            m = Match(text, code, match_council(code).name, "council map", 100.0)
        else:
            m = match_council(text)
        status, reason = _council_status(m)
        if status != "matched":
            report.append({**rec, "status": status, "reason": reason})
            continue
        rec["local-authority-code"] = m.code
        if not period:
            report.append({**rec, "status": "no period", "reason": "the period is blank"})
        elif pd.isna(value):
            report.append({**rec, "status": "not a number", "reason": f"the value {raw!r} is not a number"})
        elif value in (float("inf"), float("-inf")):
            report.append({**rec, "status": "not a number", "reason": f"the value {raw!r} is infinite, not a measured value"})
        else:
            report.append({**rec, "status": "matched", "reason": f"{m.name} ({m.method})"})
            rows.append({"local-authority-code": m.code, "measure": measure["id"], "period": period, "value": float(value),
                         "row": rec["row"], "council": text})
    out = pd.DataFrame(rows, columns=OUTCOME_COLUMNS + ["row", "council"])
    dup = out.duplicated(["local-authority-code", "period"], keep=False)
    if dup.any():
        how = measure.get("combine")
        if how not in COMBINE:
            first = out[dup].sort_values(["local-authority-code", "period", "row"])
            lines = [f"{code} in {period}: rows {', '.join(str(x) for x in g['row'])} ({', '.join(repr(x) for x in g['council'])})"
                     for (code, period), g in first.groupby(["local-authority-code", "period"], sort=False)]
            raise DQMError(f"{len(lines)} council(s) have more than one row for the same period: " + "; ".join(lines[:5])
                           + ("; ..." if len(lines) > 5 else "") + ".", file=label,
                           hint=f"Remove the extra rows, or say how to combine them in measure {measure['id']!r} "
                           f"(combine: {', '.join(COMBINE)}).")
        out = out.groupby(["local-authority-code", "measure", "period"], as_index=False)["value"].agg(COMBINE[how])
    return out[OUTCOME_COLUMNS], pd.DataFrame(report, columns=JOIN_COLUMNS)


def _read_user_measures(path: Path, bundled_ids: set) -> list[dict]:
    raw = load_yaml(path, what="measures file") or []
    if not isinstance(raw, list):
        raise DQMError("the measures file must be a list of measures (each starting with '- id: ...').", file=path)
    seen = set()
    for i, m in enumerate(raw):
        mid = m.get("id", f"#{i + 1}") if isinstance(m, dict) else f"#{i + 1}"

        def bad(key, msg):
            raise DQMError(f"measure {mid!r}, key {key!r}: {msg}", file=path, hint="Fix the entry and run again.")

        if not isinstance(m, dict):
            bad("(entry)", "must be a mapping of keys such as id, name, unit, better, file.")
        for k in m:
            if k not in MEASURE_KEYS:
                bad(k, f"is not a measure key; the keys are {', '.join(MEASURE_KEYS)}.")
        for k in ("id", "name", "unit", "better", "file"):
            if k not in m or m[k] in (None, ""):
                bad(k, "is missing.")
        if mid in bundled_ids:
            bad("id", "is already a bundled measure; give yours another id.")
        if mid in seen:
            bad("id", "is used twice.")
        seen.add(mid)
        if m["better"] not in ("higher", "lower", "neither"):
            bad("better", "must be higher, lower or neither.")
        if m.get("combine") is not None and m["combine"] not in COMBINE:
            bad("combine", f"must be one of {', '.join(COMBINE)}.")
    return raw


def load_outcome_data(user_data=None, outcomes_file=None) -> OutcomeData:
    """The bundled outcomes plus your own: a user data folder and/or one extra long-form outcome file.

    A user data folder (``user_data``, or the DQM_USER_DATA environment variable) may hold
    ``measures.yaml``, a list of measures like the bundled ones with a ``file:`` each (a CSV in the
    folder, keyed by council code, GSS code or name). ``outcomes_file`` is a CSV with columns council,
    measure, period, value; measures it names that are declared nowhere get a plain description.
    Your measures are added to the bundled ones; a clash of ids is an error, never a replacement.
    """
    measures = load_measures().assign(layer="bundled", file="data/outcomes/measures.yaml")
    outcomes, _ = only_councils(load_outcomes())  # never joined to a combined authority or the GLA (see build_outcomes)
    files = {"Outcome measures measures.yaml (bundled)": outcomes_dir() / "measures.yaml",
             "Outcome table outcomes.csv (bundled)": outcomes_dir() / "outcomes.csv"}
    bundled = set(measures["id"])
    extra, joins, mine = [], [], []
    folder = user_data_dir(user_data)
    if folder is not None:
        if not folder.is_dir():
            raise DQMError("the user data folder does not exist.", file=folder,
                           hint="Create it, or let `dqm claims add` or `dqm outcomes add` create it.")
        mpath = folder / "measures.yaml"
        if mpath.exists():
            files["Your measures measures.yaml"] = mpath
            for m in _read_user_measures(mpath, bundled):
                fpath = folder / str(m["file"])
                label = str(m["file"])
                cmap = None
                if m.get("council_map"):
                    from .reference import load_council_map

                    cmap = load_council_map(folder / str(m["council_map"]))
                    files[f"Your council map {m['council_map']} (measure {m['id']})"] = folder / str(m["council_map"])
                rows, report = read_user_outcomes(fpath, m, label, cmap)
                files[f"Your outcome file {label} (measure {m['id']})"] = fpath
                extra.append(rows)
                joins.append(report)
                mine.append({**{k: m.get(k) for k in MEASURE_KEYS}, "source": m.get("source") or f"your file {label}",
                             "licence": m.get("licence") or "not stated", "period": m.get("period") or "as in the file",
                             "caveats": m.get("caveats") or [], "layer": "user", "file": label})
    if outcomes_file:
        path = Path(outcomes_file)
        if not path.exists():
            raise DQMError("the outcome file does not exist.", file=path)
        head = _read_user_csv(path, nrows=0)
        if "measure" not in [_norm_col(c) for c in head.columns]:
            raise DQMError("an outcome file given with --outcomes needs a measure column (and council, period, value); "
                           "for a file of one measure, use `dqm outcomes add FILE --measure ID` instead.", file=path)
        full = _read_user_csv(path)
        mcol = next(c for c in full.columns if _norm_col(c) == "measure")
        declared = {m["id"] for m in mine}
        for mid in sorted(set(full[mcol].str.strip()) - {""}):
            if mid in bundled:
                raise DQMError(f"measure {mid!r} is a bundled measure; your rows would mix with the bundled ones. "
                               "Give your measure another id.", file=path)
            spec = next((m for m in mine if m["id"] == mid), {"id": mid})
            rows, report = read_user_outcomes(path, spec, path.name)
            extra.append(rows)
            joins.append(report)
            if mid not in declared:
                mine.append({"id": mid, "name": mid.replace("_", " "), "unit": "as in the file", "better": "neither",
                             "source": f"your file {path.name}", "licence": "not stated", "period": "as in the file",
                             "caveats": [], "layer": "user", "file": path.name})
        files[f"Your outcome file {path.name}"] = path
    if mine:
        measures = pd.concat([measures, pd.DataFrame(mine)], ignore_index=True)
    if extra:
        outcomes = pd.concat([outcomes, *extra], ignore_index=True)
    join = pd.concat(joins, ignore_index=True) if joins else pd.DataFrame(columns=JOIN_COLUMNS)
    return OutcomeData(outcomes, measures, join, files)

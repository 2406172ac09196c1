"""Council reference data and council-name matching.

>>> c = councils()
>>> len(c)
397
>>> match_council("Bristol, City of").code
'BST'
>>> match_council("bristol city council ").code
'BST'
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from rapidfuzz import fuzz, process

from .paths import reference_dir

# Council types that are not principal councils (combined authorities, the GLA). They are kept in the
# reference table but are not in the denominator of response rates.
NON_PRINCIPAL_TYPES = {"COMB", "SRA"}
TYPE_GROUPS = {
    # a coarser council type, used for benchmarking and fixed effects
    "CTY": "County council", "NMD": "District council", "MD": "Metropolitan borough",
    "LBO": "London borough", "CC": "London borough", "UA": "English unitary", "SCO": "Scottish council",
    "WPA": "Welsh council", "NID": "Northern Ireland council", "COMB": "Combined authority", "SRA": "Combined authority",
}

_WORDS_DROPPED = [
    # order matters: longer phrases first
    "metropolitan borough council", "royal borough of", "london borough of", "borough council", "county council",
    "district council", "city council", "city and district council", "metropolitan district council",
    "council of the", "city of", "county borough council", "council", "the",
    # generic tier words, also when abbreviated, as found in finance and survey files
    "london borough", "london boro", "borough of", "county borough", "metropolitan district", "district",
    "county", "borough", "boro", "mdc", "city", "metropolitan",
]
_FUZZY_ACCEPT = 92.0  # rapidfuzz WRatio score (0-100) above which a fuzzy match is taken
_FUZZY_MARGIN = 4.0  # ... and by at least this much over the next-best different council


def normalise_name(text: str) -> str:
    """Lower-case, strip accents, punctuation and generic words ("council", "city of", ...)."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    t = t.lower().replace("&", " and ").replace("’", "'")
    t = re.sub(r"\bst\.?\s", "st ", t)
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    t = f" {' '.join(t.split())} "
    t = t.replace(" ca ", " combined authority ").replace(" cca ", " combined authority ").replace(" ua ", " ")
    for w in _WORDS_DROPPED:
        shorter = t.replace(f" {w} ", " ")
        if shorter.strip():  # never strip a name down to nothing ("City of London", "Borough Council")
            t = shorter
    return " ".join(t.split())


@lru_cache(maxsize=1)
def _raw_councils() -> pd.DataFrame:
    ref = reference_dir()
    names = pd.read_csv(ref / "uk_local_authorities_current.csv", dtype=str, keep_default_na=False)
    return names


@lru_cache(maxsize=1)
def councils() -> pd.DataFrame:
    """The 397 current UK councils, one row each, with the attributes used for benchmarking.

    Columns: local-authority-code, gss-code, ecode, official-name, nice-name, nation, region,
    local-authority-type, local-authority-type-name, type_group, principal, population, area_km2,
    deprivation_score, deprivation_quintile (1 = most deprived), rurality, urban_share (share of
    residents in urban areas, 0 to 1).
    """
    ref = reference_dir()
    raw = _raw_councils()
    cur = raw[raw["current-authority"] == "True"].copy()
    imd = pd.read_csv(ref / "la_imd.csv")
    ruc = pd.read_csv(ref / "la_ruc.csv")
    out = pd.DataFrame({
        "local-authority-code": cur["local-authority-code"],
        "gss-code": cur["gss-code"],
        "ecode": cur["ecode"].replace("", pd.NA),
        "official-name": cur["official-name"],
        "nice-name": cur["nice-name"],
        "nation": cur["nation"],
        "region": cur["region"],
        "local-authority-type": cur["local-authority-type"],
        "local-authority-type-name": cur["local-authority-type-name"],
        "population": pd.to_numeric(cur["pop-2020"], errors="coerce"),
        "area_km2": pd.to_numeric(cur["area"], errors="coerce"),
    })
    out["type_group"] = out["local-authority-type"].map(TYPE_GROUPS)
    out["principal"] = ~out["local-authority-type"].isin(NON_PRINCIPAL_TYPES)
    out = out.merge(
        imd[["local-authority-code", "la-deprivation-score", "la-imd-pop-quintile"]].rename(
            columns={"la-deprivation-score": "deprivation_score", "la-imd-pop-quintile": "deprivation_quintile"}),
        on="local-authority-code", how="left",
    ).merge(
        ruc[["local-authority-code", "ruc-cluster-label", "urban"]].rename(
            columns={"ruc-cluster-label": "rurality", "urban": "urban_share"}),
        on="local-authority-code", how="left",
    )
    out["deprivation_quintile"] = out["deprivation_quintile"].astype("Int64")
    return out.sort_values("local-authority-code").reset_index(drop=True)


@dataclass(frozen=True)
class Match:
    """The result of matching one piece of free text to a council."""

    text: str
    code: str | None  # local-authority-code, or None when there is no confident match
    name: str | None = None  # the council's short name
    method: str = "none"  # code | gss | exact | fuzzy | none
    score: float = 0.0
    suggestions: tuple = field(default_factory=tuple)  # (code, name) of the nearest councils
    note: str = ""

    @property
    def matched(self) -> bool:
        return self.code is not None


@lru_cache(maxsize=2)
def _index(use_name_lookup: bool = True):
    """Lookups from normalised names and codes to current council codes.

    ``use_name_lookup=False`` leaves out mySociety's table of name variants, so that tests can measure
    how well normalisation and fuzzy matching alone do on names the index has never seen.
    """
    ref = reference_dir()
    cur = councils()
    current = set(cur["local-authority-code"])
    nice = dict(zip(cur["local-authority-code"], cur["nice-name"]))
    raw = _raw_councils()
    replaced_by = dict(zip(raw["local-authority-code"], raw["replaced-by"]))
    raw_names = dict(zip(raw["local-authority-code"], raw["nice-name"]))

    lookup = pd.read_csv(ref / "lookup_name_to_registry.csv", dtype=str, keep_default_na=False)
    pairs = list(zip(lookup["la-name"], lookup["local-authority-code"])) if use_name_lookup else []
    pairs += list(zip(raw["official-name"], raw["local-authority-code"]))
    pairs += list(zip(raw["nice-name"], raw["local-authority-code"]))
    pairs += list(zip(cur["official-name"], cur["local-authority-code"]))
    pairs += list(zip(cur["nice-name"], cur["local-authority-code"]))
    by_norm: dict[str, set] = {}
    for name, code in pairs:
        key = normalise_name(name)
        if key:
            by_norm.setdefault(key, set()).add(code)
    # A normalised name is usable only if it points at exactly one council; prefer current councils.
    exact, former = {}, {}
    for key, codes in by_norm.items():
        cur_codes = codes & current
        if len(cur_codes) == 1:
            exact[key] = next(iter(cur_codes))
        elif not cur_codes and len(codes) == 1:
            former[key] = next(iter(codes))
    gss = pd.read_csv(ref / "lookup_gss_to_registry.csv", dtype=str, keep_default_na=False)
    gss_map = dict(zip(gss["gss-code"].str.upper(), gss["local-authority-code"]))
    choices = {key: code for key, code in exact.items()}
    return {
        "current": current, "nice": nice, "exact": exact, "former": former, "gss": gss_map,
        "replaced_by": replaced_by, "raw_names": raw_names, "choice_keys": list(choices), "choice_codes": list(choices.values()),
    }


def _suggest(idx, key: str, limit: int = 3) -> list[tuple[str, str, float]]:
    """Nearest distinct councils to a normalised name: (code, name, score)."""
    if not key:
        return []
    hits = process.extract(key, idx["choice_keys"], scorer=fuzz.WRatio, limit=40)
    out, seen = [], set()
    for _, score, pos in hits:
        code = idx["choice_codes"][pos]
        if code not in seen:
            seen.add(code)
            out.append((code, idx["nice"][code], float(score)))
        if len(out) == limit:
            break
    return out


def _successors(idx, code: str) -> list[str]:
    """Current councils that (through any chain of reorganisations) replaced a former council."""
    out, todo, seen = [], [code], set()
    while todo:
        c = todo.pop()
        if c in seen:
            continue
        seen.add(c)
        for nxt in filter(None, (x.strip() for x in idx["replaced_by"].get(c, "").split(","))):
            (out.append(nxt) if nxt in idx["current"] else todo.append(nxt))
    return sorted(set(out))


def _former(idx, code: str, text: str) -> Match:
    """A former council is never matched silently to its successor: the user must decide."""
    heirs = _successors(idx, code)
    note = f"{idx['raw_names'].get(code, code)} is a former council"
    if heirs:
        note += f", replaced by {', '.join(idx['nice'][c] for c in heirs)}"
    return Match(text, None, method="none", suggestions=tuple((c, idx["nice"][c]) for c in heirs), note=note + ".")


@lru_cache(maxsize=20000)
def match_council(text, use_name_lookup: bool = True) -> Match:
    """Turn a council name (any common variant) or a code into the current local-authority-code.

    Accepts a local-authority-code ("BST"), a GSS code ("E06000023", current or former), or a name
    ("Bristol, City of", "bristol city council ", "Royal Borough of Kingston upon Thames"). Returns a
    :class:`Match`; when ``match.code`` is None, ``match.suggestions`` lists the nearest councils.
    """
    idx = _index(use_name_lookup)
    s = "" if text is None else str(text).strip()
    if not s:
        return Match(str(text), None, note="no council given")
    up = s.upper()
    if up in idx["current"]:
        return Match(s, up, idx["nice"][up], "code", 100.0)
    if re.fullmatch(r"[ENSWK]\d{8}", up):
        code = idx["gss"].get(up)
        if code in idx["current"]:
            return Match(s, code, idx["nice"][code], "gss", 100.0)
        if code:
            return _former(idx, code, s)
        return Match(s, None, note=f"{up} is not a known GSS code")
    key = normalise_name(s)
    if key in idx["exact"]:
        code = idx["exact"][key]
        return Match(s, code, idx["nice"][code], "exact", 100.0)
    if key in idx["former"]:
        return _former(idx, idx["former"][key], s)
    sugg = _suggest(idx, key)
    if sugg:
        best = sugg[0]
        second = sugg[1][2] if len(sugg) > 1 else 0.0
        if best[2] >= _FUZZY_ACCEPT and best[2] - second >= _FUZZY_MARGIN:
            return Match(s, best[0], best[1], "fuzzy", best[2], tuple((c, n) for c, n, _ in sugg[1:]))
    return Match(s, None, method="none", score=sugg[0][2] if sugg else 0.0,
                 suggestions=tuple((c, n) for c, n, _ in sugg), note="no confident match")


def match_councils(values: pd.Series) -> pd.DataFrame:
    """Match a column of names or codes; one row per input value with code, method, score, suggestions."""
    uniq = pd.unique(values.astype("string").fillna(""))
    rows = []
    for v in uniq:
        m = match_council(v)
        rows.append({"text": v, "local-authority-code": m.code, "method": m.method, "score": m.score,
                     "suggestions": "; ".join(f"{n} ({c})" for c, n in m.suggestions), "note": m.note})
    return pd.DataFrame(rows)

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

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd
from rapidfuzz import fuzz, process

from .paths import reference_dir

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
    "county", "borough", "boro", "mdc", "mbc", "city", "metropolitan",
]
# A near spelling is never matched, only suggested: with a WRatio score (0-100) of at least this, and this much
# more than the next-best different council, the note names it as the probable council.
_FUZZY_ACCEPT = 92.0
_FUZZY_MARGIN = 4.0
# Below this WRatio score a council is not even suggested: "Gotham City Council" scores 75 against North
# Northamptonshire and Southampton, which would only be noise; real near misses ("Saint Helens", "Bristol City
# Councl", "Shrosphire") score 85 or more.
_SUGGEST_MIN = 80.0
# Name variants of this project's own, added to mySociety's lookup (data/reference, see SOURCES.md): CSV files
# with columns la-name and local-authority-code; lines starting with # are comments.
VARIANT_FILES = ("extra_name_variants.csv", "welsh_council_names.csv")


def normalise_name(text: str) -> str:
    """Lower-case, strip accents, punctuation and generic words ("council", "city of", ...).

    Words written more than one way are read as one (data/reference/name_words.csv: "Saint" is "St",
    "Hants" is "Hampshire"; "LB", "CC" and the Welsh "Cyngor" only say what kind of council it is).

    >>> normalise_name("Saint Helens Metropolitan Borough Council"), normalise_name("East Hants DC")
    ('st helens', 'east hampshire')
    """
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    t = t.lower().replace("&", " and ").replace("’", "'")
    t = re.sub(r"\bst\.?\s", "st ", t)
    t = re.sub(r"[^a-z0-9 ]+", " ", t)
    t = f" {' '.join(t.split())} "
    for written, read_as in _name_words():  # "saint" is "st", "hants" is "hampshire", "LB" and "CC" say only the tier
        shorter = t.replace(f" {written} ", f" {read_as} " if read_as else " ")
        if shorter.strip():
            t = shorter
    t = t.replace(" ca ", " combined authority ").replace(" cca ", " combined authority ").replace(" ua ", " ")
    # "South Yorkshire Mayoral Combined Authority", "South Yorkshire Combined Authority" and "South Yorkshire MCA"
    # are one body
    t = t.replace(" mca ", " combined authority ").replace(" mayoral combined ", " combined ")
    for w in _WORDS_DROPPED:
        shorter = t.replace(f" {w} ", " ")
        if shorter.strip():  # never strip a name down to nothing ("City of London", "Borough Council")
            t = shorter
    return " ".join(t.split())


def _per_data_dir(maxsize: int = 4):
    """``functools.lru_cache`` keyed also on the reference folder, so that a process that changes
    ``DQM_DATA_DIR`` (a notebook, a test, a hostile-data check) never reads another folder's cached tables."""
    def wrap(fn):
        cached = lru_cache(maxsize=maxsize)(lambda folder, *args: fn(*args))

        @functools.wraps(fn)
        def inner(*args):
            return cached(str(reference_dir()), *args)

        inner.cache_clear, inner.cache_info = cached.cache_clear, cached.cache_info
        return inner
    return wrap


@_per_data_dir()
def _name_words() -> tuple[tuple[str, str], ...]:
    """(written, read_as) pairs of data/reference/name_words.csv, as lower-case words, longest first.

    A blank ``read_as`` drops the word. A malformed row is a DQMError naming the file and row.
    """
    import csv
    import io

    from .errors import DQMError

    path = reference_dir() / "name_words.csv"
    if not path.exists():
        return ()
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip() and not ln.startswith("#")]
    rows = list(csv.DictReader(io.StringIO("\n".join(lines))))
    if not lines or not {"written", "read_as"} <= set(rows[0].keys() if rows else lines[0].split(",")):
        raise DQMError("the file needs the columns written,read_as,why (one row per word or phrase).", file=path)
    out = {}
    for i, row in enumerate(rows, start=2):
        written, read_as = _tokens(row.get("written") or "").strip(), _tokens(row.get("read_as") or "").strip()
        if not written:
            raise DQMError("the word in column 'written' is blank.", file=path, row=i, column="written",
                           hint="Give the word as users write it (such as hants), or remove the row.")
        if out.get(written, read_as) != read_as:
            raise DQMError(f"{written!r} is read two ways: {out[written]!r} and {read_as!r}.", file=path, row=i,
                           column="read_as", hint="Keep one of the two rows.")
        out[written] = read_as
    return tuple(sorted(out.items(), key=lambda p: (-len(p[0]), p[0])))


@_per_data_dir()
def _raw_councils() -> pd.DataFrame:
    ref = reference_dir()
    names = pd.read_csv(ref / "uk_local_authorities_current.csv", dtype=str, keep_default_na=False)
    return names


@_per_data_dir()
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
    out["principal"] = ~out["local-authority-type"].isin(set(not_principal_types()))
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


@_per_data_dir()
def not_principal_types() -> dict[str, str]:
    """{local-authority-type: what such a body is} for the reference table's bodies that are not principal councils.

    From ``not_principal_types`` in data/reference/not_councils.yaml (combined authorities, the Greater London
    Authority). Every other current body in the reference table is a principal council: that is the one
    definition of "council" used by matching, ingest, outcome joins and scoring.

    >>> not_principal_types()["COMB"]
    'a combined authority'
    """
    from .errors import DQMError

    path = reference_dir() / "not_councils.yaml"
    raw = _not_councils_file()
    kinds = raw.get("not_principal_types") if isinstance(raw, dict) else None
    if not isinstance(kinds, dict) or not kinds or not all(
            isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in kinds.items()):
        raise DQMError("the file must have a mapping 'not_principal_types' from a local-authority-type (such as COMB) "
                       "to what such a body is (such as 'a combined authority').", file=path)
    return {k.strip(): v.strip() for k, v in kinds.items()}


@_per_data_dir()
def _not_principal_bodies() -> dict[str, str]:
    """{local-authority-code: "Greater Manchester Combined Authority, a combined authority"} for every body of the
    reference table (current or former) whose type is not a principal council."""
    raw = _raw_councils()
    kinds = not_principal_types()
    out = {}
    for code, name, kind in zip(raw["local-authority-code"], raw["official-name"], raw["local-authority-type"]):
        if kind in kinds:
            label = kinds[kind]
            out[code] = label if normalise_name(name) in normalise_name(label) else f"{name}, {label}"
    return out


def not_a_council(code) -> str | None:
    """What a body of the reference table that is not a principal council is, or None for any other code.

    >>> not_a_council("GMCA")
    'Greater Manchester Combined Authority, a combined authority'
    >>> not_a_council("GLA")
    'the Greater London Authority, a regional authority'
    >>> not_a_council("BST") is None
    True
    """
    return _not_principal_bodies().get(str(code).strip().upper()) if code is not None else None


def principal_councils() -> pd.DataFrame:
    """The current principal councils (382): :func:`councils` without combined authorities and the GLA.

    These are the only bodies dqm matches, stores, scores, ranks and joins outcomes to.

    >>> len(principal_councils())
    382
    """
    c = councils()
    return c[c["principal"]].reset_index(drop=True)


def only_councils(frame: pd.DataFrame, column: str = "local-authority-code") -> tuple[pd.DataFrame, dict[str, str]]:
    """Drop the rows of ``frame`` whose ``column`` is a body that is not a principal council.

    Returns (the other rows, {code: what the dropped body is}). Codes that are not in the reference table
    at all are kept: this removes combined authorities and the GLA, it does not check codes.

    >>> df = pd.DataFrame({"local-authority-code": ["BST", "GMCA"], "value": [1, 2]})
    >>> kept, dropped = only_councils(df)
    >>> kept["local-authority-code"].tolist(), dropped
    (['BST'], {'GMCA': 'Greater Manchester Combined Authority, a combined authority'})
    """
    bodies = _not_principal_bodies()
    codes = frame[column].astype("string").str.strip().str.upper()
    bad = codes.isin(list(bodies)).fillna(False).to_numpy(bool)
    dropped = {c: bodies[c] for c in pd.unique(codes[bad])}
    return frame[~bad], dropped


def _refused_body(text: str, code: str) -> "Match":
    """The match of a name or code of a body that is not a principal council: refused, saying what it is."""
    what = not_a_council(code)
    if normalise_name(text) == normalise_name(_raw_names().get(code, "")) and ", " in what and not what.startswith("the "):
        what = what.split(", ", 1)[1]  # "'Greater Manchester Combined Authority' is a combined authority"
    return Match(text, None, method="refused",
                 note=f"{text!r} is {what}, not a council; it is never matched to one, stored, ranked or joined")


@_per_data_dir()
def _raw_names() -> dict[str, str]:
    raw = _raw_councils()
    return dict(zip(raw["local-authority-code"], raw["official-name"]))


@dataclass(frozen=True)
class Match:
    """The result of matching one piece of free text to a council.

    ``method`` says how: ``code`` (a local-authority-code), ``gss`` (a GSS code), ``exact`` (a name or a
    known variant of one, after normalising), ``former`` (a council that no longer exists; its
    successors are the suggestions), ``fuzzy`` (a near
    spelling: NOT matched, ``code`` is None and the likely council is ``suggestions[0]``, to be
    confirmed with a council map), ``refused`` (the name is another kind of body, such as a police
    force, a parish council, a combined authority or the GLA; ``note`` says which), ``too_long`` or ``none``.
    """

    text: str
    code: str | None  # local-authority-code, or None when there is no confident match
    name: str | None = None  # the council's short name
    method: str = "none"  # code | gss | exact | fuzzy | former | refused | too_long | none
    score: float = 0.0
    suggestions: tuple = field(default_factory=tuple)  # (code, name) of the nearest councils
    note: str = ""

    @property
    def matched(self) -> bool:
        return self.code is not None

    @property
    def explanation(self) -> str:
        """Why there is no match, as whole sentences, with the one "Did you mean ...?" of the package.

        >>> match_council("Shrosphire").explanation
        'No confident match. Did you mean Shropshire (SHR)?'
        """
        parts = [sentence(self.note)] if self.note else []
        if self.suggestions and self.method != "former":  # a former council's note already names its successors
            names = [f"{n} ({c})" for c, n in self.suggestions]
            parts.append("Did you mean " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or "
                                            + names[-1]) + "?")
        return " ".join(parts)


def sentence(text: str) -> str:
    """A note as a sentence: its first letter upper case and a full stop at the end (unless it has one).

    >>> sentence("no confident match"), sentence("'X' is a police body."), sentence("")
    ('No confident match.', "'X' is a police body.", '')
    """
    t = str(text).strip()
    if not t:
        return ""
    t = t[0].upper() + t[1:]
    return t if t[-1] in ".?!" else t + "."


@_per_data_dir()
def _not_councils_file():
    from .yamlio import load_yaml

    return load_yaml(reference_dir() / "not_councils.yaml", what="list of words that are not councils")


@_per_data_dir()
def _areas() -> dict[str, str]:
    """{normalised name: what it is} of names that, on their own, name an area rather than a council
    (``areas`` in data/reference/not_councils.yaml: "London" is the region, not the City of London)."""
    from .errors import DQMError

    raw = (_not_councils_file() or {}).get("areas") or {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise DQMError("key 'areas' must map area names to what each is (text).",
                       file=reference_dir() / "not_councils.yaml")
    return {_tokens(k).strip(): v for k, v in raw.items()}


@_per_data_dir()
def _refusal_words() -> tuple[tuple[str, str], ...]:
    """(normalised phrase, label) pairs from data/reference/not_councils.yaml, longest phrase first."""
    from .errors import DQMError

    path = reference_dir() / "not_councils.yaml"
    raw = _not_councils_file()
    groups = raw.get("groups") if isinstance(raw, dict) else None
    if not isinstance(groups, dict) or not groups:
        raise DQMError("the file must have a mapping 'groups' from a label to a list of words.", file=path)
    out = []
    for label, words in groups.items():
        if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            raise DQMError(f"group {label!r} must be a list of words or phrases.", file=path)
        out += [(_tokens(w), str(label)) for w in words]
    return tuple(sorted(set(out), key=lambda p: -len(p[0])))


@_per_data_dir()
def _never_suggested() -> tuple[str, ...]:
    """Phrases of test and placeholder entries (data/reference/not_councils.yaml, never_suggested), as tokens."""
    from .errors import DQMError

    words = _not_councils_file().get("never_suggested", []) if isinstance(_not_councils_file(), dict) else []
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise DQMError("never_suggested must be a list of words or phrases.", file=reference_dir() / "not_councils.yaml")
    return tuple(_tokens(w) for w in words)


def placeholder(text: str) -> str | None:
    """The phrase that marks a name as a test or placeholder entry ("please ignore"), or None.

    >>> placeholder("TEST - please ignore"), placeholder("Test Valley")
    ('please ignore', None)
    """
    t = _tokens(text)
    return next((w.strip() for w in _never_suggested() if w in t), None)


def _tokens(text: str) -> str:
    """Lower case ASCII words separated by single spaces, with a space at each end (for phrase search)."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    t = t.replace("&", " and ").replace("’", "'")
    t = re.sub(r"[^a-z0-9]+", " ", t)
    return f" {' '.join(t.split())} "


def refusal(text: str) -> str | None:
    """Why a name is not a principal council ("names a police body: 'police'"), or None.

    >>> refusal("North Yorkshire Police")
    "names a police body ('police')"
    >>> refusal("North Yorkshire Council") is None, refusal("Medway Unitary Authority") is None
    (True, True)
    """
    t = _tokens(text)
    for written, read_as in _name_words():  # "Medway Unitary Authority": a word that only says the tier is no body
        if not read_as:
            t = t.replace(f" {written} ", " ")
    for phrase, label in _refusal_words():
        if phrase in t:
            return f"names {label} ({phrase.strip()!r})"
    return None


@_per_data_dir()
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
    raw_names = dict(zip(raw["local-authority-code"], raw["official-name"]))

    lookup = pd.read_csv(ref / "lookup_name_to_registry.csv", dtype=str, keep_default_na=False)
    pairs = list(zip(lookup["la-name"], lookup["local-authority-code"])) if use_name_lookup else []
    for extra in VARIANT_FILES:  # this project's additions to mySociety's variants (see SOURCES.md)
        if use_name_lookup and (ref / extra).exists():
            more = pd.read_csv(ref / extra, dtype=str, keep_default_na=False, comment="#")
            pairs += list(zip(more["la-name"], more["local-authority-code"]))
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
    bodies = _not_principal_bodies()
    choices = {key: code for key, code in exact.items() if code not in bodies}  # only councils are ever suggested
    literal: dict[str, set] = {}  # names as written (case and punctuation aside), before generic words are dropped
    for name, code in pairs:
        literal.setdefault(_tokens(name).strip(), set()).add(code)
    names_of: dict[str, list] = {}
    for name, code in pairs:
        names_of.setdefault(code, []).append(name)
    idx = {"names_of": names_of, "literal": literal,
           "current": current, "nice": nice, "exact": exact, "former": former, "gss": gss_map,
           "replaced_by": replaced_by, "raw_names": raw_names,
           "raw_nice": dict(zip(raw["local-authority-code"], raw["nice-name"]))}
    idx.update(_choices(idx, choices, bodies))
    return idx


def _choices(idx, choices: dict, bodies) -> dict:
    """What near spellings are compared with: every current council's names, and every former council's names
    standing for its successors ("Richmond" is near Richmondshire, now part of North Yorkshire), so that a
    suggestion is always a current council, named so that the user sees why it is suggested."""
    keys, codes, names = list(choices), list(choices.values()), [idx["nice"][c] for c in choices.values()]
    predecessors: dict[str, int] = {}
    for text in idx["replaced_by"].values():
        for heir in filter(None, (x.strip() for x in text.split(","))):
            predecessors[heir] = predecessors.get(heir, 0) + 1
    for key, old in idx["former"].items():
        heirs = [h for h in _successors(idx, old) if h not in bodies]
        if old in bodies or not heirs:
            continue
        for heir in heirs:
            how = "partly now" if len(heirs) > 1 else "now part of" if predecessors.get(heir, 0) > 1 else "now"
            keys.append(key)
            codes.append(heir)
            names.append(f"{idx['raw_nice'].get(old) or idx['raw_names'][old]}, {how} {idx['nice'][heir]}")
    return {"choice_keys": keys, "choice_codes": codes, "choice_names": names}


def _suggest(idx, key: str, limit: int = 3) -> list[tuple[str, str, float]]:
    """Nearest distinct councils to a normalised name: (code, name, score).

    The name is the council's, or a former council's that the name is nearer to, saying what replaced it.
    """
    if not key:
        return []
    hits = process.extract(key, idx["choice_keys"], scorer=fuzz.WRatio, limit=40)
    out, seen = [], set()
    for _, score, pos in hits:
        code = idx["choice_codes"][pos]
        if code not in seen:
            seen.add(code)
            out.append((code, idx["choice_names"][pos], float(score)))
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
    if not_a_council(code):  # a former combined authority is not a council either
        return _refused_body(text, code)
    heirs = _successors(idx, code)
    note = f"{idx['raw_names'].get(code, code)} is a former council"
    if heirs:
        note += f", replaced by {', '.join(idx['nice'][c] for c in heirs)}"
    return Match(text, None, method="former", suggestions=tuple((c, idx["nice"][c]) for c in heirs),
                 note=note + "; confirm the successor in a council map (--council-map) if the answer is for it.")


def match_council(text, use_name_lookup: bool = True) -> Match:
    """Turn a council name (any known variant) or a code into the current local-authority-code.

    Accepts a local-authority-code ("BST"), a GSS code ("E06000023", current or former), or a name
    ("Bristol, City of", "bristol city council ", "Royal Borough of Kingston upon Thames"). Returns a
    :class:`Match`; when ``match.code`` is None, ``match.note`` says why and ``match.suggestions``
    lists the nearest councils. Only codes and exact names or known variants are matched: a near
    spelling ("Birmingam") is never guessed (method ``fuzzy``, the likely council first in the
    suggestions), and a name of another kind of body ("North Yorkshire Police", "Bracknell Town
    Council", "NHS Greater Manchester ICB") is refused (method ``refused``). Only principal councils
    are matched: the name, code or GSS code of a combined authority or the Greater London Authority is
    refused too, the note saying what it is. Welsh names ("Cyngor Caerdydd") are known variants.

    >>> match_council("Birmingam").code is None, match_council("Birmingam").suggestions[0][0]
    (True, 'BIR')
    >>> match_council("North Yorkshire Police").method
    'refused'
    >>> match_council("E47000001").note
    "'E47000001' is Greater Manchester Combined Authority, a combined authority, not a council; it is never matched to one, stored, ranked or joined"
    >>> match_council("Cyngor Caerdydd").code
    'CRF'
    """
    from .limits import limit

    s = "" if text is None else str(text)
    cap = limit("max_council_chars")
    if len(s) > cap:  # checked before any matching: fuzzy matching a huge cell would take minutes
        return Match(s[:60] + "...", None, method="too_long",
                     note=f"the council name is {len(s):,} characters long, more than the limit of {cap:,}")
    return _match(s, use_name_lookup)


@_per_data_dir(maxsize=20000)
def _match(text: str, use_name_lookup: bool) -> Match:
    """Match a name or code, then refuse any body of the reference table that is not a principal council.

    Combined authorities and the GLA are found like councils (by code, GSS code, exact name or variant) so
    that the refusal can name them, and are never returned as a match.
    """
    m = _match_any_body(text, use_name_lookup)
    if m.code is not None and not_a_council(m.code):
        return _refused_body(m.text, m.code)
    return m


def _match_any_body(text: str, use_name_lookup: bool) -> Match:
    idx = _index(use_name_lookup)
    s = text.strip()
    if not s:
        return Match(text, None, note="no council given")
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
    area = _areas().get(_tokens(s).strip())
    if area:
        return Match(s, None, method="refused", note=f"{s!r} names {area}, not a council; it is never matched to one")
    key = normalise_name(s)
    why = refusal(s)
    if why:
        written = idx["literal"].get(_tokens(s).strip(), set()) & idx["current"]
        code = next(iter(written)) if len(written) == 1 else idx["exact"].get(key)
        if code and not_a_council(code):  # "Greater London Authority", "South Yorkshire Combined Authority"
            return _refused_body(s, code)
        phrase = why.rsplit("(", 1)[1].strip("')")
        # the one exception: the exact name of a council whose own name has the word
        if code and any(f" {phrase} " in _tokens(n) for n in idx["names_of"].get(code, ())):
            return Match(s, code, idx["nice"][code], "exact", 100.0)
        return Match(s, None, method="refused", note=f"{s!r} {why}, not a council; it is never matched to one")
    written = idx["literal"].get(_tokens(s).strip(), set())
    if written and not written & idx["current"] and len(written) == 1:
        # the name of a former council as written ("Somerset County Council"), even if dropping "county council"
        # would leave the name of its successor ("Somerset")
        return _former(idx, next(iter(written)), s)
    if key in idx["exact"]:
        code = idx["exact"][key]
        return Match(s, code, idx["nice"][code], "exact", 100.0)
    if key in idx["former"]:
        return _former(idx, idx["former"][key], s)
    marker = placeholder(s)
    if marker:  # "TEST - please ignore": an unknown council, with no noise suggestion (Test Valley)
        return Match(s, None, method="none", note=f"it looks like a test or placeholder entry ({marker!r}), so no "
                     "council is suggested")
    sugg = _suggest(idx, key)
    best_score = sugg[0][2] if sugg else 0.0
    sugg = [x for x in sugg if x[2] >= _SUGGEST_MIN]  # noise is never suggested
    if sugg:
        best = sugg[0]
        second = sugg[1][2] if len(sugg) > 1 else 0.0
        if best[2] >= _FUZZY_ACCEPT and best[2] - second >= _FUZZY_MARGIN:
            return Match(s, None, method="fuzzy", score=best[2], suggestions=tuple((c, n) for c, n, _ in sugg),
                         note=f"probably {best[1]} ({best[0]}), but the name is not an exact name of that council; "
                         "confirm it in a council map (--council-map) to use it")
    return Match(s, None, method="none", score=best_score, suggestions=tuple((c, n) for c, n, _ in sugg),
                 note="no confident match")


def require_council(text) -> str:
    """The local-authority-code of a council given by code, GSS code or name, as the API and the CLI take it.

    Anything the matcher does not match (a near spelling, a former council, a police force ...) is a
    DQMError saying why, with the nearest councils.

    >>> require_council("City of Bristol")
    'BST'
    """
    from .errors import DQMError

    m = match_council(text)
    if not m.code:
        raise DQMError(f"{str(text)[:100]!r} is not a council I can identify. {m.explanation}".strip(),
                       hint="`dqm match NAME` shows how a name matches.")
    return m.code


def match_councils(values: pd.Series) -> pd.DataFrame:
    """Match a column of names or codes: one row per distinct value.

    Columns: text (the value as given), local-authority-code (missing when there is no confident match),
    method (how it matched, or why not: see :class:`Match`), score (0 to 100), suggestions (the nearest
    councils, as "Name (CODE); ..."), note (why there is no match, such as a former council).

    >>> m = match_councils(pd.Series(["Bristol, City of", "Taunton Deane"]))
    >>> m["local-authority-code"].tolist()[0], m["local-authority-code"].isna().tolist()
    ('BST', [False, True])
    """
    uniq = pd.unique(values.astype("string").fillna(""))
    rows = []
    for v in uniq:
        m = match_council(v)
        rows.append({"text": v, "local-authority-code": m.code, "method": m.method, "score": m.score,
                     "suggestions": "; ".join(f"{n} ({c})" for c, n in m.suggestions), "note": m.note})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- the user's council map
MAP_NAME_COLUMNS = ("name", "council", "council_name", "text")
MAP_CODE_COLUMNS = ("local_authority_code", "local-authority-code", "code")


def map_key(text) -> str:
    """How a council map's names are compared with an export's cells: case and spacing ignored."""
    return " ".join(str(text).split()).casefold()


def load_council_map(path) -> dict[str, str]:
    """Read a council map: a CSV with columns ``name`` and ``local_authority_code``, one row per name.

    It confirms names the matcher will not take on its own (near spellings, joint names, names it does
    not know): each ``name`` (compared ignoring case and spacing) is stored as the council given. In a draft
    map written by ``dqm ingest --write-map`` (it has a ``suggestion`` column) a row whose code was left
    blank is skipped: that name stays quarantined. The
    map is checked first: every code must be a current council's local-authority-code (or GSS code),
    no name may be given two different councils, and a name of another kind of body (a police force,
    a parish council, ...) cannot be made a council. Returns {map_key(name): local-authority-code}.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "map.csv"
    >>> _ = p.write_text("name,local_authority_code\\nBirmingam,BIR\\n")
    >>> load_council_map(p)
    {'birmingam': 'BIR'}
    """
    import csv
    import io
    from pathlib import Path

    from .errors import DQMError
    from .limits import csv_field_limit, read_file

    path = Path(path)
    hint = "A council map is a CSV file with columns name,local_authority_code (see `dqm match` for codes)."
    data = read_file(path, "council map", DQMError, hint=hint)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DQMError(f"the council map is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}).", file=path,
                       hint="Save it as CSV UTF-8.") from None
    rows = []
    try:
        with csv_field_limit():
            rows += csv.reader(io.StringIO(text, newline=""))
    except csv.Error as exc:
        raise DQMError(f"row {len(rows) + 1} of the council map cannot be read as CSV ({' '.join(str(exc).split())[:120]}).",
                       file=path, row=len(rows) + 1, hint=hint) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise DQMError("the council map is empty.", file=path, hint=hint)
    header = [h.strip().lower() for h in rows[0]]
    name_col = next((header.index(c) for c in MAP_NAME_COLUMNS if c in header), None)
    code_col = next((header.index(c) for c in MAP_CODE_COLUMNS if c in header), None)
    if name_col is None or code_col is None:
        raise DQMError(f"the council map's header is {', '.join(repr(h) for h in rows[0])}; it needs the columns "
                       "name and local_authority_code.", file=path, row=1, hint=hint)
    draft = "suggestion" in header  # a draft map from `dqm ingest --write-map`: a row left without a code is skipped
    out, where = {}, {}
    for i, r in enumerate(rows[1:], start=2):
        name = r[name_col].strip() if name_col < len(r) else ""
        code_text = r[code_col].strip() if code_col < len(r) else ""
        if not name:
            raise DQMError("the name is blank.", file=path, row=i, column="name", hint=hint)
        if not code_text and draft:
            continue  # not confirmed: the name stays quarantined
        if not code_text:
            raise DQMError(f"no council code is given for {name!r}.", file=path, row=i, column="local_authority_code",
                           hint=hint)
        m = match_council(code_text)
        if m.method not in ("code", "gss"):
            raise DQMError(f"{code_text!r} is not the code of a current council"
                           + (f" ({m.note})" if m.note and m.method != "none" else "") + ".",
                           file=path, row=i, column="local_authority_code",
                           hint="Use a local-authority-code such as BIR or a GSS code; `dqm match NAME` shows them.")
        why = refusal(name)
        if why:
            raise DQMError(f"{name!r} {why}; a council map cannot make it a council.", file=path, row=i, column="name",
                           hint="Remove the row: rows naming other bodies stay quarantined.")
        key = map_key(name)
        if key in out and out[key] != m.code:
            raise DQMError(f"{name!r} is given two councils: {out[key]} (row {where[key]}) and {m.code}.", file=path,
                           row=i, column="local_authority_code", hint="Keep one of the two rows.")
        out[key], where[key] = m.code, i
    return out

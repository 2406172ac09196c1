"""The claims registry (``data/claims.yaml``) and your own claims, loaded and validated.

Bundled claims are pre-registered, and a registered claim is never edited: to change one, add a NEW dated
entry with ``supersedes: <old id>`` and ``supersedes_because: <why>``. Both stay in the registry and in the
reports; the old one is marked superseded (``superseded_by``), with the reason.

Bundled claims are pre-registered. Your own claims live in a user data folder (``--user-data DIR``
or ``DQM_USER_DATA``; see :func:`load_evidence`) and are ADDED to the registry, never replace it.
They are exploratory unless they say ``exploratory: false``, and they are tested in multiple-testing
families of their own, so they can never change a pre-registered claim's adjusted result.

>>> claims = load_claims()
>>> claims[0].id
'efficiency-central-costs'
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import DQMError
from ..paths import data_dir
from ..yamlio import load_yaml

KINDS = ("association", "assessment_agreement")
DIRECTIONS = ("positive", "negative", "none")
CONTROLS = ("council_type", "log_population", "deprivation", "rurality", "log_density")
REQUIRED = ("id", "statement", "source", "exposure", "outcome", "direction", "controls", "sesoi", "family", "registered")
OPTIONAL = ("kind", "side", "population", "period", "transform", "exploratory", "settle_with", "supersedes",
            "supersedes_because")
TRANSFORMS = ("raw", "log", "rank-normal")
# reference columns a claim's population may be restricted by (dqm.reference.councils())
POPULATION_COLUMNS = ("nation", "region", "type_group", "local-authority-type", "deprivation_quintile", "rurality",
                      "principal")
# a standardised effect (in standard deviations of outcome per standard deviation of digital level) above
# this is larger than almost any association between how an organisation works and its outcomes: with such
# a SESOI, "no meaningful effect" is easy to reach. (For assessment agreement the SESOI is in levels.)
SESOI_WARN = {"association": 0.30, "assessment_agreement": 0.50}


@dataclass(frozen=True)
class Claim:
    id: str
    statement: str
    source: str
    exposure: str
    outcome: str | None
    direction: str
    controls: tuple
    sesoi: float
    family: str
    registered: dt.date
    kind: str = "association"
    side: str = ""
    population: dict = field(default_factory=dict)
    period: str = "latest"
    transform: str = "raw"  # the main specification's outcome transform: raw, log or rank-normal
    exploratory: bool = False
    settle_with: str = ""
    layer: str = "bundled"  # bundled (the pre-registered registry) or user (your own claims)
    file: str = "data/claims.yaml"  # the file the claim came from, as shown in reports (no local paths)
    warnings: tuple = ()  # remarks on the claim's design, shown beside its result
    supersedes: str = ""  # a re-registration names the earlier claim it replaces (which stays, and is still shown)
    supersedes_because: str = ""  # and says why
    superseded_by: str = ""  # set on the earlier claim when a later entry supersedes it (never written in the file)
    superseded_on: dt.date | None = None

    @property
    def testable(self) -> bool:
        return self.outcome is not None


def claims_path() -> Path:
    return data_dir() / "claims.yaml"


def load_claims(path: str | Path | None = None, dimension_ids=None, measure_ids=None, layer: str = "bundled",
                label: str | None = None) -> list[Claim]:
    """Read and validate one claims file. Pass the model's dimension ids and the measure ids to check references.

    ``layer="user"`` reads your own claims: ``exploratory`` defaults to true. Every key is checked; a bad
    entry is a one-line :class:`DQMError` naming the file, the claim and the key.
    """
    path = Path(path) if path else claims_path()
    label = label or ("data/claims.yaml" if layer == "bundled" else path.name)
    raw = load_yaml(path, what="claims file")  # safe: size-capped, UTF-8, no aliases or duplicate keys
    if raw is None and layer == "user":
        return []
    if not isinstance(raw, list):
        raise DQMError("the claims file must be a list of claims (each starting with '- id: ...').", file=path)
    if dimension_ids is None or measure_ids is None:
        from ..model import load_model
        from ..outcomes import load_measures

        dimension_ids = dimension_ids or load_model().dimension_ids
        measure_ids = measure_ids or list(load_measures()["id"])
    out, seen = [], set()
    for i, c in enumerate(raw):
        cid = c.get("id", f"#{i + 1}") if isinstance(c, dict) else f"#{i + 1}"
        out.append(_claim(c, cid, seen, path, dimension_ids, measure_ids, layer, label))
    return protect_families(link_supersessions(out, path))


def link_supersessions(claims: list[Claim], path=None) -> list[Claim]:
    """Mark each claim that a later entry supersedes (``superseded_by``, ``superseded_on``), after checking that
    the earlier claim exists in the same file, was registered no later, and is superseded only once."""
    by_id = {c.id: c for c in claims}
    marks: dict[str, Claim] = {}
    for c in claims:
        if not c.supersedes:
            continue
        def bad(msg):
            raise DQMError(f"claim {c.id!r}, key 'supersedes': {msg}", file=path, hint="Fix the entry and run again.")
        old = by_id.get(c.supersedes)
        if old is None or old.id == c.id:
            bad(f"{c.supersedes!r} is not another claim in this file.")
        if old.registered > c.registered:
            bad(f"it is dated {c.registered.isoformat()}, before the claim it supersedes ({old.registered.isoformat()}).")
        if old.id in marks:
            bad(f"{old.id!r} is already superseded by {marks[old.id].id!r}.")
        marks[old.id] = c
    return [replace(c, superseded_by=marks[c.id].id, superseded_on=marks[c.id].registered) if c.id in marks else c
            for c in claims]


def _claim(c, cid, seen, path, dimension_ids, measure_ids, layer, label) -> Claim:
    def bad(key, msg):
        raise DQMError(f"claim {cid!r}, key {key!r}: {msg}", file=path, hint="Fix the entry and run again.")

    if not isinstance(c, dict):
        bad("(entry)", "must be a mapping of keys such as id, statement, exposure, outcome.")
    for k in c:
        if k not in REQUIRED + OPTIONAL:
            bad(k, f"is not a claim key; the keys are {', '.join(REQUIRED + OPTIONAL)}.")
    for k in REQUIRED:
        if k not in c:
            bad(k, "is missing.")
    if not isinstance(c["id"], str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", c["id"]):
        bad("id", "must be a word of letters, digits, '-', '_' or '.', such as my-claim.")
    if cid in seen:
        bad("id", "is used twice.")
    seen.add(cid)
    for k in ("statement", "source", "family"):
        if not isinstance(c[k], str) or not c[k].strip():
            bad(k, "must be some text.")
    kind = c.get("kind", "association")
    if kind not in KINDS:
        bad("kind", f"must be one of {', '.join(KINDS)}.")
    if not isinstance(c["exposure"], str) or (c["exposure"] != "overall" and c["exposure"] not in dimension_ids):
        bad("exposure", f"{c['exposure']!r} is neither 'overall' nor a dimension id of the model "
                        f"({', '.join(dimension_ids)}).")
    if kind == "association" and c["outcome"] is not None and c["outcome"] not in measure_ids:
        bad("outcome", f"{c['outcome']!r} is not an outcome measure; the measures are {', '.join(measure_ids)} "
                       "(add your own with `dqm outcomes add`).")
    if c["outcome"] is None and not c.get("settle_with"):
        bad("settle_with", "an untestable claim (outcome: null) must name the data that would settle it.")
    if c["direction"] not in DIRECTIONS:
        bad("direction", f"must be one of {', '.join(DIRECTIONS)}.")
    if not isinstance(c["controls"], list) or any(x not in CONTROLS for x in c["controls"]):
        bad("controls", f"must be a list drawn from {', '.join(CONTROLS)}.")
    if isinstance(c["sesoi"], bool) or not isinstance(c["sesoi"], (int, float)) or not 0 < c["sesoi"] < 2:
        bad("sesoi", "must be a number between 0 and 2.")
    reg = c["registered"]
    if isinstance(reg, str):
        try:
            reg = dt.date.fromisoformat(reg)
        except ValueError:
            bad("registered", "must be a date such as 2026-11-22.")
    if not isinstance(reg, dt.date):
        bad("registered", "must be a date such as 2026-11-22.")
    if c.get("transform", "raw") not in TRANSFORMS:
        bad("transform", f"must be {', '.join(TRANSFORMS[:-1])} or {TRANSFORMS[-1]}.")
    if "exploratory" in c and not isinstance(c["exploratory"], bool):
        bad("exploratory", "must be true or false.")
    for k in ("side", "period", "settle_with"):
        if k in c and c[k] is not None and not isinstance(c[k], (str, int)):
            bad(k, "must be some text.")
    if "supersedes" in c and (not isinstance(c["supersedes"], str) or not c["supersedes"].strip()):
        bad("supersedes", "must be the id of the earlier claim this entry replaces.")
    if c.get("supersedes") and not (isinstance(c.get("supersedes_because"), str) and c["supersedes_because"].strip()):
        bad("supersedes_because", "a re-registration must say why it replaces the earlier claim.")
    if c.get("supersedes_because") and not c.get("supersedes"):
        bad("supersedes", "is missing: supersedes_because is only for an entry that supersedes another.")
    pop = c.get("population") or {}
    if not isinstance(pop, dict):
        bad("population", f"must map a reference column ({', '.join(POPULATION_COLUMNS)}) to a value or a list of values.")
    _check_population(pop, bad)
    warnings = []
    limit = SESOI_WARN[kind]
    if c["sesoi"] > limit:
        unit = "levels" if kind == "assessment_agreement" else "standard deviations"
        warnings.append(f"The smallest effect of interest ({c['sesoi']:g} {unit}) is implausibly large for this outcome: "
                        f"associations between how councils work and their outcomes are rarely above {limit:g}, so a "
                        "verdict of 'no meaningful effect' is easy to reach and says little.")
    exploratory = bool(c.get("exploratory", layer == "user"))
    return Claim(
        id=str(cid), statement=str(c["statement"]), source=str(c["source"]), exposure=c["exposure"],
        outcome=c["outcome"], direction=c["direction"], controls=tuple(c["controls"]), sesoi=float(c["sesoi"]),
        family=str(c["family"]), registered=reg, kind=kind, side=str(c.get("side", "") or ""), population=pop,
        period=str(c.get("period", "latest")), transform=str(c.get("transform", "raw")), exploratory=exploratory,
        settle_with=str(c.get("settle_with", "") or ""), layer=layer, file=label, warnings=tuple(warnings),
        supersedes=str(c.get("supersedes", "") or ""), supersedes_because=str(c.get("supersedes_because", "") or ""),
    )


def _check_population(pop: dict, bad) -> None:
    from ..reference import councils

    ref = councils()
    for col, value in pop.items():
        if col not in POPULATION_COLUMNS:
            bad("population", f"{col!r} is not a reference column; use one of {', '.join(POPULATION_COLUMNS)}.")
        allowed = {str(v) for v in ref[col].dropna().unique()}
        for v in (value if isinstance(value, list) else [value]):
            if str(v) not in allowed:
                shown = sorted(allowed)
                bad("population", f"{v!r} is not a value of {col} ({', '.join(shown[:12])}"
                                  f"{', ...' if len(shown) > 12 else ''}).")


def protect_families(claims: list[Claim]) -> list[Claim]:
    """Keep pre-registered results safe from later claims: give later claims families of their own.

    Your own claims (the user layer) are tested in families of their own, named "<family> (your
    claims)" or "<family> (your exploratory claims)". An exploratory claim in the bundled registry
    that names a family holding pre-registered claims goes into "<family> (exploratory)". So no
    claim added after the data were seen can change a pre-registered claim's Holm adjustment.
    """
    prereg = {c.family for c in claims if c.layer == "bundled" and not c.exploratory}
    out = []
    for c in claims:
        fam = c.family
        if fam.endswith((" claims)", " (exploratory)")):  # already given a family of its own
            pass
        elif c.layer == "user":
            fam = f"{fam} (your {'exploratory ' if c.exploratory else ''}claims)"
        elif c.exploratory and fam in prereg:
            fam = f"{fam} (exploratory)"
        out.append(replace(c, family=fam) if fam != c.family else c)
    return out


@dataclass
class Evidence:
    """Everything the claims are tested on: claims (registry plus yours), outcomes, measures, provenance.

    ``measures`` is indexed by measure id; ``join`` reports how each row of your outcome files joined;
    ``files`` maps a label (file names only, never local paths) to each input file, for provenance.
    """

    claims: list
    outcomes: "object"
    measures: "object"
    join: "object"
    files: dict

    @property
    def warnings(self) -> list[str]:
        return [f"claim {c.id!r}: {w}" for c in self.claims for w in c.warnings]

    def join_summary(self):
        from ..outcomes import OutcomeData

        return OutcomeData(self.outcomes, self.measures, self.join, self.files).join_summary()


def load_evidence(user_data=None, claims_file=None, outcomes_file=None, model=None) -> Evidence:
    """The bundled registry and outcomes, plus your own claims and outcome data, validated together.

    ``user_data`` (or the DQM_USER_DATA environment variable) is a folder that may hold ``claims.yaml``
    (your claims, same keys as data/claims.yaml) and ``measures.yaml`` with your outcome files (see
    :func:`dqm.outcomes.load_outcome_data`); ``claims_file`` and ``outcomes_file`` add one file each.
    Your claims are added to the registry (an id already used is an error) and tested in families of
    their own, so the registry's pre-registered results are the same with or without them.

    >>> ev = load_evidence()
    >>> [c.id for c in ev.claims][:1], sorted(ev.files)[0]
    (['efficiency-central-costs'], 'Claims registry claims.yaml (bundled)')
    """
    from ..model import load_model
    from ..outcomes import load_outcome_data, user_data_dir

    model = model or load_model()
    data = load_outcome_data(user_data, outcomes_file)
    measure_ids = list(data.measures["id"])
    claims = load_claims(dimension_ids=model.dimension_ids, measure_ids=measure_ids)
    files = {"Claims registry claims.yaml (bundled)": claims_path(), **data.files}
    folder = user_data_dir(user_data)
    extra = []
    if folder is not None and (folder / "claims.yaml").exists():
        extra.append((folder / "claims.yaml", "claims.yaml"))
        files["Your claims claims.yaml"] = folder / "claims.yaml"
    if claims_file:
        extra.append((Path(claims_file), Path(claims_file).name))
        files[f"Your claims {Path(claims_file).name}"] = Path(claims_file)
    ids = {c.id: c.file for c in claims}
    for path, label in extra:
        mine = load_claims(path, dimension_ids=model.dimension_ids, measure_ids=measure_ids, layer="user", label=label)
        for c in mine:
            if c.id in ids:
                raise DQMError(f"claim {c.id!r}, key 'id': is already used by a claim in {ids[c.id]}; give yours "
                               "another id.", file=path)
            ids[c.id] = c.file
        claims += mine
    return Evidence(protect_families(claims), data.outcomes, data.measures.set_index("id", drop=False), data.join, files)

"""The claims registry (``data/claims.yaml``), loaded and validated.

>>> claims = load_claims()
>>> claims[0].id
'efficiency-central-costs'
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..errors import DQMError
from ..paths import data_dir

KINDS = ("association", "assessment_agreement")
DIRECTIONS = ("positive", "negative", "none")
CONTROLS = ("council_type", "log_population", "deprivation", "rurality", "log_density")
REQUIRED = ("id", "statement", "source", "exposure", "outcome", "direction", "controls", "sesoi", "family", "registered")


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

    @property
    def testable(self) -> bool:
        return self.outcome is not None


def claims_path() -> Path:
    return data_dir() / "claims.yaml"


def load_claims(path: str | Path | None = None, dimension_ids=None, measure_ids=None) -> list[Claim]:
    """Read and validate the registry. Pass the model's dimension ids and the measure ids to check references."""
    path = Path(path) if path else claims_path()
    if not path.exists():
        raise DQMError("the claims file does not exist.", file=path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DQMError(f"the claims file is not valid YAML: {exc}.", file=path) from None
    if not isinstance(raw, list):
        raise DQMError("the claims file must be a list of claims.", file=path)
    if dimension_ids is None or measure_ids is None:
        from ..model import load_model
        from ..outcomes import load_measures

        dimension_ids = dimension_ids or load_model().dimension_ids
        measure_ids = measure_ids or list(load_measures()["id"])
    out, seen = [], set()
    for i, c in enumerate(raw):
        cid = c.get("id", f"#{i + 1}") if isinstance(c, dict) else f"#{i + 1}"

        def bad(key, msg):
            raise DQMError(f"claim {cid!r}, key {key!r}: {msg}", file=path, hint="Fix the entry and run again.")

        if not isinstance(c, dict):
            bad("(entry)", "must be a mapping.")
        for k in REQUIRED:
            if k not in c:
                bad(k, "is missing.")
        if cid in seen:
            bad("id", "is used twice.")
        seen.add(cid)
        kind = c.get("kind", "association")
        if kind not in KINDS:
            bad("kind", f"must be one of {', '.join(KINDS)}.")
        if c["exposure"] != "overall" and c["exposure"] not in dimension_ids:
            bad("exposure", f"{c['exposure']!r} is neither 'overall' nor a dimension id of the model.")
        if kind == "association" and c["outcome"] is not None and c["outcome"] not in measure_ids:
            bad("outcome", f"{c['outcome']!r} is not a measure in data/outcomes/measures.yaml.")
        if c["outcome"] is None and not c.get("settle_with"):
            bad("settle_with", "an untestable claim (outcome: null) must name the data that would settle it.")
        if c["direction"] not in DIRECTIONS:
            bad("direction", f"must be one of {', '.join(DIRECTIONS)}.")
        if not isinstance(c["controls"], list) or any(x not in CONTROLS for x in c["controls"]):
            bad("controls", f"must be a list drawn from {', '.join(CONTROLS)}.")
        if not isinstance(c["sesoi"], (int, float)) or not 0 < c["sesoi"] < 2:
            bad("sesoi", "must be a number between 0 and 2.")
        reg = c["registered"]
        if isinstance(reg, str):
            try:
                reg = dt.date.fromisoformat(reg)
            except ValueError:
                bad("registered", "must be a date such as 2026-11-22.")
        if not isinstance(reg, dt.date):
            bad("registered", "must be a date such as 2026-11-22.")
        if c.get("transform", "raw") not in ("raw", "log", "rank-normal"):
            bad("transform", "must be raw, log or rank-normal.")
        pop = c.get("population") or {}
        if not isinstance(pop, dict):
            bad("population", "must map a reference column (such as nation) to a value.")
        out.append(Claim(
            id=str(cid), statement=str(c["statement"]), source=str(c["source"]), exposure=c["exposure"],
            outcome=c["outcome"], direction=c["direction"], controls=tuple(c["controls"]), sesoi=float(c["sesoi"]),
            family=str(c["family"]), registered=reg, kind=kind, side=str(c.get("side", "")), population=pop,
            period=str(c.get("period", "latest")), transform=str(c.get("transform", "raw")), exploratory=bool(c.get("exploratory", False)),
            settle_with=str(c.get("settle_with", "") or ""),
        ))
    return out

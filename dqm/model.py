"""The quality model, loaded from YAML and validated.

The model is data (``data/model/dqm.yaml``): levels, dimensions with their survey questions and
level descriptors and points to consider (prompts), and the rule that combines dimensions into an overall level. A malformed file
raises :class:`dqm.errors.ModelError` naming the key that is wrong.

>>> m = load_model()
>>> m.dimension_ids[:2]
['leadership', 'strategy']
>>> m.level_name(3)
'Impactful'
>>> m.dimension_prompts("strategy")[0]
'Is there a current digital, data and technology strategy, and does the council plan refer to it?'
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from .errors import ModelError
from .paths import model_path
from .yamlio import load_yaml

OVERALL_RULES = {
    "rounded_mean": "the mean of the dimension levels, rounded half up to a whole level",
    "median": "the median of the dimension levels, rounded half up to a whole level",
    "geometric_mean": "the geometric mean of the dimension levels, rounded half up",
    "threshold": "the highest level L such that every answered dimension is at L or above",
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
# column names of the frames dqm builds beside the dimension ids (council levels, reference attributes, claims)
RESERVED_IDS = frozenset({
    "council_code", "wave", "assessment_type", "n_respondents", "coverage", "overall", "overall_mean", "overall_level",
    "submission_id", "dimension_id", "level", "level_status", "target_level", "evidence", "respondent_role",
    "ecode", "nation", "region", "population", "area_km2", "type_group", "principal", "deprivation_score",
    "deprivation_quintile", "rurality", "urban_share", "outcome", "exposure", "current", "synthetic",
})
_REQUIRED_DIMENSION_KEYS = (
    "id", "name", "group", "provisional", "question", "target_question", "evidence_question", "descriptors",
)


@dataclass(frozen=True)
class Model:
    id: str
    version: str
    source: str
    levels: pd.DataFrame  # value, name, description
    dimensions: pd.DataFrame  # id, name, group, provisional, question, target_question, evidence_question
    descriptors: pd.DataFrame  # dimension_id, level, descriptor
    overall_rule: str
    min_coverage: int
    metadata_questions: dict = field(default_factory=dict)
    renamed: dict = field(default_factory=dict)  # old dimension id -> current id, for earlier waves
    path: str = ""
    prompts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["dimension_id", "order", "prompt"]))
    groups: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["id", "provisional", "description"]))

    @property
    def dimension_ids(self) -> list[str]:
        return list(self.dimensions["id"])

    @property
    def level_values(self) -> list[int]:
        return [int(v) for v in self.levels["value"]]

    @cached_property
    def level_names(self) -> dict[int, str]:
        return dict(zip(self.levels["value"].astype(int), self.levels["name"]))

    @cached_property
    def dimension_names(self) -> dict[str, str]:
        return dict(zip(self.dimensions["id"], self.dimensions["name"]))

    def level_name(self, value: int) -> str:
        try:
            return self.level_names[int(value)]
        except KeyError:
            raise KeyError(f"no level {value} in model {self.id}") from None

    def dimension_name(self, dimension_id: str) -> str:
        return self.dimension_names[dimension_id]

    def dimension_prompts(self, dimension_id: str) -> list[str]:
        """The points to consider for a dimension, in order (empty when the model gives none)."""
        return list(self.prompts.loc[self.prompts["dimension_id"] == dimension_id, "prompt"])

    def describe_overall_rule(self) -> str:
        return OVERALL_RULES[self.overall_rule]

    def __repr__(self) -> str:  # short: the frames are attributes, not something to print whole
        provisional = int(self.dimensions["provisional"].astype(bool).sum()) if "provisional" in self.dimensions else 0
        return (f"Model {self.id} version {self.version}: {len(self.dimensions)} dimensions"
                + (f" ({provisional} provisional)" if provisional else "")
                + f", {len(self.levels)} levels, overall rule {self.overall_rule} (at least {self.min_coverage} "
                f"dimensions answered)")


def _fail(path, key, message, hint="Fix the model file and run again."):
    raise ModelError(f"key {key!r}: {message}", file=path, hint=hint)


# what each kind of value must be, for :func:`_expect`
_KINDS = {
    "text": lambda v: isinstance(v, str) and bool(v.strip()),
    "text or number": lambda v: isinstance(v, (str, int, float)) and not isinstance(v, bool) and bool(str(v).strip()),
    "mapping": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
    "true or false": lambda v: isinstance(v, bool),
    "whole number": lambda v: isinstance(v, int) and not isinstance(v, bool),
}
_SHAPES = {"levels": " of {value, name, description}", "dimensions": " of dimensions", "groups": " of {id, provisional, "
           "description}", "metadata_questions": " of key: {question, aliases, required}",
           "renamed_dimensions": " of old id: current id", "overall": " {rule, min_coverage}"}
# the model file's top-level keys: the kind of value each holds, and whether it may be left out
_TOP_LEVEL = {"id": ("text", True), "version": ("text or number", True), "source": ("text", True),
              "levels": ("list", True), "dimensions": ("list", True), "overall": ("mapping", True),
              "metadata_questions": ("mapping", True), "renamed_dimensions": ("mapping", False),
              "groups": ("list", False)}


def _what(value) -> str:
    """What a YAML value is, in the words of a message ("a list", "a mapping", "blank")."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "blank"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping (key: value lines)"
    if isinstance(value, list):
        return "a list (- lines or [ ])"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return f"the text {value!r}"[:80] if isinstance(value, str) else f"{type(value).__name__} {value!r}"[:80]


def _expect(path, key, value, kind: str, shape: str = ""):
    """Refuse, naming the file and key, a value that is not of ``kind`` (see ``_KINDS``); ``shape`` shows an example."""
    if not _KINDS[kind](value):
        article = "" if kind in ("text", "text or number", "true or false") else "a "
        _fail(path, key, f"must be {article}{kind}{shape}, not {_what(value)}.")
    return value


def load_model(path: str | Path | None = None) -> Model:
    """Read and validate a quality model YAML file (default ``data/model/dqm.yaml``)."""
    path = Path(path) if path is not None else model_path()
    if not path.exists():
        raise ModelError("the model file does not exist.", file=path,
                         hint="Pass the path of a model YAML file (see data/model/dqm.yaml).")
    raw = load_yaml(path, error=ModelError, what="model file")
    if not isinstance(raw, dict):
        raise ModelError("the file must hold a mapping with keys id, version, levels, dimensions, overall.", file=path)
    for key in ("id", "version", "source", "levels", "dimensions", "overall"):
        if key not in raw:
            _fail(path, key, "is missing.")
    for key, (kind, required) in _TOP_LEVEL.items():  # the kind of every key's value, before any is used
        if key in raw and (required or raw[key] is not None):
            _expect(path, key, raw[key], kind, _SHAPES.get(key, ""))

    levels = raw["levels"]
    if not isinstance(levels, list) or not levels:
        _fail(path, "levels", "must be a list of {value, name, description}.")
    for i, lv in enumerate(levels):
        for k in ("value", "name", "description"):
            if not isinstance(lv, dict) or k not in lv:
                _fail(path, f"levels[{i}].{k}", "is missing.")
        _expect(path, f"levels[{i}].name", lv["name"], "text")
        _expect(path, f"levels[{i}].description", lv["description"], "text")
    values = [lv["value"] for lv in levels]
    if any(not isinstance(v, int) or isinstance(v, bool) for v in values) or values != list(range(1, len(values) + 1)):
        _fail(path, "levels", f"values must be 1, 2, ... in order; found {values}.")
    level_df = pd.DataFrame(
        [{"value": int(lv["value"]), "name": str(lv["name"]), "description": str(lv["description"])} for lv in levels]
    )

    dims = raw["dimensions"]
    if not isinstance(dims, list) or not dims:
        _fail(path, "dimensions", "must be a non-empty list.")
    rows, desc_rows, prompt_rows, seen = [], [], [], set()
    for i, d in enumerate(dims):
        if not isinstance(d, dict):
            _fail(path, f"dimensions[{i}]", "must be a mapping.")
        label = d.get("id", i)
        for k in _REQUIRED_DIMENSION_KEYS:
            if k not in d:
                _fail(path, f"dimensions[{label}].{k}", "is missing.")
        if not isinstance(d["id"], str) or not _ID.match(d["id"]):
            _fail(path, f"dimensions[{i}].id", f"{d['id']!r} must be snake_case (a-z, 0-9, _).")
        if d["id"] in seen:
            _fail(path, f"dimensions[{label}].id", "is used twice.")
        if d["id"] in RESERVED_IDS:
            _fail(path, f"dimensions[{i}].id", f"{d['id']!r} is a name dqm uses for its own columns; choose another id "
                  f"(reserved: {', '.join(sorted(RESERVED_IDS))}).")
        for k in ("name", "question", "target_question", "evidence_question"):
            if not isinstance(d[k], str) or not d[k].strip():
                _fail(path, f"dimensions[{label}].{k}", "must be a line of text.")
        _expect(path, f"dimensions[{label}].group", d["group"], "text")
        seen.add(d["id"])
        if not isinstance(d["provisional"], bool):
            _fail(path, f"dimensions[{label}].provisional", "must be true or false.")
        desc = d["descriptors"]
        if not isinstance(desc, dict):
            _fail(path, f"dimensions[{label}].descriptors", "must map each level value to a description.")
        for v in level_df["value"]:
            if v not in desc or desc[v] is None or not str(desc[v]).strip():
                _fail(path, f"dimensions[{label}].descriptors.{v}", "is missing.")
            _expect(path, f"dimensions[{label}].descriptors.{v}", desc[v], "text")
        extra = set(desc) - set(level_df["value"])
        if extra:
            _fail(path, f"dimensions[{label}].descriptors", f"has levels {sorted(extra)} not in 'levels'.")
        prompts = d.get("prompts", []) or []
        if not isinstance(prompts, list) or not all(isinstance(q, str) and q.strip() for q in prompts):
            _fail(path, f"dimensions[{label}].prompts", "must be a list of points to consider, each a line of text.")
        prompt_rows += [{"dimension_id": d["id"], "order": k + 1, "prompt": q.strip()} for k, q in enumerate(prompts)]
        rows.append({k: d[k] for k in _REQUIRED_DIMENSION_KEYS if k != "descriptors"})
        desc_rows += [{"dimension_id": d["id"], "level": int(v), "descriptor": str(desc[v])} for v in level_df["value"]]
    dim_df = pd.DataFrame(rows)
    for col in ("question", "target_question", "evidence_question"):
        dup = dim_df[col][dim_df[col].duplicated()]
        if not dup.empty:
            _fail(path, f"dimensions.{col}", f"{dup.iloc[0]!r} is used by two dimensions.")

    overall = raw["overall"]
    if not isinstance(overall, dict) or "rule" not in overall:
        _fail(path, "overall.rule", "is missing.")
    _expect(path, "overall.rule", overall["rule"], "text", f" (one of {', '.join(OVERALL_RULES)})")
    if overall["rule"] not in OVERALL_RULES:
        _fail(path, "overall.rule", f"{overall['rule']!r} is not one of {', '.join(OVERALL_RULES)}.")
    min_cov = overall.get("min_coverage", len(dim_df))
    if not isinstance(min_cov, int) or isinstance(min_cov, bool) or not 1 <= min_cov <= len(dim_df):
        _fail(path, "overall.min_coverage", f"must be a whole number from 1 to {len(dim_df)}.")

    meta = raw.get("metadata_questions", {}) or {}
    if "council" not in meta:
        _fail(path, "metadata_questions.council", "is missing; the survey must say which council answered.")
    for k, q in meta.items():
        _expect(path, f"metadata_questions.{k}", q, "mapping", " (question, aliases, required)")
        if "question" not in q:
            _fail(path, f"metadata_questions.{k}.question", "is missing.")
        _expect(path, f"metadata_questions.{k}.question", q["question"], "text")
        aliases = _expect(path, f"metadata_questions.{k}.aliases", q.get("aliases", []), "list", " of texts")
        for j, a in enumerate(aliases):
            _expect(path, f"metadata_questions.{k}.aliases[{j}]", a, "text")
        if "required" in q:
            _expect(path, f"metadata_questions.{k}.required", q["required"], "true or false")
    renamed = raw.get("renamed_dimensions", {}) or {}
    for old, new in renamed.items():
        _expect(path, f"renamed_dimensions.{old}", new, "text", " (the current dimension id)")
        if new not in seen:
            _fail(path, f"renamed_dimensions.{old}", f"points at {new!r}, which is not a dimension id.")

    groups = raw.get("groups", []) or []
    if not isinstance(groups, list) or not all(isinstance(g, dict) and "id" in g for g in groups):
        _fail(path, "groups", "must be a list of {id, provisional, description}.")
    for i, g in enumerate(groups):
        _expect(path, f"groups[{i}].id", g["id"], "text")
        if "provisional" in g:
            _expect(path, f"groups[{i}].provisional", g["provisional"], "true or false")
        if g.get("description") is not None:
            _expect(path, f"groups[{i}].description", g["description"], "text")
    group_df = pd.DataFrame([{"id": str(g["id"]), "provisional": bool(g.get("provisional", False)),
                              "description": str(g.get("description", ""))} for g in groups],
                            columns=["id", "provisional", "description"])
    unknown = sorted(set(dim_df["group"]) - set(group_df["id"])) if len(group_df) else []
    if unknown:
        _fail(path, "groups", f"has no entry for the group {unknown[0]!r} that a dimension names.")

    return Model(
        id=str(raw["id"]), version=str(raw["version"]), source=str(raw["source"]).strip(),
        levels=level_df, dimensions=dim_df, descriptors=pd.DataFrame(desc_rows),
        overall_rule=overall["rule"], min_coverage=min_cov, metadata_questions=meta, renamed=renamed,
        path=str(path), prompts=pd.DataFrame(prompt_rows, columns=["dimension_id", "order", "prompt"]), groups=group_df,
    )

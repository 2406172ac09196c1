"""The action library (``data/actions.yaml``) and a council's pre-filled action plan.

The library gives, for each dimension and each step up (1 to 2, ..., 4 to 5), a few actions with a
rationale and links to public guidance. It is checked against the model on load: a malformed entry
or a dimension the model does not have is an error naming the key; a dimension or step of the model
with no actions is a *gap*, returned with the library and stated wherever it matters.

>>> from dqm.model import load_model
>>> lib = load_actions(load_model())
>>> lib.for_step("strategy", 2)[0]["action"][:40]
'Link each strategic aim to a council pla'
>>> lib.gaps
[]
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..errors import DQMError, ModelError
from ..model import Model
from ..paths import data_dir
from ..yamlio import load_yaml

PLAN_STATUSES = ["Not started", "In progress", "Done", "Not doing"]


def actions_path() -> Path:
    return data_dir() / "actions.yaml"


@dataclass(frozen=True)
class ActionLibrary:
    id: str
    version: str
    actions: pd.DataFrame  # dimension_id, from_level, to_level, order, action, rationale, guidance (list of {title, url})
    gaps: list = field(default_factory=list)  # [(dimension_id, from_level)] steps of the model with no actions
    path: str = ""

    def for_step(self, dimension_id: str, from_level: int) -> list[dict]:
        """The actions for moving a dimension from ``from_level`` up one level (empty for a gap)."""
        a = self.actions
        rows = a[(a["dimension_id"] == dimension_id) & (a["from_level"] == int(from_level))].sort_values("order")
        return rows.to_dict("records")


def load_actions(model: Model, path: str | Path | None = None) -> ActionLibrary:
    """Read and check the action library against the model (default ``data/actions.yaml``)."""
    path = Path(path) if path else actions_path()

    def fail(key, message, hint="Fix the action library and run again."):
        raise ModelError(f"key {key!r}: {message}", file=path, hint=hint)

    if not path.exists():
        raise ModelError("the action library does not exist.", file=path, hint="See data/actions.yaml.")
    raw = load_yaml(path, error=ModelError, what="action library")
    if not isinstance(raw, dict):
        raise ModelError("the file must hold a mapping with keys id, version, model, guidance, actions.", file=path)
    for key in ("id", "version", "model", "actions"):
        if key not in raw:
            fail(key, "is missing.")
    if str(raw["model"]) != model.id:
        fail("model", f"the library is written for the model {raw['model']!r}, but the model in use is {model.id!r}.",
             hint="Use an action library written for this model.")
    guidance = raw.get("guidance", {}) or {}
    for k, g in guidance.items():
        if not isinstance(g, dict) or not str(g.get("title", "")).strip() or not str(g.get("url", "")).startswith("https://"):
            fail(f"guidance.{k}", "needs a title and an https:// url.")
    actions = raw["actions"]
    if not isinstance(actions, dict):
        fail("actions", "must map each dimension id to its steps.")
    steps = {f"{v}-{v + 1}": v for v in model.level_values[:-1]}
    rows = []
    for dim_key, by_step in actions.items():
        dim = model.renamed.get(dim_key, dim_key)
        if dim not in model.dimension_ids:
            fail(f"actions.{dim_key}", f"is not a dimension of the model {model.id} version {model.version}.",
                 hint="Rename it to the dimension's id in the model file, or remove it.")
        if not isinstance(by_step, dict):
            fail(f"actions.{dim_key}", f"must map steps ({', '.join(steps)}) to lists of actions.")
        for step, items in by_step.items():
            if str(step) not in steps:
                fail(f"actions.{dim_key}.{step}", f"is not a step up; steps are {', '.join(steps)}.")
            if not isinstance(items, list) or not items:
                fail(f"actions.{dim_key}.{step}", "must be a non-empty list of actions.")
            for i, item in enumerate(items):
                where = f"actions.{dim_key}.{step}[{i}]"
                if not isinstance(item, dict):
                    fail(where, "must be a mapping with action and rationale.")
                for k in ("action", "rationale"):
                    if not str(item.get(k, "") or "").strip():
                        fail(f"{where}.{k}", "is missing.")
                links = item.get("guidance", []) or []
                if not isinstance(links, list):
                    fail(f"{where}.guidance", "must be a list of keys of 'guidance'.")
                for g in links:
                    if g not in guidance:
                        fail(f"{where}.guidance", f"{g!r} is not a key of 'guidance'.")
                rows.append({"dimension_id": dim, "from_level": steps[str(step)], "to_level": steps[str(step)] + 1,
                             "order": i + 1, "action": str(item["action"]).strip(),
                             "rationale": str(item["rationale"]).strip(),
                             "guidance": [dict(guidance[g]) for g in links]})
    table = pd.DataFrame(rows, columns=["dimension_id", "from_level", "to_level", "order", "action", "rationale",
                                        "guidance"])
    have = set(zip(table["dimension_id"], table["from_level"]))
    gaps = [(d, v) for d in model.dimension_ids for v in steps.values() if (d, v) not in have]
    return ActionLibrary(str(raw["id"]), str(raw["version"]), table, gaps, str(path))


def next_level_actions(focus: pd.DataFrame, model: Model, library: ActionLibrary) -> pd.DataFrame:
    """For each focus dimension (rows with ``dimension_id`` and ``level``), the library's actions for its
    next level: columns Dimension, Next level, Action, Why. A step with no actions says so.

    >>> from dqm.model import load_model
    >>> m = load_model()
    >>> t = next_level_actions(pd.DataFrame({"dimension_id": ["data"], "level": [2.5]}), m, load_actions(m))
    >>> sorted(set(t["Next level"]))
    ['4 Mainstreamed']
    """
    from ..scoring import round_half_up

    top = max(model.level_values)
    rows = []
    for r in focus.itertuples():
        if pd.isna(r.level):
            continue
        v = int(round_half_up(r.level))
        if v >= top:
            continue
        nxt = f"{v + 1} {model.level_name(v + 1)}"
        acts = library.for_step(r.dimension_id, v) or [{"action": "No actions in the library for this step yet.",
                                                         "rationale": ""}]
        rows += [{"Dimension": model.dimension_name(r.dimension_id), "Next level": nxt, "Action": a["action"],
                  "Why": a["rationale"]} for a in acts]
    return pd.DataFrame(rows, columns=["Dimension", "Next level", "Action", "Why"])


# ---------------------------------------------------------------- the action plan
def plan_rows(council: str, wave: int, data, model: Model, library: ActionLibrary) -> pd.DataFrame:
    """One row per suggested action for a council: the steps from its current level up to its target
    (or the next step when it set no target). ``data`` is :func:`dqm.store.load` for the wave.
    """
    from ..scoring import council_levels, round_half_up

    a = data.answers[(data.answers["council_code"] == council) & (data.answers["assessment_type"] == "self")]
    if a.empty:
        raise DQMError(f"council {council} has no self-assessment in wave {wave}; an action plan starts from one.")
    lv = council_levels(a, model).iloc[0]
    targets = a.groupby("dimension_id")["target_level"].median()
    top = max(model.level_values)
    rows = []
    for d in model.dimension_ids:
        name = model.dimension_name(d)
        cur = lv[d]
        tgt = targets.get(d, float("nan"))
        base = {"dimension": name, "current_level": cur, "target_level": tgt}
        if pd.isna(cur):
            rows.append({**base, "step": "", "suggested_action": "Not answered: assess this dimension first.",
                         "rationale": "", "guidance": ""})
            continue
        start = int(round_half_up(cur))
        end = int(round_half_up(tgt)) if pd.notna(tgt) else min(start + 1, top)
        if end <= start:
            rows.append({**base, "step": "", "suggested_action": "At or above the target: keep it there.",
                         "rationale": "", "guidance": ""})
            continue
        for v in range(start, end):
            step = f"{v} {model.level_name(v)} to {v + 1} {model.level_name(v + 1)}"
            acts = library.for_step(d, v)
            if not acts:
                rows.append({**base, "step": step, "suggested_action": "No actions in the library for this step yet "
                             "(a gap in the action library): plan your own.", "rationale": "", "guidance": ""})
            for act in acts:
                rows.append({**base, "step": step, "suggested_action": act["action"], "rationale": act["rationale"],
                             "guidance": "; ".join(f"{g['title']}: {g['url']}" for g in act["guidance"])})
    out = pd.DataFrame(rows)
    for col in ("owner", "due_date", "status"):
        out[col] = None
    out["status"] = PLAN_STATUSES[0]
    return out


def write_action_plan(path, council: str, wave: int, store=None, model: Model | None = None,
                      library: ActionLibrary | None = None) -> Path:
    """Write a council's pre-filled action plan (XLSX): one row per suggested action, with owner, due date
    and status for the council to fill in."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    from ..cells import put, xlsx_bytes
    from ..model import load_model
    from ..paths import output_file, write_atomic
    from ..reference import councils
    from ..store import load

    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise DQMError("the action plan is an Excel workbook; give an output file ending .xlsx.", file=path)
    output_file(path, "action plan", create=True)  # checked before the work
    model = model or load_model()
    library = library or load_actions(model)
    ref = councils().set_index("local-authority-code")
    if council not in ref.index:
        raise DQMError(f"{council!r} is not a council code (local-authority-code).")
    data = load(store, wave=wave, model=model)
    rows = plan_rows(council, wave, data, model, library)
    name = ref.loc[council, "nice-name"]

    wb = Workbook()
    ws = wb.active
    ws.title = "Action plan"
    heads = ["Dimension", "Current level", "Target level", "Step", "Suggested action", "Why", "Guidance", "Owner",
             "Due date", "Status"]
    keys = ["dimension", "current_level", "target_level", "step", "suggested_action", "rationale", "guidance", "owner",
            "due_date", "status"]
    for j, h in enumerate(heads, 1):
        c = put(ws.cell(1, j), h)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor="D9D9D9")
    for i, rec in enumerate(rows.to_dict("records"), 2):  # text from the action library and the model: never a formula
        for j, k in enumerate(keys, 1):
            put(ws.cell(i, j), None if (isinstance(rec[k], float) and pd.isna(rec[k])) else rec[k])
    for j, w in enumerate([24, 10, 10, 26, 50, 45, 45, 18, 14, 14], 1):
        ws.column_dimensions[ws.cell(1, j).column_letter].width = w
    for row in ws.iter_rows(min_row=2):
        for c in row:
            c.alignment = Alignment(wrap_text=True, vertical="top")
        row[8].number_format = "d mmmm yyyy"
    last = ws.max_row
    status = DataValidation(type="list", formula1='"' + ",".join(PLAN_STATUSES) + '"', allow_blank=True)
    ws.add_data_validation(status)
    status.add(f"J2:J{max(last, 2) + 200}")
    due = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                         allow_blank=True, error="Enter a date, for example 31/03/2027.")
    ws.add_data_validation(due)
    due.add(f"I2:I{max(last, 2) + 200}")
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:J{last}"
    about = wb.create_sheet("About")
    lines = [
        f"Action plan: {name}, {wave}",
        f"Levels are the council's self-assessment in wave {wave} (the median where several people answered); "
        "targets are the median of the targets they set.",
        f"Suggested actions come from the action library {library.id} version {library.version}, for each step "
        "from the current level to the target (or the next level when no target was set). They are suggestions: "
        "keep, change or replace them.",
        f"Quality model: {model.id} version {model.version}.",
    ]
    if library.gaps:
        lines.append("The action library has no actions yet for: " + "; ".join(
            f"{model.dimension_name(d)} {v} to {v + 1}" for d, v in library.gaps) + ".")
    for i, text in enumerate(lines, 1):
        c = put(about.cell(i, 1), text)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    about["A1"].font = Font(bold=True, size=14)
    about.column_dimensions["A"].width = 110
    return write_atomic(path, xlsx_bytes(wb), "action plan")

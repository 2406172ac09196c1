"""Words of the council benchmark report.
"""
from __future__ import annotations

import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)
from ...model import Model
from ...scoring.levels import round_half_up
from .words import (
    TYPE_PLURALS,
    handbook_link,
    level_number,
    level_phrase,
    level_range,
    level_words,
    list_words,
    number,
    report_wording,
    without_constant_columns,
)


def focus_sentences(focus: pd.DataFrame) -> list:
    """One item per focus area (HTML with the dimension name in bold and escaped), for ``markup.bullets``."""

    out = []
    for r in focus.itertuples():
        parts = [f"now at level {level_number(r.level)}"]
        if pd.notna(r.peer_median):
            rel = "below" if r.below_peers > 0 else "at or above"
            parts.append(f"{rel} the peers' median of {level_number(r.peer_median)}")
        if pd.notna(r.target):
            parts.append(f"aiming for {level_number(r.target)}" + (", below where it is now" if r.target < r.level else ""))
        s = ", ".join(parts) + "."
        if r.stretch:
            s += (" Reaching the target would need more change in two years than 9 in 10 councils achieved; "
                  "plan for it accordingly.")
        out.append(html("<strong>{}</strong>: {}", r.dimension, s))
    return out


def level_label(value, model: Model) -> str:
    if value != value:
        return "not answered"
    v = int(round_half_up(value))
    return f"{value:g} ({model.level_name(v)})" if float(value).is_integer() else f"{value:g}"


# ---------------------------------------------------------------- council benchmark
POSITION_WORDS = {
    "in the top quarter": "in the top quarter of responding councils",
    "in the bottom quarter": "in the bottom quarter of responding councils",
    "in the top half": "in the top half of responding councils",
    "in the bottom half": "in the bottom half of responding councils",
    "not clearly different from the middle": "not clearly different from the middle of responding councils",
}


def position_sentence(name: str, row, min_coverage: int | None = None) -> str:
    """What the rank interval supports, never a bare rank."""
    if not isinstance(row.get("position"), str):
        return (f"{name} has no overall score this wave, so it is not placed among other councils: its "
                f"respondents answered {number(row['coverage'])} dimensions"
                + (f", and an overall score needs at least {number(min_coverage)}." if min_coverage else "."))
    k = row.get("n_respondents")
    who = (f"its {number(k)} respondents" if k and k > 1 else "its single respondent") if k == k and k is not None else "its respondents"
    return (f"Allowing for the disagreement between respondents (this score rests on {who}) and for the choices that "
            f"could reasonably be made in building the overall score, {name} ranks between "
            f"{number(row['rank_p5'])} and {number(row['rank_p95'])} of {number(row['councils_ranked'])} responding councils "
            f"with an overall score (5th to 95th percentile). That places it {POSITION_WORDS[row['position']]}.")


def change_verdict(r) -> str:
    """One change, read against the disagreement between respondents, in the words of data/report_wording.yaml."""
    w = report_wording()["change_verdicts"]
    if not r.beyond_noise:
        return w["noise"]
    return w["beyond"] if getattr(r, "clearly_beyond_noise", True) else w["edge"]


def council_change_table(changes: "pd.DataFrame") -> "pd.DataFrame":
    """One row per dimension (and overall): before, after and what the change is read as. The verdict column is
    left out when it is the same on every row (:func:`council_change_summary` then says it once)."""
    before = f"Level in {int(changes['wave_from'].iloc[0])}" if len(changes) else "Before"
    after = f"Level in {int(changes['wave_to'].iloc[0])}" if len(changes) else "After"
    fmt = lambda d, v: number(v, 1) if d == "overall_mean" else level_number(v)
    t = pd.DataFrame({"Dimension": changes["dimension"].to_numpy(),
                      before: [fmt(d, v) for d, v in zip(changes["dimension_id"], changes["before"])],
                      after: [fmt(d, v) for d, v in zip(changes["dimension_id"], changes["after"])],
                      "Against respondents' disagreement": [change_verdict(r) for r in changes.itertuples()]})
    if t.iloc[:, -1].nunique() <= 1:
        t = t.iloc[:, :-1]
    return t


def council_change_summary(changes: "pd.DataFrame") -> str:
    """The change since the last wave in one or two sentences: 'Nothing changed beyond what the disagreement between
    respondents explains, except Leadership (up from 3 to 4).', and how many flags chance alone would give."""
    from ...scoring.change import ALPHA

    if changes.empty:
        return "No dimension was answered in both waves, so there is no change to report."
    flagged = changes[changes["beyond_noise"]]
    said = lambda r: (f"{r.dimension} ({'up' if r.after > r.before else 'down'} from "
                      f"{number(r.before, 1) if r.dimension_id == 'overall_mean' else level_number(r.before)} to "
                      f"{number(r.after, 1) if r.dimension_id == 'overall_mean' else level_number(r.after)}"
                      + ("" if getattr(r, "clearly_beyond_noise", True) else "; at the edge of what the test can settle")
                      + ")")
    if flagged.empty:
        s = "Nothing changed beyond what the disagreement between respondents explains."
    elif len(flagged) == len(changes):
        s = "Every change is larger than the disagreement between respondents explains."
    else:
        s = ("Nothing changed beyond what the disagreement between respondents explains, except "
             f"{list_words(said(r) for r in flagged.itertuples())}.")
    n = len(changes)
    s += (f" With no real change at all, about 1 in {round(1 / ALPHA)} of these {number(n)} comparisons would be "
          f"flagged by chance (about {number(ALPHA * n, 1)} of them), so a single flag is weak evidence on its own.")
    return s


# ---------------------------------------------------------------- council report helpers
def tied_names(rows: "pd.DataFrame", value: float) -> list[str]:
    """The dimensions of ``rows`` at exactly ``value`` (compared at the precision shown), in model order."""
    return rows.loc[rows["level"].round(2) == round(float(value), 2), "dimension"].tolist()


def strengths_and_gaps(profile: "pd.DataFrame", model: Model) -> list[str]:
    """'Highest: A, B and C (4: Mainstreamed).' and 'Lowest: …', with every dimension tied at the top or bottom
    named; one sentence when every answered dimension is at the same level."""
    dims = profile[profile["dimension_id"] != "overall_mean"].dropna(subset=["level"])
    if dims.empty:
        return []
    hi, lo = dims["level"].max(), dims["level"].min()
    say = lambda v: f"{level_number(v)}: {level_phrase(v, model)}"
    if round(hi, 2) == round(lo, 2):
        return [f"Every answered dimension is at the same level ({say(hi)})."]
    top, bottom = tied_names(dims, hi), tied_names(dims, lo)
    return [f"Highest: {list_words(top)} ({say(hi)}).", f"Lowest: {list_words(bottom)} ({say(lo)})."]


def targets_below_level(profile: "pd.DataFrame") -> str:
    """A remark on every dimension whose target is below the council's current level ('' when none is)."""
    p = profile[profile["dimension_id"] != "overall_mean"].dropna(subset=["level", "target"])
    low = p[p["target"] < p["level"]]
    if low.empty:
        return ""
    items = [f"{r.dimension} (level {level_number(r.level)}, target {level_number(r.target)})" for r in low.itertuples()]
    one = len(items) == 1
    return (f"The target is below the current level on {list_words(items)}: "
            + ("either the respondents expect it to fall, or the target question was read another way; "
               if one else "either the respondents expect these to fall, or the target question was read another "
               "way; ") + "check with them before planning.")


def council_summary(name: str, mine, profile: "pd.DataFrame", peers: dict, model: Model) -> Markup:
    """The council report's first lines: the overall level in the model's words, strengths and gaps with ties
    shown, where the council stands, and any target below the current level."""
    o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
    if o["level"] == o["level"]:
        s = f"{name}'s overall level in this wave is {level_words(o['level'], model)}."
        if peers.get("peers_shown") and o["peer_median"] == o["peer_median"]:
            s += f" Its peers' median is {number(o['peer_median'], 1)}."
        lines = [s]
    else:
        lines = [f"{name} has no overall level in this wave: too few dimensions were answered."]
    lines += strengths_and_gaps(profile, model)
    if isinstance(mine.get("position"), str):
        lines.append(f"Allowing for disagreement between respondents and reasonable ways of building the score, it is "
                     f"{POSITION_WORDS[mine['position']]}.")
    else:
        lines.append("Too few dimensions were answered for an overall score, so it is not placed among other councils.")
    below = targets_below_level(profile)
    if below:
        lines.append(below)
    return bullets(lines) + handbook_link(model, "council")


def profile_table(profile: "pd.DataFrame", peers: dict) -> "pd.DataFrame":
    """The dimensions (the overall row is :func:`overall_sentence`): the council's level and target, its peers'
    median and middle 80% (at the precision the data have: whole or half levels) and the median of councils of
    its type. A column that would say the same on every row is left out; ``attrs['notes']`` says it once."""
    p = profile[profile["dimension_id"] != "overall_mean"]
    t = pd.DataFrame({"Dimension": p["dimension"], "Your level": p["level"].map(level_number),
                      "Your target": p["target"].map(level_number)})
    if peers["peers_shown"]:
        t["Peers' median"] = p["peer_median"].map(level_number)
        t["Peers' middle 80%"] = [level_range(lo, hi) for lo, hi in zip(p["peer_low"], p["peer_high"])]
    t[_type_column(peers)] = p["type_median"].map(level_number)
    t, notes = without_constant_columns(t.reset_index(drop=True), keep=("Dimension", "Your level"))
    t.attrs["notes"] = notes
    return t


def _type_column(peers: dict) -> str:
    return f"Median of {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}"


def overall_sentence(profile: "pd.DataFrame", peers: dict) -> str:
    """The overall row of the profile in one sentence (the table holds the dimensions)."""
    o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
    if o["level"] != o["level"]:
        return "There is no overall score: too few dimensions were answered."
    parts = [f"Overall: score {number(o['level'], 1)}"]
    if o["target"] == o["target"]:
        parts[0] += f", average target {number(o['target'], 1)}"
    if peers["peers_shown"] and o["peer_median"] == o["peer_median"]:
        parts.append(f"peers' median {number(o['peer_median'], 1)} (middle 80%: "
                     f"{level_range(o['peer_low'], o['peer_high'], 0.1)})")
    if o["type_median"] == o["type_median"]:
        col = _type_column(peers)
        parts.append(f"{col[:1].lower() + col[1:]} {number(o['type_median'], 1)}")
    return "; ".join(parts) + "."


def peer_note(peers: dict, table: "pd.DataFrame | None" = None) -> str:
    """Who the peers are, or why their figures are withheld, and what the table leaves out because it would be
    the same on every row (``table``: :func:`profile_table`)."""
    notes = " ".join((table.attrs.get("notes") if table is not None else None) or [])
    kind = TYPE_PLURALS.get(peers["type_group"], peers["type_group"])
    if not peers["peers_shown"]:
        s = (f"Only {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
             f"neighbours took part, fewer than 5, so peer figures are withheld to protect their answers; the chart "
             f"and table show no peers. Councils of the same type: all {number(peers['type_responding'])} other "
             f"responding {kind}.")
    else:
        s = (f"Peers: {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
             f"neighbours ({peers['pool']}) took part. Councils of the same type: all {number(peers['type_responding'])} "
             f"other responding {kind}.")
    return s + (" " + notes if notes else "")


def self_vs_independent(council: str, name: str, council_levels: "pd.DataFrame", model, wave: int) -> str:
    lv = council_levels[(council_levels["council_code"] == council) & (council_levels["wave"] == wave)].set_index("assessment_type")
    others = [t for t in ("independent", "peer") if t in lv.index]
    if "self" not in lv.index or not others:
        return (f"{name} has no peer or independent assessment in {wave}, so its self-assessment cannot be "
                "compared with one.")
    o = others[0]
    diffs = [(model.dimension_name(d), lv.loc["self", d] - lv.loc[o, d]) for d in model.dimension_ids
             if lv.loc["self", d] == lv.loc["self", d] and lv.loc[o, d] == lv.loc[o, d]]
    higher = [d for d, x in diffs if x > 0]
    mean_gap = lv.loc["self", "overall_mean"] - lv.loc[o, "overall_mean"]
    return (f"{name} also had {'an' if o == 'independent' else 'a'} {o} assessment in {wave}. Its self-assessed overall score "
            f"was {number(abs(mean_gap), 2)} levels {'higher' if mean_gap > 0 else 'lower'} than the {o} one. "
            f"The self-assessment was higher on {number(len(higher))} of {number(len(diffs))} dimensions"
            + (f" ({list_words(higher)})." if higher else "."))


def evidence_table(answers: "pd.DataFrame", council: str, wave: int, model) -> "pd.DataFrame":
    a = answers[(answers["council_code"] == council) & (answers["wave"] == wave) & (answers["assessment_type"] == "self")]
    a = a.dropna(subset=["evidence"])
    order = {d: i for i, d in enumerate(model.dimension_ids)}
    a = a.assign(_order=a["dimension_id"].map(order)).sort_values(["_order", "respondent_role"], kind="stable")
    if a.empty:
        return pd.DataFrame({"Dimension": ["–"], "Evidence": ["No evidence text was given."]})
    text = a["evidence"].astype(str)
    short = text.where(text.str.len() <= 1000, text.str.slice(0, 1000) + " … (shortened)")
    # free text is escaped by html_table (dqm.markup); spreadsheet formulas are shown as text, never evaluated
    return pd.DataFrame({"Dimension": a["dimension_id"].map(model.dimension_name), "Respondent's role":
                         a["respondent_role"].fillna("–"), "Evidence": short}).reset_index(drop=True)

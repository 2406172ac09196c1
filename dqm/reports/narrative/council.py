"""Words of the council benchmark report.
"""
from __future__ import annotations

import pandas as pd

from ...markup import Markup, bullets, escape, html, paragraph  # noqa: F401  (escape: the one escaping path)
from ...model import Model
from ...scoring.levels import round_half_up
from .words import TYPE_PLURALS, change_sentence, list_words, number


def focus_sentences(focus: pd.DataFrame) -> list:
    """One item per focus area (HTML with the dimension name in bold and escaped), for ``markup.bullets``."""

    out = []
    for r in focus.itertuples():
        parts = [f"now at level {number(r.level, 1)}"]
        if pd.notna(r.peer_median):
            rel = "below" if r.below_peers > 0 else "at or above"
            parts.append(f"{rel} the peers' median of {number(r.peer_median, 1)}")
        if pd.notna(r.target):
            parts.append(f"aiming for {number(r.target, 1)}")
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
            f"(5th to 95th percentile). That places it {POSITION_WORDS[row['position']]}.")


def council_change_sentences(changes) -> list[str]:
    """One line per dimension, read against respondent disagreement, and how many flags chance alone would give."""
    from ...scoring.change import ALPHA

    out = []
    for r in changes.itertuples():
        s = change_sentence(r.dimension, r.before, r.after)
        if not r.beyond_noise:
            tail = " – within the range that disagreement between respondents could explain."
        elif getattr(r, "clearly_beyond_noise", True):
            tail = " – larger than the disagreement between respondents would explain."
        else:
            tail = (" – at the edge of what disagreement between respondents could explain: with so few whole-number "
                    "answers the test cannot settle it, and its fixed tie-break flags it.")
        out.append(s[:-1] + tail)
    if len(changes):
        out.append(f"With no real change at all, about 1 in {round(1 / ALPHA)} of these {number(len(changes))} comparisons "
                   f"would be flagged by chance (about {number(ALPHA * len(changes), 1)} of them), so a single flag is "
                   "weak evidence on its own.")
    return out


# ---------------------------------------------------------------- council report helpers
def council_summary(name: str, mine, profile: "pd.DataFrame", peers: dict) -> Markup:
    o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
    dims = profile[profile["dimension_id"] != "overall_mean"].dropna(subset=["level"]).sort_values("level")
    if o["level"] == o["level"]:
        lines = [f"{name}'s overall score in this wave is {number(o['level'], 1)} on the 5-level scale"
                 + (f", against a median of {number(o['peer_median'], 1)} among its peers." if o["peer_median"] == o["peer_median"] else ".")]
    else:
        lines = [f"{name} has no overall score in this wave: too few dimensions were answered."]
    if len(dims):
        lines.append(f"Its highest self-assessed level is on {dims.iloc[-1]['dimension']} ({number(dims.iloc[-1]['level'], 1)}) "
                     f"and its lowest on {dims.iloc[0]['dimension']} ({number(dims.iloc[0]['level'], 1)}).")
    if isinstance(mine.get("position"), str):
        lines.append(f"Allowing for disagreement between respondents and reasonable ways of building the score, it is "
                     f"{POSITION_WORDS[mine['position']]}.")
    else:
        lines.append("Too few dimensions were answered for an overall score, so it is not placed among other councils.")
    return bullets(lines)


def profile_table(profile: "pd.DataFrame", peers: dict) -> "pd.DataFrame":
    f = lambda v: "–" if v != v else number(v, 1)
    t = pd.DataFrame({"Dimension": profile["dimension"], "Your level": profile["level"].map(f),
                      "Your target": profile["target"].map(f)})
    if peers["peers_shown"]:
        t["Peers' median"] = profile["peer_median"].map(f)
        t["Peers' middle 80%"] = [f"{f(lo)} to {f(hi)}" for lo, hi in zip(profile["peer_low"], profile["peer_high"])]
    t[f"Median of {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}"] = profile["type_median"].map(f)
    return t


def peer_note(peers: dict) -> str:
    if not peers["peers_shown"]:
        return (f"Only {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
                f"neighbours took part, fewer than 5, so peer figures are withheld to protect their answers.")
    return (f"Peers: {number(peers['peers_responding'])} of this council's {number(peers['peers_defined'])} nearest "
            f"neighbours ({peers['pool']}) took part. The last column compares with all "
            f"{number(peers['type_responding'])} other responding {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}.")


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

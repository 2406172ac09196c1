"""Words of the council benchmark report.
"""
from __future__ import annotations

import pandas as pd

from ...markup import Markup, bullets, escape, heading, html, paragraph  # noqa: F401  (escape: the one escaping path)
from ...model import Model
from ...scoring.levels import round_half_up
from .words import (
    TYPE_PLURALS,
    estimate_interval,
    handbook_link,
    interval_places,
    interval_words,
    level_number,
    level_phrase,
    level_range,
    level_words,
    list_words,
    number,
    percent,
    plural,
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


def ordinal(n) -> str:
    """'1st', '2nd', '3rd', '11th', '112th', '1,021st'.

    >>> [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 112, 1021)]
    ['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '21st', '112th', '1,021st']
    """
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{number(n)}{suffix}"


def rank_range(low, high, n) -> str:
    """'between 54th and 140th of 224 councils' (whole ranks, 1st = highest); 'at 1st of 224 councils' only when
    the model's draws put it there (nearly) every time."""
    where = f"between {ordinal(low)} and {ordinal(high)}" if int(low) != int(high) else f"at {ordinal(low)}"
    return f"{where} of {plural(n, 'council')}"


def scales() -> dict:
    """The council report's two scales in words (data/report_wording.yaml, ``council_scales``): the model level,
    on the scale of independent assessment, and the overall score, in the respondents' own answers."""
    return report_wording()["council_scales"]


def _type_plural(type_group) -> str:
    return TYPE_PLURALS.get(type_group, str(type_group))


def same_scale_comparison(peer_median, type_median, type_group, scale: str) -> str:
    """'On that scale its peers' median is 3.0 and the median of English unitary councils 2.9.' (either left out
    when withheld: fewer than 5 councils; '' when both are)."""
    parts = []
    if peer_median == peer_median and peer_median is not None:
        parts.append(f"its peers' median is {number(peer_median, 1)}")
    if type_median == type_median and type_median is not None:
        parts.append(f"the median of {_type_plural(type_group)} {'is ' if not parts else ''}{number(type_median, 1)}")
    return f" {scale} {' and '.join(parts)}." if parts else ""


def level_sentence(name: str, mine, model: Model, meanings: bool = True, rank: bool = False) -> str:
    """The council's model level, in the model's words (with the levels' meanings unless ``meanings`` is False),
    with its 90% interval, the scale it is on, its rank interval when ``rank`` and, on that same scale, its peers'
    and type's medians when ``mine`` has them (:func:`dqm.scoring.profile.model_comparison`)."""
    w = scales()
    ranks = (f" By it, {name} ranks {rank_range(mine['rank_low'], mine['rank_high'], mine['councils_ranked'])} "
             f"(90% interval): {POSITION_WORDS[mine['position']]}." if rank else "")
    return (f"{name}'s {w['model_name']} is {level_words(mine['level'], model, meanings=meanings)}; 90% interval "
            f"{interval_words(mine['level_low'], mine['level_high'])}, {w['model_scale']}." + ranks
            + same_scale_comparison(mine.get("peer_median"), mine.get("type_median"), mine.get("type_group"),
                                    "On that scale"))


def score_sentence(name: str, profile: "pd.DataFrame", mine, model: Model) -> str:
    """The council's overall score (the mean of its dimension levels in its respondents' own answers), the handbook's
    overall level it gives when ``mine`` has it (``rule_level``), and its peers' and type's medians of the same
    answers ('' when there is no overall score)."""
    w = scales()
    o = profile[profile["dimension_id"] == "overall_mean"]
    if not len(o) or o["level"].iloc[0] != o["level"].iloc[0]:
        return ""
    o = o.iloc[0]
    rule = mine.get("rule_level")
    by_rule = (f" (overall level {level_number(rule)}: {level_phrase(rule, model)}, by the handbook's rule)"
               if rule is not None and rule == rule else "")
    return (f"Its {w['answers_name']}, the mean of the dimension levels {w['answers_scale']}, is "
            f"{number(o['level'], 1)}{by_rule}."
            + same_scale_comparison(o["peer_median"], o["type_median"], mine.get("type_group"), "In those answers"))


def scale_note(name: str, mine=None, model: Model | None = None) -> str:
    """The model level in the model's words with the levels' meanings (when ``mine`` and ``model`` are given; the
    first screen names the levels only), and why it can be lower than the council's overall score and the medians
    of answers."""
    w = scales()
    said = (f"{name}'s {w['model_name']} is {level_words(mine['level'], model)}. It"
            if mine is not None and model is not None else f"{name}'s {w['model_name']}")
    return (f"{said} allows for what its respondents' answers cannot settle (their disagreement "
            f"and leniency, rounding to whole levels and the bias of self-assessment). It is {w['model_scale']}: "
            f"{w['model_why']}, so it can be lower than the council's {w['answers_name']} (the mean of its own "
            "answers, shown with the chart of levels). Peers and councils of the same type are compared with it on "
            "the same scale, and with the overall score in their own answers; never one scale against the other. "
            "The State of Digital report's sector averages are on the model's scale, like the model level. "
            "The model level's own interval is the model's (posterior) interval: for a council far from the middle "
            "it is pulled a little toward the middle, so it holds the true level less often at the very top and "
            "bottom than in between; the range of ranks is built so that it holds there too (the study in "
            "studies/measurement, round 3).")


def answered(profile: "pd.DataFrame") -> int:
    """How many dimensions the council's respondents answered (the profile's dimension rows with a level)."""
    return int(profile.loc[profile["dimension_id"] != "overall_mean", "level"].notna().sum())


def has_overall(profile: "pd.DataFrame") -> bool:
    """Whether the council answered enough dimensions for the quality model's overall level (its ``min_coverage``):
    a council that did not is given no overall level or position, whatever the measurement model could infer."""
    o = profile.loc[profile["dimension_id"] == "overall_mean", "level"]
    return bool(len(o)) and o.iloc[0] == o.iloc[0]


def position_sentence(name: str, mine, wave: int) -> str:
    """Where the measurement model places the council among the wave's councils: its rank interval and what that
    whole interval supports, never a bare rank (``mine``: its row of :func:`dqm.scoring.positions.council_positions`)."""
    k = int(mine["n_respondents"])
    who = f"its {number(k)} respondents" if k > 1 else "its single respondent"
    return (f"By its {scales()['model_name']}, allowing for what {who} cannot settle, {name} ranks "
            f"{rank_range(mine['rank_low'], mine['rank_high'], mine['councils_ranked'])} assessed in "
            f"{int(wave)} (self, peer or independent assessment; 90% interval; 1st is the highest level). That places it {POSITION_WORDS[mine['position']]}.")


def position_parts(name: str, council: str, mine, profile: "pd.DataFrame", sensitivity: "pd.DataFrame", notes,
                   wave: int, model: Model) -> list:
    """The council report's position among councils: the measurement model's rank interval, the rank range under
    other aggregation rules, and what the model had to assume; or, for a council that answered too few dimensions
    for an overall level, why it is not placed."""
    if not has_overall(profile):
        return [f"{name} has no overall score this wave, so it is given no model level and is not placed among other "
                f"councils: its respondents answered {number(answered(profile))} dimensions, and an overall score "
                f"needs at least {number(model.min_coverage)}.", assumptions_paragraph(notes)]
    return [scale_note(name, mine, model), position_sentence(name, mine, wave), rules_sensitivity_sentence(sensitivity, council),
            assumptions_paragraph(notes)]


def rules_sensitivity_sentence(sensitivity: "pd.DataFrame", council: str) -> str:
    """The council's rank range when its answers, as given, are combined by other defensible rules (``sensitivity``:
    :func:`dqm.reports.wave.sensitivity_ranks`, where a council with no overall score under them has no row)."""
    rows = sensitivity[sensitivity["council_code"] == council]
    sensitivity = rows.iloc[0] if len(rows) else None
    rules = ("combining respondents by their median or mean, leaving missing dimensions out or filling them, taking "
             "the mean, geometric mean, median or lowest of the dimensions, and weighting them differently")
    if sensitivity is None:
        return (f"Under other defensible rules for building an overall score ({rules}) it has none: too few "
                "dimensions were answered.")
    lo, hi = round(float(sensitivity["rank_p5"])), round(float(sensitivity["rank_p95"]))
    return (f"Under other defensible rules for building the overall score from the same answers ({rules}), its "
            f"position would be {rank_range(lo, hi, sensitivity['councils_ranked'])} with an overall score (the "
            "councils that self-assessed enough dimensions for one; the range above counts every council assessed "
            "in any way). This shows how much the choice of rule matters; it is not part of the interval above.")


def assumptions_paragraph(notes) -> Markup:
    """What the measurement model could not tell from the data and assumed instead, as a paragraph (empty when it
    estimated everything)."""
    notes = [str(n) for n in notes if str(n).strip()]
    if not notes:
        return Markup("")
    return paragraph(" ".join(notes), lead="What the model had to assume.")


def change_verdict(r) -> str:
    """One change as the model's test reads it, in the words of data/report_wording.yaml."""
    w = report_wording()["change_verdicts"]
    if r.p_value != r.p_value:
        return w["untested"]
    return w["beyond"] if r.flagged else w["noise"]


def _dimension_label(dimension_id: str, model: Model) -> str:
    return "Overall" if dimension_id == "overall" else model.dimension_name(dimension_id)


def _ordered(changes: "pd.DataFrame", model: Model) -> "pd.DataFrame":
    order = {d: i for i, d in enumerate(list(model.dimension_ids) + ["overall"])}
    return changes.assign(_o=changes["dimension"].map(order)).sort_values("_o", kind="stable").drop(columns="_o")


def _chance(p) -> str:
    """A chance for a table: '12%', 'under 1%', 'over 99%' (never a bare 0% or 100%)."""
    return "under 1%" if p < 0.01 else ("over 99%" if p > 0.99 else percent(p))


def council_change_table(changes: "pd.DataFrame", model: Model) -> "pd.DataFrame":
    """One row per dimension (and overall): the change in level with its 90% interval, the chance it moved a whole
    level, and what the model's test reads it as. A column the same on every row is left out;
    ``attrs['notes']`` says it once (:func:`council_change_summary` gives the verdicts in words)."""
    c = _ordered(changes, model)
    t = pd.DataFrame({"Dimension": [_dimension_label(d, model) for d in c["dimension"]],
                      "Change in level (90% interval)": [estimate_interval(v, lo, hi, sign=True) for v, lo, hi
                                                         in zip(c["change"], c["change_low"], c["change_high"])],
                      "Chance it moved a whole level": c["prob_moved_one_level"].map(_chance).to_numpy(),
                      "Against respondents' disagreement": [change_verdict(r) for r in c.itertuples()]})
    t, notes = without_constant_columns(t.reset_index(drop=True), keep=("Dimension", "Change in level (90% interval)"))
    t.attrs["notes"] = notes
    return t


def in_tens(p) -> str:
    """A chance as 'about 4 in 10 times' (or 'fewer than 1 in 10 times', 'nearly every time')."""
    k = round(float(p) * 10)
    return "fewer than 1 in 10 times" if k < 1 else ("nearly every time" if k >= 10 else f"about {k} in 10 times")


def change_power_sentence(changes: "pd.DataFrame") -> str:
    """What the test could find, said once: the chance a real change of one whole level is flagged, on a dimension
    (the median over the council's dimensions) and overall."""
    dims = changes[changes["dimension"] != "overall"]["power_one_level"]
    overall = changes[changes["dimension"] == "overall"]["power_one_level"]
    s = "With this council's respondents, a real change of one whole level"
    if len(dims):
        s += f" on a dimension would be flagged {in_tens(dims.median())}"
        if len(overall):
            s += f" (on the {scales()['model_name']} overall, {in_tens(overall.iloc[0])})"
    elif len(overall):
        s += f" on the {scales()['model_name']} overall would be flagged {in_tens(overall.iloc[0])}"
    return s + ", so a dimension that is not flagged may still have changed."


def no_change_reason(name: str, changes: "pd.DataFrame", wave: int, wave_from: int | None) -> str:
    """Why there is no change to report ('' when there is one): ``wave`` is the store's first, or the council did
    not take part in ``wave_from`` (``changes``: the council's own change rows)."""
    if wave_from is None:
        return (f"{int(wave)} is the first wave in this store, so there is no earlier assessment to compare with and "
                "no change to report.")
    if changes.empty:
        return f"{name} did not take part in {int(wave_from)}, so there is no change to report."
    return ""


EXPLAINED = "differences between respondents and rounding to whole levels could explain"


def overall_change_words(r, wave_from: int) -> str:
    """The overall change in words, with its 90% interval: 'Since 2025 the model level is up about 0.2 overall (90%
    interval 0.0 to +0.3)', or 'about the same overall' when it rounds to nothing (``r``: the overall change row)."""
    dp = interval_places(r.change_low, r.change_high, 1, (), sign=True)  # the places the interval needs, for both
    size = number(abs(r.change), dp)
    move = ("about the same overall (" if size == number(0, dp) else
            f"{'up' if r.change > 0 else 'down'} about {size} levels overall (")
    return (f"Since {int(wave_from)} its {scales()['model_name']} is {move}90% interval "
            f"{interval_words(r.change_low, r.change_high, dp, sign=True)})")


def change_headline(changes: "pd.DataFrame", model: Model, wave_from: int) -> str:
    """What changed since ``wave_from``, in two sentences: the overall change with its interval and whether it is
    more than :data:`EXPLAINED`, then which dimensions, if any, changed by more than that: 'Since 2025 the model
    level is up about 0.2 overall (90% interval 0.0 to +0.3), within what differences between respondents and
    rounding to whole levels could explain. No dimension changed by more than that, so none is a change to be sure
    of.'"""
    if changes.empty:
        return "No dimension was answered in both waves, so there is no change to report."
    c = _ordered(changes, model)
    overall = c[c["dimension"] == "overall"]
    dims = c[c["dimension"] != "overall"]
    flagged = dims[dims["flagged"]]
    said = lambda r: (f"{_dimension_label(r.dimension, model)} ({'up' if r.change > 0 else 'down'} "  # noqa: E731
                      f"{number(abs(r.change), 1)} levels)")
    if len(overall):
        o = next(overall.itertuples())
        first = overall_change_words(o, wave_from) + (f", more than {EXPLAINED}." if o.flagged else
                                                      f", within what {EXPLAINED}.")
        than = "that"
    else:
        first, than = f"Since {int(wave_from)}:", f"what {EXPLAINED}"
    if flagged.empty:
        second = f"no dimension changed by more than {than}, so none is a change to be sure of."
    elif len(flagged) == len(dims):
        second = f"every dimension changed by more than {than}."
    else:
        second = (f"{list_words(said(r) for r in flagged.itertuples())} changed by more than {than}; no other "
                  "dimension did.")
    second = second if first.endswith(":") else second[:1].upper() + second[1:]
    return f"{first} {second}"


def change_line(council: str, name: str, changes: "pd.DataFrame", model: Model, wave: int,
                wave_from: int | None) -> str:
    """The first screen's one sentence on change: :func:`no_change_reason`, else :func:`change_headline` for the
    council's rows of the wave's ``changes`` (:func:`dqm.reports.wave.council_changes`)."""
    ch = changes[changes["council_code"] == council].reset_index(drop=True)
    return no_change_reason(name, ch, wave, wave_from) or change_headline(ch, model, wave_from)


def council_change_summary(changes: "pd.DataFrame", model: Model, wave_from: int, alpha: float) -> str:
    """The change since ``wave_from`` in a few sentences: what the model flags (:func:`change_headline`), how many
    flags chance alone would give at the test's level ``alpha``, and the test's power for a one-level change,
    stated once."""
    s = change_headline(changes, model, wave_from)
    if changes.empty:
        return s
    c = _ordered(changes, model)
    n = int(c["p_value"].notna().sum())  # a dimension not answered in both waves is estimated, not tested
    s += (f" With no real change at all, about 1 in {round(1 / alpha)} of these {number(n)} comparisons would be "
          f"flagged by chance (about {number(alpha * n, 1)} of them), so a single flag is weak evidence on its own.")
    return s + " " + change_power_sentence(c)


# ---------------------------------------------------------------- council report helpers
def tied_names(rows: "pd.DataFrame", value: float) -> list[str]:
    """The dimensions of ``rows`` at exactly ``value`` (compared at the precision shown), in model order."""
    return rows.loc[rows["level"].round(2) == round(float(value), 2), "dimension"].tolist()


def strengths_and_gaps(profile: "pd.DataFrame", model: Model) -> list[str]:
    """'Highest in its respondents' own answers: A, B and C (4: Mainstreamed). Lowest: …', one line, with every
    dimension tied at the top or bottom named; one sentence when every answered dimension is at the same level.
    The levels are the medians of the respondents' answers, so the scale is said."""
    dims = profile[profile["dimension_id"] != "overall_mean"].dropna(subset=["level"])
    if dims.empty:
        return []
    hi, lo = dims["level"].max(), dims["level"].min()
    say = lambda v: f"{level_number(v)}: {level_phrase(v, model)}"
    where = scales()["answers_scale"]
    if round(hi, 2) == round(lo, 2):
        return [f"Every answered dimension is at the same level {where} ({say(hi)})."]
    top, bottom = tied_names(dims, hi), tied_names(dims, lo)
    return [f"Highest {where}: {list_words(top)} ({say(hi)}). Lowest: {list_words(bottom)} ({say(lo)})."]


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


def summary_lines(name: str, mine, profile: "pd.DataFrame", model: Model) -> list[str]:
    """The council report's summary as lines, each figure on a named scale and compared only with figures on the
    same one: the model level in the model's words with its 90% interval (and, when ``mine`` has them, its peers'
    and type's medians on that scale), the overall score in the respondents' own answers (with theirs), strengths
    and gaps in those answers with ties shown, where the model level places the council (``mine``: its row of
    :func:`dqm.scoring.positions.council_positions`, or of :func:`dqm.scoring.profile.model_comparison`), and any
    target below the current level. A council that answered too few dimensions for an overall score is given no
    model level and no position."""
    if has_overall(profile):
        lines = [level_sentence(name, mine, model, meanings=False, rank=True), score_sentence(name, profile, mine, model)]
    else:
        lines = [f"{name} has no overall score in this wave, and so no model level and no place among other councils: "
                 f"its respondents answered {number(answered(profile))} dimensions, and an overall score needs at "
                 f"least {number(model.min_coverage)}."]
    lines += strengths_and_gaps(profile, model)
    below = targets_below_level(profile)
    if below:
        lines.append(below)
    return lines


def council_summary(name: str, mine, profile: "pd.DataFrame", model: Model) -> Markup:
    """:func:`summary_lines` as a list, with the link to the handbook that says what the levels mean."""
    return bullets(summary_lines(name, mine, profile, model)) + handbook_link(model, "council")


# ---------------------------------------------------------------- the first screen: one printed page
NEXT_ACTIONS = 3
ACTIONS_RULE = ("Picked by one rule: for each dimension in the order of \u201cWhere to focus\u201d (how far it is below "
                "the peers\u2019 median, plus half its distance from its target), the action library\u2019s first "
                "action for its next level. All the library\u2019s actions are listed under \u201cWhere to focus\u201d.")


def next_actions(profile: "pd.DataFrame", realism, model: Model, library, n: int = NEXT_ACTIONS) -> "pd.DataFrame":
    """The council's next ``n`` actions by one rule (:data:`ACTIONS_RULE`): the dimensions in the order of
    :func:`dqm.scoring.profile.focus_areas`, skipping any with no next level or no action for it in the library
    ``library``, and the library's first action for each one's next level (columns of
    :func:`dqm.documents.actions.next_level_actions`)."""
    from ...documents.actions import next_level_actions
    from ...scoring.profile import focus_areas

    ranked = focus_areas(profile, realism, top=len(profile))
    top = max(model.level_values)
    has_step = [pd.notna(r.level) and int(round_half_up(r.level)) < top
                and bool(library.for_step(r.dimension_id, int(round_half_up(r.level)))) for r in ranked.itertuples()]
    chosen = ranked[has_step].head(n)
    acts = next_level_actions(chosen, model, library)
    return acts.groupby("Dimension", sort=False).head(1).reset_index(drop=True)


def _actions_list(actions: "pd.DataFrame") -> Markup:
    """The actions as a numbered list: the dimension and the level it moves towards, then the action."""
    items = Markup("").join(html("<li><strong>{}</strong>, towards {}: {}</li>", dimension, level, action)
                            for dimension, level, action in zip(actions["Dimension"], actions["Next level"],
                                                                actions["Action"]))
    return Markup("<ol>") + items + Markup("</ol>")


def first_screen(name: str, mine, profile: "pd.DataFrame", model: Model, change: str,
                 actions: "pd.DataFrame") -> Markup:
    """The council report's first screen, one printed A4 page (report.css starts the detail on the next): the
    summary (:func:`summary_lines`), what changed in one sentence (``change``: :func:`change_headline` or
    :func:`no_change_reason`), the next actions (``actions``: :func:`next_actions`) with the rule that picked them,
    and the link to the handbook."""
    k = len(actions)
    count = {1: "action", 2: "two actions", 3: "three actions"}.get(k, f"{number(k)} actions")
    parts = [html('<section class="dqm-first-screen" aria-labelledby="summary">'), heading("Summary", 2, id="summary"),
             bullets(summary_lines(name, mine, profile, model)), paragraph(change, lead="What changed.")]
    if k:
        parts += [heading(f"The next {count}", 3), _actions_list(actions), paragraph(ACTIONS_RULE, cls="dqm-rule")]
    else:
        parts.append(paragraph("The action library has no next step for this council's dimensions: every answered "
                               "dimension is at the top level, or the library has no action for its next one.",
                               lead="Next actions."))
    parts += [handbook_link(model, "council"), Markup("</section>")]
    return Markup("").join(parts)


def profile_table(profile: "pd.DataFrame", peers: dict) -> "pd.DataFrame":
    """The dimensions (the overall row is :func:`overall_sentence`): the council's level and target, its peers'
    median and middle 80% and the median of councils of its type, all at the precision the levels have
    (``peers['step']``, :func:`dqm.scoring.profile.council_profile`: whole or half levels). A column that would say the same on every row is left out; ``attrs['notes']`` says it once."""
    p = profile[profile["dimension_id"] != "overall_mean"]
    t = pd.DataFrame({"Dimension": p["dimension"], "Your level": p["level"].map(level_number),
                      "Your target": p["target"].map(level_number)})
    if peers["peers_shown"]:
        t["Peers' median"] = p["peer_median"].map(level_number)
        t["Peers' middle 80%"] = [level_range(lo, hi, peers.get("step", 0.5)) for lo, hi in zip(p["peer_low"], p["peer_high"])]
    t[_type_column(peers)] = p["type_median"].map(level_number)
    t, notes = without_constant_columns(t.reset_index(drop=True), keep=("Dimension", "Your level"))
    t.attrs["notes"] = notes
    return t


def _type_column(peers: dict) -> str:
    return f"Median of {TYPE_PLURALS.get(peers['type_group'], peers['type_group'])}"


def overall_sentence(profile: "pd.DataFrame", peers: dict, mine=None) -> str:
    """The overall row of the profile in one sentence, in the respondents' own answers like the table that holds
    the dimensions; with ``mine`` (:func:`dqm.scoring.profile.model_comparison`), a second sentence puts the model
    level beside its peers' and type's medians on the model's own scale."""
    o = profile[profile["dimension_id"] == "overall_mean"].iloc[0]
    if o["level"] != o["level"]:
        return "There is no overall score: too few dimensions were answered."
    w = scales()
    parts = [f"Overall score {w['answers_scale']}: {number(o['level'], 1)}"]
    if o["target"] == o["target"]:
        parts[0] += f", average target {number(o['target'], 1)}"
    if peers["peers_shown"] and o["peer_median"] == o["peer_median"]:
        parts.append(f"peers' median {number(o['peer_median'], 1)} (middle 80%: "
                     f"{level_range(o['peer_low'], o['peer_high'], peers.get('overall_step', 0.1))})")
    if o["type_median"] == o["type_median"]:
        col = _type_column(peers)
        parts.append(f"{col[:1].lower() + col[1:]} {number(o['type_median'], 1)}")
    s = "; ".join(parts) + "."
    if mine is not None:
        s += (f" {w['model_name'][:1].upper() + w['model_name'][1:]}, {w['model_scale']}: "
              f"{number(mine['level'], 1)}." + same_scale_comparison(mine.get("peer_median"), mine.get("type_median"),
                                                                   mine.get("type_group"), "On that scale"))
    return s


def pool_words(pool: str) -> str:
    """The council group neighbours are drawn from, for prose (:data:`dqm.scoring.peers.PEER_POOLS`).

    >>> pool_words("English single-tier"), pool_words("English counties"), pool_words("Wales")
    ('English single-tier councils', 'English counties', 'councils in Wales')
    """
    if not pool.startswith("English"):
        return f"councils in {pool}"
    return pool if pool.endswith("s") else f"{pool} councils"


def peer_note(peers: dict, table: "pd.DataFrame | None" = None) -> str:
    """Who the peers are, or why their figures are withheld, and what the table leaves out because it would be
    the same on every row (``table``: :func:`profile_table`)."""
    notes = " ".join((table.attrs.get("notes") if table is not None else None) or [])
    kind = TYPE_PLURALS.get(peers["type_group"], peers["type_group"])
    among = f" among {pool_words(peers['pool'])}" if peers.get("pool") else ""
    if not peers["peers_shown"]:
        s = (f"Fewer than 5 of this council's {number(peers['peers_defined'])} nearest neighbours{among} took part, "
             "so peer figures are withheld to protect their answers; the chart and table show no peers. Councils of "
             f"the same type: all {number(peers['type_responding'])} other responding {kind}.")
    else:
        s = (f"Peers: those of this council's {number(peers['peers_defined'])} nearest neighbours{among} (by "
             "population, deprivation, rurality and density) that took part; how many is not given, as the "
             "neighbours can be worked out from public data. Councils of "
             f"the same type: all {number(peers['type_responding'])} other responding {kind}.")
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


def council_model_note(model: Model) -> Markup:
    """The model paragraph (:func:`.words.model_note`: the overall level by the handbook's rule), and what the
    council report's two overall figures are beside it, so the report and the handbook name them alike."""
    from .words import model_note

    w = scales()
    return model_note(model) + paragraph(
        f"This report's {w['answers_name']} is the mean of the dimension levels, unrounded (the respondents' own "
        f"answers). Its {w['model_name']} is not the overall level: it is the measurement model's "
        "estimate of the council's level from every answer it had, allowing for disagreement between respondents, "
        f"their leniency and rounding to whole levels, {w['model_scale']} ({w['model_why']}), given to one decimal "
        "place with a 90% interval. The two can differ by more than a level's rounding: compare each only with "
        "figures on its own scale.", lead="Two overall figures.")

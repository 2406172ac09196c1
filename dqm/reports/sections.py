"""Report sections: the narrative, tables and charts of one part of a report, assembled for a notebook.

Each function returns a list of displayable objects (IPython ``HTML`` made by :func:`dqm.markup.block`,
the one path by which text reaches a report), so a notebook cell is just
``for part in section(...): display(part)`` and every branch ("no earlier wave", "untestable claim")
is here, under test.
"""
from __future__ import annotations

import pandas as pd

from ..markup import block, bullets, heading, paragraph
from ..model import Model
from . import narrative, plots


def claim_section(result, row, model: Model, measures: pd.DataFrame, council_levels: pd.DataFrame,
                  outcomes: pd.DataFrame, wave: int, synthetic: bool, source: str, registration: dict | None = None,
                  checks: pd.DataFrame | None = None) -> list:
    """One claim in the evidence review: how it is tested, when it was fixed (``registration``:
    :func:`narrative.registration`), the councils it used and lost, what was found, robustness, caveats.
    ``checks`` (:func:`engine_checks`): the engine's own checks, said where they qualify this claim's figures."""
    from ..claims import losses_sentence
    from ..claims.engine import power_rows

    c = result.claim
    head = [narrative.claim_header(c, model, measures)]
    fixed = narrative.registration_note(registration, c.id)
    if fixed:
        head.append(paragraph(fixed, lead="When it was fixed."))
    lost = losses_sentence(result)
    if lost:
        head.append(paragraph(lost, lead="Councils used."))
    if result.verdict != "untestable" and result.spec_null is not None:  # what the test could find, before the result
        rows = power_rows(result)
        eq_verdict = "supported" if c.direction == "none" else "no meaningful effect"
        head += [paragraph(narrative.reachability_sentence(row, c, rows[0].get(eq_verdict)),
                           lead="What this test could find, before the result."),
                 plots.html_table(narrative.power_section_table(rows),
                                  f"Chance of each verdict for claim {c.id} at {row['n']:,} councils, under the rule")]
        checked = narrative.chance_check_sentence(checks, c)
        if checked:
            head.append(paragraph(checked))
    head.append(narrative.claim_sentences(row, c, model, measures["name"].get(c.outcome, "the outcome")))
    if result.verdict != "untestable":  # the verdict as the table gives it: association, timing, reach
        head.append(paragraph(narrative.verdict_cell(row), lead="The verdict, with its limits."))
        sens = narrative.sensitivity_sentence(row, c, model, checks)
        if sens:
            head.append(paragraph(sens, lead="Sensitivity to an unmeasured confounder (Cinelli and Hazlett 2020)."))
    parts = [block(*head)]
    if result.verdict != "untestable":
        parts.append(block(plots.html_table(narrative.claim_figures(row), f"Figures for claim {c.id}")))
        if c.kind == "association" and len(result.specs):
            parts += [block(plots.specification_curve(result.specs, f"Specification curve: {c.id}", source, c.sesoi)),
                      block(narrative.spec_curve_sentence(row),
                            narrative.panel_sentence(kept_panel_view(council_levels, outcomes, model, c.exposure,
                                                                     c.outcome)))]
    measure = measures.loc[c.outcome].to_dict() if c.outcome in measures.index else {}
    caveats = narrative.claim_caveats(row, c, measure, wave, synthetic)
    if caveats:
        parts.append(block(paragraph("", lead="Caveats."), bullets(caveats)))
    return parts


def kept_panel_view(council_levels: pd.DataFrame, outcomes: pd.DataFrame, model: Model, exposure: str,
                    measure: str) -> dict:
    """A claim's panel view (:func:`dqm.claims.panel.panel_view`), kept on disk between runs (:mod:`.cache`): a report
    neither refits it nor loads statsmodels while the rows it reads and the panel code are unchanged.

    The key holds everything ``panel_view`` can read: the self-assessments' council, wave and exposure, every
    column of the measure's outcomes, and the model."""
    from ..claims.panel import panel_view
    from .cache import content_sha256, disk_cached

    col = "overall_mean" if exposure == "overall" else exposure
    self_rows = council_levels[council_levels["assessment_type"] == "self"]
    read = (self_rows[["council_code", "wave", col]].reset_index(drop=True),
            outcomes[outcomes["measure"] == measure].reset_index(drop=True))
    return disk_cached("panel-view", {"exposure": exposure, "measure": measure, "inputs": content_sha256(*read, model)},
                       lambda: panel_view(council_levels, outcomes, model, exposure, measure), code=["claims/panel"])


def _fit_dir(build_dir):
    """The folder the measurement model's fit is kept in: as given, else the reports' (one fit per store content)."""
    from .wave import fit_folder

    return fit_folder() if build_dir is None else build_dir


def annual_findings(data, model: Model, wave: int, principal: int, gaps: pd.DataFrame, build_dir=None) -> list:
    """The annual report's main findings from the measurement model (:func:`narrative.annual_summary`): the sector's
    levels, their spread over the named levels and their change, with what the model assumed; the targets as
    councils' respondents gave them. ``data``: the store's data (all waves); ``principal``: principal councils."""
    from ..scoring.positions import level_bands, sector_change, sector_levels

    fit = _fit_dir(build_dir)
    levels = sector_levels(data, model, wave, fit)
    this = data.councils[(data.councils["wave"] == wave) & (data.councils["assessment_type"] == "self")]
    said = float(this["overall_mean"].mean()) if len(this) else None
    change = sector_change(data, model, wave, fit)
    summary = narrative.annual_summary(wave, this["council_code"].nunique(), principal,
                                       narrative.sector_means(levels, model), change, gaps, model,
                                       level_bands(data, model, wave, fit), said)
    return [block(summary, narrative.assumptions_paragraph(levels.attrs["notes"]))]


def sector_levels_section(data, model: Model, wave: int, source: str, build_dir=None) -> list:
    """The model's level by dimension: the share of councils at each level (nearest whole level, over the draws)
    and the average level with its 95% interval, with the scale they are on said once."""
    from ..scoring.positions import level_bands, sector_levels

    fit = _fit_dir(build_dir)
    levels = sector_levels(data, model, wave, fit)
    means = narrative.sector_means(levels, model)
    bands = level_bands(data, model, wave, fit)
    hidden = bands["suppressed"].to_numpy(bool)  # the disclosure rule (dqm.scoring.sector_levels.suppress_bands)
    shares = pd.DataFrame({
        "dimension": [("Overall" if d == "overall" else model.dimension_name(d)) for d in bands["dimension"]],
        "level": bands["level"], "share": bands["share"],  # a blanked share is left out of its bar
        "n": [narrative.SUPPRESSED if h else int(round(c)) for h, c in zip(hidden, bands["count"])],  # on average over draws
        "95% interval": [narrative.SUPPRESSED if h else f"{narrative.percent(lo)} to {narrative.percent(hi)}"
                         for h, lo, hi in zip(hidden, bands["share_low"], bands["share_high"])]})
    scale = narrative.scale_sentence(levels.attrs["scale"], "")
    return [block(scale),
            block(plots.level_distribution(shares, model.level_names, f"Share of councils at each level, by dimension, "
                                           f"{wave} (the model's level, to the nearest whole level)", source),
                  narrative.band_suppression_note(bands)),
            block(plots.dot_interval(_shown(means, "dimension", "mean", "ci_low", "ci_high", "Average level",
                                            "95% interval"), "Dimension", "Average level", "95% interval, low",
                                     "95% interval, high", f"Average level by dimension, {wave} (95% intervals)",
                                     "Average level (1 to 5)", source))]


def _shown(df: pd.DataFrame, label: str, est: str, lo: str, hi: str, what: str, interval: str,
           off_zero: bool = False) -> pd.DataFrame:
    """The four columns a dot chart draws, named for the reader (they are the chart's data table too), at two
    places; with ``off_zero`` (a change), a value that is not zero but would print at two places as zero gets the
    places it needs (:func:`narrative.off_zero_places`), so that the table shows on which side of zero it lies
    (-0.003 against 0.003, not 0.0 and 0.0): those columns are then of object dtype, which the chart draws as
    numbers but does not round again for its table."""
    def shown(col):
        v = df[col].to_numpy(float)
        if not off_zero:
            return v.round(2) + 0.0  # (as the table prints them; no "-0.0")
        return pd.Series([round(x, narrative.off_zero_places([x])) + 0.0 for x in v], dtype=object).to_numpy()

    return pd.DataFrame({"Dimension": df[label].to_numpy(), what: shown(est), f"{interval}, low": shown(lo),
                         f"{interval}, high": shown(hi)})


def sector_change_section(data, model: Model, wave: int, source: str, build_dir=None) -> list:
    """Change since the previous wave among the councils assessed in both, from the measurement model: a chart of
    the average change per dimension with simultaneous intervals (the overall level with its own 95% interval) and
    sentences (:func:`narrative.change_sentences`)."""
    from ..scoring.positions import sector_change

    change = sector_change(data, model, wave, _fit_dir(build_dir))
    if change.empty:
        return [block(f"There is no earlier wave to compare {wave} with.")]
    alpha = 0.05
    fam = narrative.change_family(change, alpha)
    fam["name"] = [("Overall" if d == "overall" else model.dimension_name(d)) for d in fam["dimension"]]
    m = int(fam["family_size"].max())
    w0 = int(fam["wave_from"].iloc[0])
    shown = _shown(fam, "name", "change", "simul_low", "simul_high", "Change in level", "Interval", off_zero=True)
    return [block(plots.dot_interval(shown, "Dimension", "Change in level", "Interval, low", "Interval, high",
                                     f"Change in average level, same councils, {w0} to {wave} (dimensions: "
                                     f"simultaneous 95% intervals over {m}; overall: 95% interval)", "Change in level",
                                     source.replace(str(wave), f"{w0} and {wave}"), xlim=(-1, 1)),
                  narrative.change_sentences(fam, alpha))]


def group_overall_section(data, model: Model, wave: int, build_dir=None,
                          groupings=(("type_group", "council type"), ("nation", "nation"),
                                     ("deprivation_quintile", "deprivation quintile"))) -> list:
    """Average overall level by group, from the measurement model, with groups of fewer than 5 councils suppressed
    and the suppression stated."""
    from ..scoring.positions import group_levels

    parts = []
    for by, label in groupings:
        t = group_levels(data, model, wave, by, _fit_dir(build_dir)).rename(columns={"group": by})
        parts.append(block(plots.html_table(narrative.group_table(t, by, label), f"Average model level by {label}, {wave}"),
                           narrative.suppression_note(t, label)))
    return parts


def council_change_section(council: str, name: str, changes: pd.DataFrame, model: Model, wave: int,
                           wave_from: int | None, notes=(), said=()) -> list:
    """A council's change since the previous wave in the store, from the measurement model, as a few sentences and
    one small table (dimension, change with its 90% interval and, when not the same on every row, the chance it
    moved a whole level and how the change reads against the disagreement between respondents).

    ``changes``: the wave's change rows (:func:`dqm.reports.wave.council_changes`; the council's own are picked
    here); ``wave_from``: the wave they are measured from (None: ``wave`` is the first in the store); ``notes``:
    what the model had to assume for them, less any already ``said`` elsewhere in the report.
    """
    from ..scoring.latent import load_config

    ch = changes[changes["council_code"] == council].reset_index(drop=True)
    none = narrative.no_change_reason(name, ch, wave, wave_from)
    if none:
        return [block(none)]
    table = narrative.council_change_table(ch, model)
    parts = [narrative.council_change_summary(ch, model, wave_from, load_config().alpha)]
    parts.append(narrative.assumptions_paragraph([n for n in notes if n not in set(said)]))
    parts += [paragraph(n) for n in table.attrs["notes"]]
    parts.append(plots.html_table(table, f"{name}: change in level from {wave_from} to {wave}"))
    return [block(*parts)]


def engine_checks(replications: int) -> pd.DataFrame:
    """The honesty suite's checks: seeded simulations that depend only on the engine's code and settings, so
    they are read from the committed record while the code it was computed from is unchanged
    (:mod:`dqm.claims.checks_record`), else computed and kept on disk between runs (:mod:`dqm.reports.cache`)."""
    from ..claims import simulation
    from ..claims.checks_record import recorded_checks
    from .cache import disk_cached

    recorded = recorded_checks(replications)
    if recorded is not None:
        return recorded
    return disk_cached("engine-checks", {"replications": int(replications)},
                       lambda: simulation.run_checks(simulation.setting_for(replications)), code=["claims", "scoring"])


def engine_checks_section(replications: int, checks: pd.DataFrame | None = None) -> list:
    """The honesty suite's table: the engine and deliberately broken engines on synthetic data with known truth.
    ``checks``: :func:`engine_checks` of ``replications`` when the caller already has it (read once per report)."""
    from ..claims import simulation

    checks = engine_checks(replications) if checks is None else checks
    honest = checks[checks["engine"] == "honest"]
    return [block(paragraph(narrative.checks_summary(checks)),
                  plots.html_table(narrative.engines_table(simulation.engine_table(checks)),
                                   "Which engines pass: the correct engine and deliberately broken ones"),
                  plots.html_table(narrative.checks_table(honest),
                                   f"The engine's checks on synthetic councils ({replications:,} replications of the main "
                                   "estimate; Monte Carlo standard errors shown)"),
                  plots.html_table(narrative.checks_table(checks[checks["engine"] != "honest"], with_engine=True),
                                   "The same checks on the deliberately broken engines"))]


def user_parameters(user_data: str = "", extra_claims: str = "", extra_outcomes: str = "") -> dict:
    """The user's own inputs as provenance parameters: folder and file names only, never local paths."""
    from pathlib import Path

    out = {}
    for label, value in (("user data folder", user_data), ("extra claims file", extra_claims),
                         ("extra outcome file", extra_outcomes)):
        if value:
            out[label] = Path(value).name
    return out


def user_layer_section(evidence, table: pd.DataFrame) -> list:
    """Claims and outcome data the user added: how their outcome files joined, and how their claims were kept
    apart from the pre-registered ones (empty when there are none)."""
    mine = [c for c in evidence.claims if c.layer == "user"]
    joins = evidence.join_summary()
    if not mine and joins.empty:
        return []
    parts = [block(heading("Claims and outcome data added by the user"))]
    if mine:
        t = table[table["id"].isin([c.id for c in mine])]
        parts.append(block(
            f"{narrative.number(len(mine))} claim{'s' if len(mine) != 1 else ''} in this review "
            f"{'were' if len(mine) != 1 else 'was'} added by the user who produced it, from "
            f"{', '.join(sorted({c.file for c in mine}))}. "
            f"{narrative.number(sum(c.exploratory for c in mine))} of them {'are' if sum(c.exploratory for c in mine) != 1 else 'is'} "
            "exploratory (written after the data could be seen). They are tested in multiple-testing families of "
            "their own, so the pre-registered claims' adjusted results are exactly what they would be without them. "
            "Their verdicts are listed with the others: "
            + "; ".join(f"{r.id}: {r.verdict}" for r in t.itertuples()) + "."))
    if not joins.empty:
        shown = pd.DataFrame({"File": joins["file"], "Measure": joins["measure"],
                              "Rows": joins["rows"].map(narrative.number),
                              "Joined to a council": joins["matched"].map(narrative.number),
                              "Not used": joins["not_used"].map(narrative.number)})
        parts.append(block(plots.html_table(shown, "How the user's outcome files joined to councils"),
                           "Council names in these files were matched by the same rules as survey answers. Rows "
                           "not used (names of other bodies, former councils, names that could not be matched, "
                           "values that are not numbers) are listed, row by row, by dqm outcomes check."))
    return parts

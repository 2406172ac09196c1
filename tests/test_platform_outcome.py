"""The platform outcome (GOV.UK Pay adoption, service count, added in the year after a wave) and the claims on it.

Construction from the copied source: a county and a district of the same area, each credited only with its own
services; a reorganised council flagged and left out; a Welsh council left out (England only); a council with no
service, which has 0. Then the engine's logistic and count models against statsmodels, the minimum-events rule,
and the registry's re-registration (a superseded claim keeps its words and says what replaced it).
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml

from dqm.claims import load_claims
from dqm.claims.engine import EngineConfig, design, glm_estimate, main_estimate
from dqm.claims.registry import claims_path
from dqm.claims.simulation import BASE_CLAIM, synthetic_councils
from dqm.errors import DQMError
from dqm.outcomes import PLATFORM_SOURCE, load_outcomes
from dqm.paths import outcomes_dir, sources_dir
from dqm.reference import councils

PAY_SRC = "govuk_pay_services/govuk_pay_services_by_organisation_monthly.csv"
PLATFORM = ("govuk_pay_adopted", "govuk_pay_live_services", "govuk_pay_added_any_year_after")


@pytest.fixture(scope="module")
def outcomes():
    return load_outcomes()


@pytest.fixture(scope="module")
def snapshot():
    """Live services per organisation name at the last snapshot of March 2026 and of March 2025."""
    src = pd.read_csv(sources_dir() / PAY_SRC)
    out = {}
    for year in (2025, 2026):
        date = max(d for d in src["snapshot_date"].unique() if d.startswith(f"{year}-03"))
        out[year] = src[src["snapshot_date"] == date].set_index("organisation")["live_services"]
    return out


def _values(outcomes, measure, period):
    o = outcomes[(outcomes["measure"] == measure) & (outcomes["period"] == period)]
    return o.set_index("local-authority-code")["value"]


def _platform_log():
    log = pd.read_csv(outcomes_dir() / "mapping_log.csv", dtype=str, keep_default_na=False)
    return log[log["source"] == PLATFORM_SOURCE].set_index("local-authority-code")


def test_county_and_district_each_counted_once_with_their_own_services(outcomes, snapshot):
    """Kent County Council and Canterbury City Council (a district in Kent): neither gets the other's services."""
    s = snapshot[2026]
    count = _values(outcomes, "govuk_pay_live_services", "2026-03")
    assert count["KEN"] == s["Kent County Council"] > 0
    assert count["CAT"] == s["Canterbury City Council"] > 0
    adopted = _values(outcomes, "govuk_pay_adopted", "2026-03")
    assert adopted["KEN"] == adopted["CAT"] == 1
    # a joint service counts once for each of its councils (whole services, never shares of one)
    assert count["ADU"] == count["WOT"] == s["Adur & Worthing Councils"]
    assert (count == count.round()).all()


def test_reorganised_council_is_flagged_and_left_out(outcomes):
    """Cumberland (2023, from Allerdale, Carlisle, Copeland and Cumbria): its count includes Allerdale's services."""
    old = _values(outcomes, "govuk_pay_services_per_100k", "2026-03")
    assert old["CBD"] > 0  # the superseded measure credited Cumberland with its predecessors' services
    for m in PLATFORM:
        assert "CBD" not in set(outcomes.loc[outcomes["measure"] == m, "local-authority-code"])
    log = _platform_log()
    assert log.loc["CBD", "action"] == "flagged, left out"
    assert "2023-04-01" in log.loc["CBD", "reason"] and "ALL" in log.loc["CBD", "reason"]
    # exactly the English principal councils formed since 2016, from the reference data's start dates
    c = councils().query("principal and nation == 'England'")
    reg = pd.read_csv(outcomes_dir().parent / "reference" / "uk_local_authorities_current.csv", dtype=str,
                      keep_default_na=False).set_index("local-authority-code")
    formed = {code for code in c["local-authority-code"] if reg.at[code, "start-date"] >= "2016-01-01"}
    assert formed == set(log.index[log["action"] == "flagged, left out"])
    assert {"CBD", "WAF", "NYE", "SMT", "BUC", "DST", "BPC", "NNT", "WNT", "ESK", "WSK"} == formed


def test_welsh_council_is_left_out_england_only(outcomes, snapshot):
    """Conwy has live GOV.UK Pay services but is Welsh: in the superseded UK-wide measure, not in the new ones."""
    assert snapshot[2026].get("Conwy County Borough Council", 0) > 0
    assert _values(outcomes, "govuk_pay_services_per_100k", "2026-03")["CWY"] > 0
    for m in PLATFORM:
        assert "CWY" not in set(outcomes.loc[outcomes["measure"] == m, "local-authority-code"])
    log = _platform_log()
    assert log.loc["CWY", "action"] == "left out" and log.loc["CWY", "reason"].startswith("Wales")
    left_out = log.index[log["action"] == "left out"]
    assert set(councils().set_index("local-authority-code").loc[left_out, "nation"]) == {"Wales", "Scotland",
                                                                                        "Northern Ireland"}


def test_council_with_no_service_has_zero_not_missing(outcomes, snapshot):
    """Babergh (a district) publishes no GOV.UK Pay service: 0 services, not adopted, nothing added, every period."""
    pay_log = pd.read_csv(outcomes_dir() / "mapping_log.csv", dtype=str, keep_default_na=False)
    assert not pay_log.loc[pay_log["source"] == "GOV.UK Pay", "local-authority-code"].str.contains("BAB").any()
    for m in PLATFORM:
        o = outcomes[(outcomes["measure"] == m) & (outcomes["local-authority-code"] == "BAB")]
        assert len(o) >= 4 and (o["value"] == 0).all(), m
    covered = _values(outcomes, "govuk_pay_adopted", "2026-03")
    england = set(councils().query("principal and nation == 'England'")["local-authority-code"])
    assert set(covered.index) == england - set(_platform_log().index)  # every covered council has a value
    print(f"\nadopted at 2026-03: {int(covered.sum())} of {len(covered)} English councils covered")


def test_added_any_is_the_year_after_each_march(outcomes):
    """'2025-26' compares the end of March 2026 with the end of March 2025: the year after the 2025 wave."""
    after = _values(outcomes, "govuk_pay_added_any_year_after", "2025-26")
    a, b = (_values(outcomes, "govuk_pay_live_services", p) for p in ("2025-03", "2026-03"))
    assert (after == (b.reindex(after.index) > a.reindex(after.index)).astype(float)).all()
    periods = set(outcomes.loc[outcomes["measure"] == "govuk_pay_added_any_year_after", "period"])
    assert periods == {"2022-23", "2023-24", "2024-25", "2025-26"}  # no 2026-27: the data end in August 2026
    assert 5 <= after.sum() <= 40  # rare: the reason for the minimum-events rule


# ---------------------------------------------------------------- the engine's logistic and count models
def _binary_and_count(n, seed, log_ratio):
    rng = np.random.default_rng(seed)
    df = synthetic_councils(n, rng)
    x = (df["overall_mean"] - df["overall_mean"].mean()) / df["overall_mean"].std()
    lp = -1.0 + 0.3 * (df["log_population"] - df["log_population"].mean()) + log_ratio * x
    df["binary"] = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    df["count"] = rng.negative_binomial(1.0, 1 / (1 + np.exp(lp + 0.5))).astype(float)  # overdispersed, mean exp(lp + 0.5)
    return df


@pytest.mark.parametrize("model,column,family", [("logistic", "binary", sm.families.Binomial()),
                                                 ("poisson", "count", sm.families.Poisson())])
def test_glm_estimate_matches_statsmodels(model, column, family):
    df = _binary_and_count(300, 1, 0.3).assign(outcome=lambda d: d[column])
    claim = dataclasses.replace(BASE_CLAIM, model=model, sesoi=0.18, min_events_per_coefficient=5)
    got = main_estimate(df, claim, EngineConfig())  # the branch in main_estimate
    ref = sm.GLM(df["outcome"].to_numpy(), design(df, "overall_mean", claim.controls), family=family).fit(cov_type="HC1")
    assert got["estimate"] == pytest.approx(ref.params[1], rel=1e-6)
    assert got["se"] == pytest.approx(ref.bse[1], rel=1e-6)
    lo, hi = ref.conf_int()[1]
    assert (got["ci_low"], got["ci_high"]) == pytest.approx((lo, hi), rel=1e-6)
    assert got["ratio"] == pytest.approx(np.exp(ref.params[1])) and got["ratio_ci_low"] == pytest.approx(np.exp(lo))
    assert got["effect_measure"] == {"logistic": "odds ratio", "poisson": "rate ratio"}[model]


def test_negative_binomial_matches_statsmodels():
    df = _binary_and_count(300, 2, 0.3).assign(outcome=lambda d: d["count"])
    claim = dataclasses.replace(BASE_CLAIM, model="negative-binomial")
    got = glm_estimate(df, claim, EngineConfig())
    ref = sm.NegativeBinomial(df["outcome"].to_numpy(), design(df, "overall_mean", claim.controls)).fit(
        disp=0, maxiter=500, cov_type="HC1")
    assert got["estimate"] == pytest.approx(ref.params[1], rel=1e-5)
    assert got["se"] == pytest.approx(ref.bse[1], rel=1e-5)


def test_glm_intervals_cover_the_true_ratio():
    """A small honest check: 95% intervals of the log odds ratio and the log rate ratio cover the truth (MC s.e.)."""
    reps, truth = 120, 0.3
    cover = {"logistic": 0, "poisson": 0}
    for i in range(reps):
        df = _binary_and_count(250, 100 + i, truth)
        for model, col in (("logistic", "binary"), ("poisson", "count")):
            got = glm_estimate(df.assign(outcome=df[col]), dataclasses.replace(BASE_CLAIM, model=model), EngineConfig())
            cover[model] += got["ci_low"] <= truth <= got["ci_high"]
    for model, hits in cover.items():
        rate = hits / reps
        mc_se = np.sqrt(0.95 * 0.05 / reps)
        print(f"\n{model}: coverage {rate:.3f} (target 0.95, Monte Carlo s.e. {mc_se:.3f}, {reps} data sets)")
        assert abs(rate - 0.95) < 3 * mc_se + 0.01, (model, rate)


def test_mostly_zero_outcome_is_untestable_by_the_registered_rule():
    df = _binary_and_count(200, 3, 0.0)
    rare = np.zeros(len(df))
    rare[:12] = 1  # 12 events: fewer than 5 per coefficient
    claim = dataclasses.replace(BASE_CLAIM, model="logistic", min_events_per_coefficient=5)
    got = main_estimate(df.assign(outcome=rare), claim, EngineConfig())
    assert np.isnan(got["estimate"]) and got["events"] == 12
    assert "cannot support an effect" in got["reason"] and str(got["events_needed"]) in got["reason"]
    # the same data pass with no rule (0): the rule, not the model, made it untestable
    ok = main_estimate(df.assign(outcome=rare), dataclasses.replace(claim, min_events_per_coefficient=0), EngineConfig())
    assert np.isfinite(ok["estimate"])
    with pytest.raises(ValueError, match="0 and 1"):
        main_estimate(df.assign(outcome=df["count"] + 2), claim, EngineConfig())


def test_ols_claims_are_untouched_by_the_new_branch():
    df = synthetic_councils(150, np.random.default_rng(4))
    got = main_estimate(df, BASE_CLAIM, EngineConfig())
    assert "effect_measure" not in got and np.isfinite(got["estimate"])


# ---------------------------------------------------------------- re-registration in the registry
def test_platform_claims_are_re_registered_and_the_old_ones_marked_superseded():
    raw = yaml.safe_load(claims_path().read_text())
    by_raw = {c["id"]: c for c in raw}
    claims = {c.id: c for c in load_claims()}
    old = claims["platform-adoption"]
    assert old.statement == by_raw["platform-adoption"]["statement"]  # words kept
    assert old.superseded_by == ("platform-adoption-any", "platform-service-count")
    assert "1/population" in old.superseded_why and old.superseded_note.startswith("Superseded on 2026-11-29")
    assert not old.warnings  # shown in the review beside its result, not printed as a design warning on every run
    assert claims["platform-adoption-growth"].superseded_by == ("platform-added-after-wave",)
    new = [claims[i] for i in ("platform-adoption-any", "platform-service-count", "platform-added-after-wave")]
    assert [c.model for c in new] == ["logistic", "poisson", "logistic"]
    assert all(c.population == {"nation": "England"} and c.min_events_per_coefficient == 5 for c in new)
    assert {c.family for c in new} == {"platforms (re-registered)"} != {old.family}
    assert all(c.registered > old.registered for c in new)
    # the re-registered claims are the last entries: appended, never inserted among registered ones
    assert [c["id"] for c in raw[-3:]] == [c.id for c in new]
    assert new[2].period_for(2025) == "2025-26" and new[0].period_for(2026) == "2026-03"


@pytest.mark.parametrize("mutate,key", [
    (lambda c: c.update(model="probit"), "'model'"),
    (lambda c: c.update(transform="rank-normal"), "'transform'"),
    (lambda c: c.update(min_events_per_coefficient=-1), "'min_events_per_coefficient'"),
    (lambda c: c.update(model="ols", min_events_per_coefficient=5), "'min_events_per_coefficient'"),
    (lambda c: c.update(supersedes=["no-such-claim"]), "'supersedes'"),
    (lambda c: c.pop("supersedes_why"), "'supersedes_why'"),
    (lambda c: c.update(registered="2026-11-01"), "'supersedes'"),  # cannot supersede a later claim
])
def test_bad_re_registration_names_claim_and_key(tmp_path, mutate, key):
    raw = yaml.safe_load(claims_path().read_text())
    mutate(next(c for c in raw if c["id"] == "platform-adoption-any"))
    p = tmp_path / "claims.yaml"
    p.write_text(yaml.safe_dump(raw, sort_keys=False))
    with pytest.raises(DQMError) as exc:
        load_claims(p)
    assert key in str(exc.value) and "platform-adoption-any" in str(exc.value)


# ---------------------------------------------------------------- the demo run and what the review says
@pytest.fixture(scope="module")
def platform_results(demo_store, model):
    import dqm
    from dqm.claims import EngineConfig as Cfg
    from dqm.claims import evaluate_claims, results_table

    store, _ = demo_store
    data = dqm.load(store, model=model)
    claims = [c for c in load_claims() if c.id.startswith("platform")]
    out = {}
    for wave in (2025, 2026):
        res = evaluate_claims(claims, data.councils, load_outcomes(), model, wave, Cfg(n_boot=100, n_null_boot=60, workers=1))
        out[wave] = (res, results_table(res).set_index("id", drop=False))
    return out


def test_demo_platform_claims_and_their_review_text(platform_results, model):
    from dqm.outcomes import load_measures
    from dqm.reports import narrative

    measures = load_measures().set_index("id", drop=False)
    res, tab = platform_results[2026]
    by_id = {r.claim.id: r for r in res}
    adopt = tab.loc["platform-adoption-any"]
    assert adopt["model"] == "logistic" and adopt["effect_measure"] == "odds ratio" and adopt["period"] == "2026-03"
    assert adopt["ratio"] == pytest.approx(np.exp(adopt["estimate"]))
    assert adopt["ratio_ci_low"] < adopt["ratio"] < adopt["ratio_ci_high"]
    assert 40 <= adopt["events"] < adopt["n"]
    # the power and the MDE are on the log odds ratio scale: the same order as the analytic (z) MDE from its SE
    r = by_id["platform-adoption-any"]
    analytic = (2.2414 + 0.8416) * r.se  # Holm's strictest step (alpha/2, two claims) and 80%
    assert 0.6 * analytic < adopt["mde"] < 1.6 * analytic, (adopt["mde"], analytic)
    text = " ".join(narrative.claim_sentences(adopt, r.claim, model, measures.loc[r.claim.outcome, "name"]))
    assert "odds ratio" in text and "multiplied by" in text and "standard deviations higher" not in text
    figures = narrative.claim_figures(adopt)
    assert figures["Figure"].str.startswith("Odds ratio per standard deviation").any()
    # the growth claim: the year after the 2026 wave has not ended in the data
    after = tab.loc["platform-added-after-wave"]
    assert after["verdict"] == "untestable" and "2026-27" in after["reason"]
    # the superseded claims are still tested and say, first among their caveats, what replaced them and why
    old = by_id["platform-adoption"]
    assert old.verdict != "untestable"
    caveats = narrative.claim_caveats(tab.loc["platform-adoption"], old.claim, measures.loc[old.claim.outcome].to_dict(),
                                      2026, True)
    assert caveats[0].startswith("Superseded on 2026-11-29 by claim(s) platform-adoption-any, platform-service-count")
    assert "superseded on" in str(narrative.claim_header(old.claim, model, measures))


def test_growth_after_the_2025_wave_is_untestable_by_the_minimum_events_rule(platform_results):
    res, tab = platform_results[2025]
    after = tab.loc["platform-added-after-wave"]
    print(f"\n2025 wave, year after (2025-26): {after['reason']}")
    assert after["verdict"] == "untestable" and after["period"] == "2025-26"
    assert "cannot support an effect" in after["reason"] and after["events"] < 40

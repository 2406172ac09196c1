"""The simulation suite: the claims engine (and the scoring checks) on synthetic data where the truth is known.

The fast setting runs in `make test`; the slow setting (ten times the replications, the whole pipeline
for every engine) runs with `make test-slow`. The table is printed with Monte Carlo standard errors;
the evidence review shows the same table.
"""
import pytest

from dqm.claims.simulation import BROKEN_ENGINES, run_checks


def _show(df):
    for r in df.itertuples():
        target = "" if r.target is None or r.target != r.target else f" (target {r.rule} {r.target:.3f} +/- {r.tolerance:.3f})"
        print(f"  [{r.engine}] {r.check}: {r.value:.3f} (MC s.e. {r.mc_se:.3f}){target} {'ok' if r.passed else 'FAILS'}")


def _assert_honest_and_teeth(df):
    honest = df[df["engine"] == "honest"]
    assert honest["passed"].all(), honest[~honest["passed"]]
    assert set(BROKEN_ENGINES) <= set(df["engine"])
    for name, g in df[df["engine"] != "honest"].groupby("engine"):
        assert not g["passed"].all(), f"the broken engine '{name}' passed every check: the checks have no teeth"
    failed = lambda engine, check: not df[(df["engine"] == engine) & df["check"].str.startswith(check)]["passed"].all()
    # each fault is caught by the check written for it
    assert failed("controls dropped", "strong confounding")
    assert failed("classical standard errors", "false-positive rate")
    assert failed("halves every effect", "mean estimate / true effect")
    assert failed("equivalence never succeeds", "equivalence found when there is no effect")
    assert failed("specification curve counts unadjusted fits", "specification curve counted as agreeing")
    assert failed("change test uses the mean formula on medians", "change flags")


def test_engine_is_honest_fast():
    df = run_checks("fast")
    print(f"\nengine checks, fast setting, n = {df['n'].iloc[0]}:")
    _show(df)
    _assert_honest_and_teeth(df)
    # the targets, on the honest engine
    h = df[df["engine"] == "honest"].set_index("check")
    assert h.loc[h.index.str.startswith("specification curve counted as agreeing"), "value"].iloc[0] <= 0.10 + 2 * 0.055


@pytest.mark.slow
def test_engine_is_honest_slow():
    df = run_checks("slow")
    print(f"\nengine checks, slow setting, n = {df['n'].iloc[0]}:")
    _show(df)
    _assert_honest_and_teeth(df)
    h = df[df["engine"] == "honest"].set_index("check")
    assert h.loc[h.index.str.startswith("specification curve counted as agreeing"), "value"].iloc[0] <= 0.10

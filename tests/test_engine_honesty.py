"""The simulation suite: the claims engine on synthetic councils where the truth is known.

Fast setting (400 replications per check) runs in CI; the slow setting (4,000) runs with
`make test-slow`. The figures are printed; the evidence review shows the same checks.
"""
import pytest

from dqm.claims.simulation import run_checks


def _show(df):
    for r in df.itertuples():
        target = "" if r.target is None or r.target != r.target else f" (target {r.rule} {r.target:.3f} +/- {r.tolerance:.3f})"
        print(f"  [{r.engine}] {r.check}: {r.value:.3f}{target} {'ok' if r.passed else 'FAILS'}")


def _assert_honest_and_teeth(df):
    honest = df[df["engine"] == "honest"]
    assert honest["passed"].all(), honest[~honest["passed"]]
    for name, g in df[df["engine"] != "honest"].groupby("engine"):
        assert not g["passed"].all(), f"the broken engine '{name}' passed every check: the checks have no teeth"
    dropped = df[df["engine"] == "controls dropped"].set_index("check")
    assert not dropped.loc["confounded null: predicted effect found", "passed"]
    classical = df[df["engine"] == "classical standard errors"].set_index("check")
    assert not classical.loc["false-positive rate under a true null", "passed"]


def test_engine_is_honest_fast():
    df = run_checks("fast")
    print(f"\nengine checks, {df['replications'].iloc[0]} replications, n = {df['n'].iloc[0]}:")
    _show(df)
    _assert_honest_and_teeth(df)


@pytest.mark.slow
def test_engine_is_honest_slow():
    df = run_checks("slow")
    print(f"\nengine checks, {df['replications'].iloc[0]} replications, n = {df['n'].iloc[0]}:")
    _show(df)
    _assert_honest_and_teeth(df)

import numpy as np
import pandas as pd
from openpyxl import load_workbook

from dqm.demo import PARAMS, SYNTHETIC_CELL, WAVES, simulate, write_demo
from dqm.paths import demo_dir


def _content(folder):
    out = {}
    for f in sorted(folder.iterdir()):
        if f.suffix == ".xlsx":
            out[f.name] = [tuple(r) for r in load_workbook(f).active.iter_rows(values_only=True)]
        else:
            out[f.name] = f.read_text()
    return out


def test_demo_is_seeded_and_reproducible(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    write_demo(a, seed=7)
    write_demo(b, seed=7)
    write_demo(c, seed=8)
    assert _content(a) == _content(b)
    assert _content(a) != _content(c)


def test_committed_demo_exports_match_the_generator(tmp_path, demo_exports):
    """The bundled exports are exactly what `dqm demo --seed 2026` writes."""
    write_demo(tmp_path, seed=2026)
    assert _content(tmp_path) == _content(demo_exports)


def test_demo_files_and_counts(demo_exports, demo_truth):
    manifest = pd.read_csv(demo_exports / "manifest.csv")
    assert sorted(manifest["wave"].unique()) == list(WAVES)
    assert set(manifest["tool"]) == {"msforms", "googleforms"}
    for f in demo_truth["files"]:
        path = demo_exports / f["file"]
        if path.suffix == ".xlsx":
            rows = load_workbook(path).active.max_row - 1
        else:
            rows = len(pd.read_csv(path))
        assert rows == f["rows"] == f["valid_rows"] + f["invalid_rows"]
        assert f["typo_rows_matched_wrongly"] == 0


def test_response_rate_and_selection_as_documented(demo_truth):
    principal = demo_truth["principal_councils"]
    assert principal == 382
    for wave, n in demo_truth["councils_responding"].items():
        assert 0.55 <= n / principal <= 0.70, (wave, n)


def test_less_mature_councils_respond_less():
    sim = simulate(seed=2026)
    rows = pd.DataFrame(sim["rows"])
    c = sim["councils"]
    responded = c["local-authority-code"].isin(rows.loc[rows["wave"] == 2026, "council_code"])
    gap = c.loc[responded, "latent"].mean() - c.loc[~responded, "latent"].mean()
    print(f"\nlatent maturity, responders minus non-responders: {gap:.2f} levels")
    assert gap > 0.1


def test_self_assessment_is_more_optimistic_than_independent():
    rows = pd.DataFrame(simulate(seed=2026)["rows"])
    mean = rows.assign(m=rows["levels"].map(np.mean)).groupby("assessment_type")["m"].mean()
    assert mean["self"] - mean["independent"] > 0.15


def test_every_row_says_it_is_synthetic(demo_exports):
    df = pd.read_csv(demo_exports / "dqm-2026-self-googleforms.csv")
    assert (df["Synthetic data"] == SYNTHETIC_CELL).all()


def test_planted_params_are_documented():
    readme = (demo_dir() / "README.md").read_text()
    for key in ("response_rate", "growth_per_wave", "optimism", "type_effect"):
        assert key in readme and key in PARAMS

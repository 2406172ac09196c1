"""A store salts respondents' keys with a secret of its own, so the same exports ingested into a new store (`dqm run`
rebuilds its store every run) give other respondent keys. The measurement model's fit, its cache key and the claims
battery's key must not depend on them, or every run refits and recomputes what it kept."""
import pandas as pd

from dqm.scoring.latent import salt_free_keys


def _rebuilt(demo_exports, folder):
    from dqm.store import ingest_files

    store = folder / "again.duckdb"
    manifest = pd.read_csv(demo_exports / "manifest.csv")
    for r in manifest.itertuples():
        ingest_files([demo_exports / r.file], wave=int(r.wave), store=store, assessment_type=r.assessment_type)
    return store


def test_a_rebuilt_store_has_other_keys_but_the_same_fit_key(demo_store, demo_exports, tmp_path, model):
    from dqm.scoring.latent import load_config
    from dqm.scoring.positions import content_key
    from dqm.store import load

    first, again = load(demo_store[0], model=model), load(_rebuilt(demo_exports, tmp_path), model=model)
    assert not set(first.submissions["respondent_key"]) & set(again.submissions["respondent_key"])  # new salt
    assert salt_free_keys(first.submissions).tolist() == salt_free_keys(again.submissions).tolist()
    cfg = load_config()
    assert content_key(first, model, cfg) == content_key(again, model, cfg)
    # ... while who answered still counts: one respondent's answers given to another changes the key
    moved = again.submissions.copy()
    i = moved.index[moved["respondent_key"] != moved["respondent_key"].iloc[0]][0]
    moved.loc[i, "respondent_key"] = moved["respondent_key"].iloc[0]
    assert content_key(type(again)(**{**vars(again), "submissions": moved}), model, cfg) != content_key(again, model, cfg)


def test_the_claims_battery_is_kept_across_a_rebuilt_store(demo_store, demo_exports, tmp_path, monkeypatch):
    import dqm.claims
    from dqm.reports.wave import claims_battery

    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path / "cache"))
    calls = []
    real = dqm.claims.evaluate_claims
    monkeypatch.setattr(dqm.claims, "evaluate_claims", lambda *a, **k: calls.append(1) or real(*a, **k))
    claims_battery(demo_store[0], 2026, 20, 10)
    claims_battery(_rebuilt(demo_exports, tmp_path), 2026, 20, 10)
    assert len(calls) == 1

"""The on-disk cache for seeded computations that do not depend on the store (dqm/reports/cache.py)."""
from __future__ import annotations

from dqm.reports.cache import disk_cached


def test_a_cached_value_is_reused_and_a_changed_key_computes_again(tmp_path, monkeypatch):
    monkeypatch.setenv("DQM_CACHE_DIR", str(tmp_path))
    calls = []

    def compute(x):
        calls.append(x)
        return {"value": x * 2}

    assert disk_cached("t", {"x": 1}, lambda: compute(1), code=["claims"]) == {"value": 2}
    assert disk_cached("t", {"x": 1}, lambda: compute(1), code=["claims"]) == {"value": 2}
    assert calls == [1]  # the second call read the file
    assert disk_cached("t", {"x": 2}, lambda: compute(2), code=["claims"]) == {"value": 4}
    assert calls == [1, 2]
    for f in tmp_path.glob("t-*.jsonl"):  # a damaged file is recomputed, not trusted
        f.write_bytes(b"not a kept value")
    assert disk_cached("t", {"x": 1}, lambda: compute(1), code=["claims"]) == {"value": 2}
    assert calls == [1, 2, 1]
    assert not list(tmp_path.glob(".tmp-*"))

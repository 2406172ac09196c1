"""The council-report batch at its floor: wave-level work done once with the figures a report made alone shows,
charts drawn once, a journal instead of a manifest rewritten per council, and files others can read."""
from __future__ import annotations

import io
import json
import os
import re

import matplotlib
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WAVE = 2026


def _strip_runtime(html: str) -> str:
    return re.sub(r'<p class="dqm-runtime">.*?</p>', "", html)


@pytest.fixture(scope="module")
def demo_data(demo_store, model):
    from dqm.store import load

    return load(demo_store[0], model=model)


def _in_both_waves(data, n: int) -> list[str]:
    lv = data.councils[data.councils["assessment_type"] == "self"]
    both = set(lv.loc[lv["wave"] == WAVE - 1, "council_code"]) & set(lv.loc[lv["wave"] == WAVE, "council_code"])
    return sorted(both)[:n]


# ------------------------------------------------------------------------------------------ wave-level work
def test_the_waves_change_table_gives_each_council_what_asking_for_it_alone_gives(demo_data, model):
    """One fit of the measurement model serves every council: a council's change rows do not depend on which other
    councils are asked for, and are the model's own (dqm.scoring.positions.dimension_changes)."""
    from dqm.reports.wave import council_changes
    from dqm.scoring.positions import dimension_changes

    codes = _in_both_waves(demo_data, 4)
    assert len(codes) == 4
    table, _, wave_from = council_changes(demo_data, model, WAVE, codes)
    reversed_pair = council_changes(demo_data, model, WAVE, codes[:1:-1])[0]
    everyone = dimension_changes(demo_data, model, WAVE)
    assert wave_from == WAVE - 1
    for code in codes:
        alone = council_changes(demo_data, model, WAVE, [code])[0]
        mine = table[table["council_code"] == code].reset_index(drop=True)
        assert len(mine) and mine["p_value"].notna().any()
        pd.testing.assert_frame_equal(mine, alone)
        pd.testing.assert_frame_equal(mine, everyone[everyone["council_code"] == code].reset_index(drop=True))
    for code in codes[2:]:
        pd.testing.assert_frame_equal(table[table["council_code"] == code].reset_index(drop=True),
                                      reversed_pair[reversed_pair["council_code"] == code].reset_index(drop=True))


def test_a_council_the_shared_inputs_did_not_test_gets_its_own_changes(demo_store, demo_data, model, tmp_path):
    from dqm.reports.wave import compute_wave_inputs, council_changes, wave_inputs, write_wave_inputs

    first, second = _in_both_waves(demo_data, 2)
    shared = write_wave_inputs(compute_wave_inputs(demo_store[0], WAVE, 20, councils=[first]), tmp_path / "w.jsonl")
    got = wave_inputs(demo_store[0], WAVE, 20, shared=str(shared), council=second)
    assert got.change_councils == [second]
    pd.testing.assert_frame_equal(got.changes, council_changes(demo_data, model, WAVE, [second])[0])


def test_the_provenance_block_is_the_same_from_the_waves_inputs(demo_store, model):
    from dqm.reports.provenance import input_files, provenance

    store = demo_store[0]
    params = {"council": "BST", "wave": WAVE, "store": str(store)}
    kept = pd.read_json(io.StringIO(input_files(store).to_json(orient="records")), orient="records", dtype=False)
    assert _strip_runtime(str(provenance(store, params))) == \
        _strip_runtime(str(provenance(store, params, files=kept, model=model)))


# ------------------------------------------------------------------------------------------ one batch, end to end
@pytest.fixture(scope="module")
def batch_with_change(demo_store, demo_data, tmp_path_factory):
    """Two councils that took part in both waves, in one worker, with the usual umask."""
    from dqm.reports.batch import run_batch

    out = tmp_path_factory.mktemp("floor") / "out"
    codes = _in_both_waves(demo_data, 2)
    old = os.umask(0o022)
    try:
        res = run_batch(WAVE, demo_store[0], out, councils=codes, jobs=1, draws=50, progress=False)
    finally:
        os.umask(old)
    return out, codes, res


def test_a_batch_report_with_a_change_section_is_the_report_made_alone(batch_with_change, demo_store, tmp_path):
    from dqm.reports.notebook import run_report

    out, codes, res = batch_with_change
    assert (res.results["status"] == "ok").all(), res.summary()
    code = codes[-1]
    alone = run_report("council", WAVE, store=demo_store[0], out_dir=tmp_path, council=code, extra={"draws": 50})
    batch = (out / f"council-{code}-{WAVE}.html").read_text()
    assert "disagreement between respondents" in batch  # the change section has the council's tests in it
    assert _strip_runtime(batch) == _strip_runtime(alone.html.read_text())


def test_every_file_the_batch_writes_is_readable_by_others(batch_with_change):
    out, codes, _ = batch_with_change
    published = {p.name for p in out.iterdir() if p.is_file()}
    assert {"index.html", "index.csv", "manifest.json", "failures.csv"} | {f"council-{c}-{WAVE}.html" for c in codes} \
        <= published
    modes = {str(p.relative_to(out)): oct(p.stat().st_mode & 0o777) for p in out.rglob("*") if p.is_file()}
    assert set(modes.values()) == {"0o644"}, modes


def test_the_journal_is_folded_into_the_manifest_at_the_end(batch_with_change):
    from dqm.reports.manifest import JOURNAL, MANIFEST

    out, codes, _ = batch_with_change
    assert not (out / JOURNAL).exists()
    assert set(json.loads((out / MANIFEST).read_text())["councils"]) == set(codes)


# ------------------------------------------------------------------------------------------ the manifest's journal
def test_each_finished_council_adds_an_entry_without_rewriting_the_manifest(tmp_path):
    from dqm.reports.manifest import JOURNAL, MANIFEST, _journal_name, read_manifest, record_entry, write_manifest

    write_manifest(tmp_path, {"wave": WAVE, "councils": {"BST": {"status": "failed"}}})
    before = (tmp_path / MANIFEST).read_bytes()
    record_entry(tmp_path, "BST", {"status": "ok", "hash": "a"})
    record_entry(tmp_path, "KTT", {"status": "ok", "hash": "b"})
    assert (tmp_path / MANIFEST).read_bytes() == before
    assert read_manifest(tmp_path)["councils"] == {"BST": {"status": "ok", "hash": "a"},
                                                  "KTT": {"status": "ok", "hash": "b"}}
    journal = tmp_path / JOURNAL
    (journal / "not-json.json").write_text("{")
    (journal / "elsewhere.json").write_text(json.dumps({"council": "YOR", "entry": {"status": "ok"}}))  # wrong name
    target = tmp_path / "planted.json"
    target.write_text(json.dumps({"council": "YOR", "entry": {"status": "ok"}}))
    (journal / _journal_name("YOR")).symlink_to(target)  # a link is never read
    assert set(read_manifest(tmp_path)["councils"]) == {"BST", "KTT"}
    manifest = read_manifest(tmp_path)
    write_manifest(tmp_path, manifest)
    assert not journal.exists() and read_manifest(tmp_path) == manifest


# ------------------------------------------------------------------------------------------ charts drawn once
def _figure_with_legend_below(label: str = "Partnerships and collaboration"):
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh([label, "Data"], [3, 4], label="level")
    ax.legend(loc="upper left", bbox_to_anchor=(0, -0.3), ncol=2, frameon=False)
    return fig


def test_a_chart_is_drawn_once_and_cropped_as_a_tight_box_would_crop_it():
    from PIL import Image

    from dqm.reports.plots import DPI, png_once

    fig = _figure_with_legend_below()
    tight = io.BytesIO()
    fig.savefig(tight, format="png", dpi=DPI, bbox_inches="tight")
    draws = []
    fig.canvas.mpl_connect("draw_event", lambda event: draws.append(event))
    png = png_once(fig)
    plt.close(fig)
    assert len(draws) == 1
    got, want = Image.open(io.BytesIO(png)).size, Image.open(tight).size
    assert all(abs(a - b) <= 2 for a, b in zip(got, want)), (got, want)  # the legend below the axes is kept


def test_content_beyond_the_room_drawn_around_a_chart_is_kept():
    from PIL import Image

    from dqm.reports.plots import DPI, ROOM_INCHES, png_once

    fig = _figure_with_legend_below("x" * 120)  # a label far wider than the room left of the figure
    tight = io.BytesIO()
    fig.savefig(tight, format="png", dpi=DPI, bbox_inches="tight")
    png = png_once(fig)
    plt.close(fig)
    got, want = Image.open(io.BytesIO(png)).size, Image.open(tight).size
    assert want[0] > (6 + ROOM_INCHES) * DPI
    assert all(abs(a - b) <= 2 for a, b in zip(got, want)), (got, want)


def test_a_report_chart_is_an_embedded_png_with_its_alt_text_and_data():
    from dqm.reports import plots

    df = pd.DataFrame({"dimension": ["Data", "Culture"], "level": [3.0, 2.0], "target": [4.0, 3.0],
                       "peer_median": [3.0, 3.0], "peer_low": [2.0, 2.0], "peer_high": [4.0, 4.0]})
    chart = plots.council_profile(df, "Bristol", "Bristol: levels", "DQM")
    assert chart.png[:4] == b"\x89PNG"
    html = chart._repr_html_()
    assert 'src="data:image/png;base64,' in html and 'alt="Dot chart of Bristol' in html and "<table" in html

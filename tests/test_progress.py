"""Progress from the first second (issue #22): `dqm report councils` says what it is doing during set-up, then
"[n/N]" lines whose time left excludes the set-up and whose per-report times are each report's own time;
`dqm run` says what it is doing before each long step."""
from __future__ import annotations

import io
import re
import time
from pathlib import Path

import dqm.reports.batch
from dqm.reports.batch import Progress, run_batch

PROBE = Path(__file__).parent / "notebooks" / "batch_probe.ipynb"
SETUP = 600.0  # seconds the (simulated) set-up takes: ten minutes that must not reach the time left


class FakeClock:
    """A clock the test moves forward by hand."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_time_left_counts_from_the_workers_start_and_uses_each_reports_own_time():
    """A ten-minute set-up, then 2 workers; the first report took 5 s of its own and finished 6 s after the
    workers started: 6 s elapsed and 5 s x 4 left / 2 workers = 10 s left (not 606 s x 4 = 40 min)."""
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(stream=out, clock=clock)
    bar.step("Computing the wave's shared inputs...")
    clock.now = SETUP
    bar.begin(5, workers=2)
    clock.now = SETUP + 6
    bar.update({"council": "BST", "status": "ok", "error": "", "seconds": 5.0})
    clock.now = SETUP + 9
    bar.update({"council": "KTT", "status": "ok", "error": "", "seconds": 7.0})
    lines = out.getvalue().splitlines()
    assert lines[0] == "Computing the wave's shared inputs..."
    assert lines[1] == "[1/5] BST: ok in 5.0 s; 0:06 elapsed, about 0:10 left"
    assert lines[2] == "[2/5] KTT: ok in 7.0 s; 0:09 elapsed, about 0:09 left"  # mean 6 s x 3 left / 2 workers


def test_the_last_reports_are_not_divided_among_idle_workers():
    clock, out = FakeClock(), io.StringIO()
    bar = Progress(stream=out, clock=clock)
    bar.begin(2, workers=4)
    clock.now = 8
    bar.update({"council": "BST", "status": "ok", "error": "", "seconds": 8.0})
    assert out.getvalue().strip().endswith("about 0:08 left")  # one report left, one worker on it


def test_silent_without_progress():
    out = io.StringIO()
    bar = Progress(stream=out, enabled=False)
    bar.step("Reading the store...")
    bar.begin(1, workers=1)
    bar.update({"council": "BST", "status": "ok", "error": "", "seconds": 1.0})
    assert out.getvalue() == ""


def test_batch_says_what_it_does_before_any_report_and_the_set_up_stays_out_of_the_eta(small_store, tmp_path,
                                                                                        monkeypatch):
    """A real batch whose shared inputs take ten (simulated) minutes: the set-up steps come first, in order,
    and the first "[n/N]" line counts neither the ten minutes in its elapsed time nor in its time left."""
    clock = FakeClock()
    monkeypatch.setattr(dqm.reports.batch, "_now", lambda: time.perf_counter() + clock.now)
    real = dqm.reports.batch.compute_wave_inputs

    def slow_inputs(*args, **kwargs):
        clock.now += SETUP
        return real(*args, **kwargs)

    monkeypatch.setattr(dqm.reports.batch, "compute_wave_inputs", slow_inputs)
    out = io.StringIO()
    res = run_batch(2026, small_store, tmp_path / "out", jobs=1, notebook=PROBE, draws=50, stream=out)
    assert list(res.results["status"]) == ["ok", "ok", "ok"]
    lines = out.getvalue().splitlines()
    first_report = next(i for i, line in enumerate(lines) if line.startswith("[1/3]"))
    setup = lines[:first_report]
    assert setup[0].startswith("Reading the store ") and str(small_store.resolve()) in setup[0]
    steps = ["Reading the store", "Taking a snapshot", "Computing the wave's shared inputs (scores and rank "
             "intervals of 3 councils, 50 draws)", "Hashing the inputs", "3 reports to write (0 unchanged); "
             "starting 1 worker"]
    assert [next(s for s in steps if line.startswith(s)) for line in setup] == steps
    reports = [line for line in lines if line.startswith("[")]
    assert [r[:5] for r in reports] == ["[1/3]", "[2/3]", "[3/3]"]
    first = re.fullmatch(r"\[1/3\] \w+: ok in ([\d.]+) s; (\d+):(\d\d) elapsed, about (\d+):(\d\d) left", reports[0])
    assert first, reports[0]
    own, elapsed, left = float(first[1]), int(first[2]) * 60 + int(first[3]), int(first[4]) * 60 + int(first[5])
    assert elapsed < SETUP / 2 and left < SETUP / 2  # before: 10:0x elapsed and about 20:00 left
    assert abs(left - 2 * own) <= 1  # two reports left, one worker, each about as long as the first
    assert own <= elapsed + 1  # a report's own time, not the time since the previous line
    assert lines[-1] == "Writing the index..."


def test_dqm_run_says_what_it_does_before_each_long_step(model, tmp_path, monkeypatch, capsys):
    """`dqm run`: the ingest is announced before it starts, then the plan, each step's start (said by the worker
    that runs it) and its end with its own time; the steps here are fast stand-ins run in threads."""
    import concurrent.futures

    import dqm.mainjob
    from conftest import Survey

    class Threads(concurrent.futures.ThreadPoolExecutor):
        def __init__(self, max_workers=None, mp_context=None, initializer=None, initargs=()):
            super().__init__(max_workers=max_workers)

    exports = tmp_path / "exports"
    exports.mkdir()
    s = Survey(model)
    s.add(council="Bristol, City of", email="a@bristol.gov.uk")
    s.googleforms(exports / "e.csv")
    (exports / "manifest.csv").write_text("file,wave,assessment_type\ne.csv,2026,self\n", encoding="utf-8")

    def made(kind, *args):
        return dqm.mainjob.Made(kind, f"{kind}.html", "", 0.5)

    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", Threads)
    monkeypatch.setattr(dqm.mainjob, "_engine_checks", lambda *args: time.sleep(0.2))
    monkeypatch.setattr(dqm.mainjob, "_claims", lambda *args: "claims.jsonl")
    monkeypatch.setattr(dqm.mainjob, "_report", made)
    monkeypatch.setattr(dqm.mainjob, "_council", lambda wave, store, out, council, extra: made("council"))
    monkeypatch.setattr(dqm.mainjob, "_handbook", lambda out: "handbook.html")
    said = []
    out = dqm.mainjob.run_main_job(exports, tmp_path / "out", tmp_path / "out" / "_build" / "s.duckdb", council="BST",
                                   quick=True, jobs=2, echo=said.append)
    assert [m.kind for m in out] == ["quality", "annual", "evidence", "council"]
    assert said[0].startswith("Ingesting 1 exports listed in ") and said[0].endswith("s.duckdb...")
    plan = next(line for line in said if line.startswith("Building the reports of wave 2026 in 2 workers"))
    assert said.index(plan) > 1  # after the ingest's own summary
    for what in ("the engine's checks (50 replications", "the claims battery (200 bootstrap draws)",
                 "the data-quality report", "the annual report", "the evidence review", "the council report for BST",
                 "the model's handbook"):
        assert what in plan
    assert any(re.fullmatch(r"Finished the engine's checks .* in 0\.\d s\.", line) for line in said)
    assert "Finished the claims battery (200 bootstrap draws) in 0.0 s." in said
    assert sorted(line for line in said if line.startswith("Wrote ")) == [
        f"Wrote {k}.html in 0.5 s." for k in ("annual", "council", "evidence")] + [
        "Wrote handbook.html in 0.0 s.", "Wrote quality.html in 0.5 s."]
    started = capsys.readouterr().err.splitlines()
    assert sorted(started) == sorted(f"Started {w}..." for w in (
        "the engine's checks (50 replications; kept between runs)", "the claims battery (200 bootstrap draws)",
        "the data-quality report", "the annual report", "the evidence review", "the council report for BST",
        "the model's handbook"))

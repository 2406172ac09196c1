"""Report sections: every branch a notebook would otherwise hold."""
from IPython.display import HTML

import dqm
from dqm.claims import EngineConfig, evaluate_claims, load_claims, results_table
from dqm.outcomes import load_measures, load_outcomes
from dqm.reports import sections


def test_claim_sections_for_testable_and_untestable_claims(demo_store, model):
    store, _ = demo_store
    data = dqm.load(store, model=model)
    outcomes = load_outcomes()
    results = evaluate_claims(load_claims(), data.councils, outcomes, model, 2026, EngineConfig(n_boot=100, n_null_boot=20))
    rows = results_table(results).set_index("id")
    measures = load_measures().set_index("id")
    by_id = {r.claim.id: r for r in results}
    tested = sections.claim_section(by_id["efficiency-central-costs"], rows.loc["efficiency-central-costs"], model, measures,
                                    data.councils, outcomes, 2026, True, "src")
    assert all(isinstance(p, HTML) for p in tested)  # every part reached HTML through dqm.markup
    assert "<h3" in tested[0].data and "Chance of each verdict" in tested[0].data and "Figures for claim" in tested[1].data
    assert any('class="dqm-chart"' in p.data for p in tested)
    text = " ".join(p.data for p in tested)
    assert "Panel view" in text and "synthetic demonstration data" in text and "Timing" in text
    # what the test could find is said before the result, and the result says why its verdict was reached
    assert text.index("What this test could find") < text.index("verdict “")
    assert "confounding check" in text and "because" in text
    untestable = sections.claim_section(by_id["agility"], rows.loc["agility"], model, measures, data.councils, outcomes,
                                        2026, False, "src")
    assert len(untestable) == 1  # no figures, no chart, no caveats to show
    assert "cannot be tested" in untestable[0].data


def test_change_sections_say_when_there_is_no_earlier_wave(demo_store, model):
    store, _ = demo_store
    data = dqm.load(store, model=model)
    first = sections.sector_change_section(data, model, 2024, "src")  # (the model's change: data, not medians)
    assert len(first) == 1 and "no earlier wave" in first[0].data
    later = sections.sector_change_section(data, model, 2026, "src")
    assert 'class="dqm-chart"' in later[0].data and "assessed in both 2025 and 2026" in later[0].data
    from dqm.reports.wave import council_changes

    code = data.councils.query("wave == 2026 and assessment_type == 'self'")["council_code"].iloc[0]
    changes, notes, wave_from = council_changes(data, model, 2026, [code, "ZZZ"])
    missing = sections.council_change_section("ZZZ", "Nowhere", changes, model, 2026, wave_from, notes)
    assert "did not take part in 2025" in missing[0].data
    # the store's first wave: said once, as the first wave (not as a council that did not take part)
    first, notes, wave_from = council_changes(data, model, 2024, [code])
    assert wave_from is None and first.empty
    assert sections.council_change_section(code, "X", first, model, 2024, wave_from, notes)[0].data.startswith(
        "<p>2024 is the first wave")


def test_group_section_suppresses_small_groups(demo_store, model):
    store, _ = demo_store
    data = dqm.load(store, model=model)
    welsh = sorted(data.councils.query("nation == 'Wales'")["council_code"].unique())
    # keep 3 Welsh councils (the model's group averages: the store's answers without the others)
    data.answers = data.answers[~data.answers["council_code"].isin(welsh[3:])]
    data.councils = small = data.councils[~data.councils["council_code"].isin(welsh[3:])]
    parts = sections.group_overall_section(data, model, 2026, groupings=(("nation", "nation"),))
    from bs4 import BeautifulSoup

    rows = {tr.find_all("td")[0].get_text(): [td.get_text() for td in tr.find_all("td")]
            for tr in BeautifulSoup(parts[0].data, "html.parser").find_all("tr") if tr.find_all("td")}
    n_wales = small.query("wave == 2026 and nation == 'Wales'")["council_code"].nunique()
    assert 0 < n_wales < 5 and rows["Wales"][1:3] == ["[c]", "[c]"]
    assert rows["England"][1] not in ("[c]",)
    assert "suppressed and shown as [c]" in parts[0].data

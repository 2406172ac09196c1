from pathlib import Path

import pytest
import yaml

from dqm.errors import ModelError
from dqm.model import OVERALL_RULES, load_model

MODEL = Path(__file__).resolve().parent.parent / "data" / "model" / "dqm.yaml"


def test_default_model_has_ten_dimensions_and_five_levels(model):
    assert len(model.dimensions) == 10
    assert model.level_values == [1, 2, 3, 4, 5]
    assert [model.level_name(v) for v in range(1, 6)] == ["Passive", "Developing", "Impactful", "Mainstreamed", "Transformative"]
    foundations = model.dimensions[model.dimensions["group"] == "Foundations"]
    assert list(foundations["name"]) == ["Leadership", "Strategy", "Culture", "Capacity", "Decision-making"]
    assert not foundations["provisional"].any()
    assert model.dimensions[model.dimensions["group"] != "Foundations"]["provisional"].all()
    assert len(model.descriptors) == 50
    assert model.overall_rule in OVERALL_RULES
    # every dimension has points to consider; the groups are read with their descriptions
    assert all(len(model.dimension_prompts(d)) >= 2 for d in model.dimension_ids)
    assert list(model.groups["id"]) == ["Foundations", "Delivery"]


def test_level_meanings_follow_the_publishers(model):
    """1 little ownership or control, 2 emerging and patchy, 3 works in some areas but inconsistent,
    4 consistent with good outcomes, 5 radical change."""
    text = dict(zip(model.levels["value"], model.levels["description"].str.lower()))
    assert "little" in text[1] and "owns" in text[1]
    assert "starting" in text[2] and "unevenly" in text[2]
    assert "some" in text[3] and "not applied consistently" in text[3]
    assert "consistently" in text[4] and "outcomes" in text[4]
    assert "radically" in text[5]


def test_prompts_are_optional(tmp_path):
    p = _broken(tmp_path, lambda r: [d.pop("prompts") for d in r["dimensions"]])
    assert load_model(p).dimension_prompts("leadership") == []


def _broken(tmp_path, mutate):
    raw = yaml.safe_load(MODEL.read_text())
    mutate(raw)
    p = tmp_path / "model.yaml"
    p.write_text(yaml.safe_dump(raw))
    return p


@pytest.mark.parametrize("mutate, key", [
    (lambda r: r.pop("levels"), "'levels'"),
    (lambda r: r["dimensions"][2].pop("question"), "dimensions[culture].question"),
    (lambda r: r["dimensions"][0]["descriptors"].pop(4), "dimensions[leadership].descriptors.4"),
    (lambda r: r["dimensions"][1].update(id="Strategy Area"), "dimensions[1].id"),
    (lambda r: r["dimensions"][1].update(id="leadership"), "dimensions[leadership].id"),
    (lambda r: r["overall"].update(rule="best_guess"), "overall.rule"),
    (lambda r: r["overall"].update(min_coverage=11), "overall.min_coverage"),
    (lambda r: r["levels"].__setitem__(0, {"value": 0, "name": "Zero", "description": "x"}), "'levels'"),
    (lambda r: r["dimensions"][3].update(provisional="maybe"), "dimensions[capacity].provisional"),
    (lambda r: r["metadata_questions"].pop("council"), "metadata_questions.council"),
    (lambda r: r["dimensions"][4].update(prompts="Who decides?"), "dimensions[decision_making].prompts"),
    (lambda r: r["dimensions"][4].update(prompts=["Who decides?", ""]), "dimensions[decision_making].prompts"),
    (lambda r: r["dimensions"][0].update(group="Nowhere"), "'groups'"),
])
def test_broken_model_names_the_key(tmp_path, mutate, key):
    with pytest.raises(ModelError) as exc:
        load_model(_broken(tmp_path, mutate))
    assert key in str(exc.value)
    assert "model.yaml" in str(exc.value)


def test_invalid_yaml_names_line(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("id: x\nlevels: [\n  - oops: : :\n")
    with pytest.raises(ModelError, match="not valid YAML at line"):
        load_model(p)


def test_missing_model_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist"):
        load_model(tmp_path / "nope.yaml")

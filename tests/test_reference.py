import pandas as pd
import pytest

from dqm.paths import reference_dir
from dqm.reference import councils, match_council, match_councils, normalise_name


def test_councils_table():
    c = councils()
    assert len(c) == 397
    assert c["local-authority-code"].is_unique
    assert c["nation"].value_counts().to_dict() == {"England": 332, "Scotland": 32, "Wales": 22, "Northern Ireland": 11}
    assert int(c["principal"].sum()) == 382
    for col in ("gss-code", "official-name", "nice-name", "region", "local-authority-type", "deprivation_score",
                "deprivation_quintile", "rurality", "type_group"):
        assert c[col].notna().all(), col
    assert c.loc[c["principal"], "population"].notna().all()
    assert set(c["deprivation_quintile"].dropna().unique()) == {1, 2, 3, 4, 5}


@pytest.mark.parametrize("text, code", [
    ("Bristol, City of", "BST"), ("bristol city council ", "BST"), ("Royal Borough of Kingston upon Thames", "KTT"),
    ("E06000023", "BST"), ("e06000023", "BST"), ("BST", "BST"), ("City of London", "LND"),
    ("Kingston upon Hull, City of", "KHL"), ("Durham County Council", "DUR"), ("Birmingam", "BIR"),
    ("London Borough of Tower Hamlets", "TWH"), ("Rhondda Cynon Taf", "RCT"), ("Belfast City Council", "BFS"),
])
def test_match_examples(text, code):
    assert match_council(text).code == code


def test_near_names_are_not_confused():
    assert match_council("East Sussex").code == "ESX"
    assert match_council("West Sussex").code == "WSX"
    assert match_council("Northumberland").code != match_council("Cumberland").code


def test_no_match_gives_suggestions():
    m = match_council("Shrosphire")
    assert m.code is None
    assert m.suggestions[0][0] == "SHR"
    assert match_council("Gotham City Council").code is None
    assert match_council("").code is None


def test_former_council_is_not_silently_mapped():
    m = match_council("Taunton Deane")
    assert m.code is None and "former council" in m.note and m.suggestions[0][0] == "SMT"


def test_match_councils_frame():
    df = match_councils(pd.Series(["Bristol", "Nowhere", "Bristol"]))
    assert len(df) == 2 and list(df.columns[:2]) == ["text", "local-authority-code"]


def _lookup_current():
    lookup = pd.read_csv(reference_dir() / "lookup_name_to_registry.csv", dtype=str, keep_default_na=False)
    return lookup[lookup["local-authority-code"].isin(set(councils()["local-authority-code"]))]


def test_lookup_names_resolve_at_least_95_percent():
    lookup = _lookup_current()
    hits = [match_council(n).code == c for n, c in zip(lookup["la-name"], lookup["local-authority-code"])]
    rate = sum(hits) / len(hits)
    print(f"\nlookup names of current councils resolved: {sum(hits)} of {len(hits)} ({rate:.1%})")
    assert rate >= 0.95


def test_held_out_names_resolve_without_the_lookup():
    """The harder test: the index is built without mySociety's variants, so normalisation and fuzzy matching do the work."""
    lookup = _lookup_current()
    res = [match_council(n, use_name_lookup=False) for n in lookup["la-name"]]
    right = sum(m.code == c for m, c in zip(res, lookup["local-authority-code"]))
    wrong = sum(m.code is not None and m.code != c for m, c in zip(res, lookup["local-authority-code"]))
    print(f"\nheld-out names: {right} of {len(res)} right ({right / len(res):.1%}), {wrong} matched wrongly, "
          f"{len(res) - right - wrong} left for a human")
    assert right / len(res) >= 0.95
    assert wrong <= 0.002 * len(res)


def test_normalise_name():
    assert normalise_name("Bristol, City of") == normalise_name("Bristol City Council") == "bristol"
    assert normalise_name("City of London") == "london"

"""A hand-made store's data for the sector-figure tests (tests/test_sector_model.py, tests/test_annual_disclosure.py):
what dqm.store.load gives, as far as the sector figures read it."""
import pandas as pd


class SectorData:
    """``answers`` (tidy, with submission_id and respondent_key), its submissions, and ``councils``: each council's
    mean answered level per wave (and kind of assessment) with its reference groups. Councils are of type "High" when
    their code starts with H, else "Low"; every council is in England, region North, deprivation quintile
    ``quintile``. ``self_only``: the councils' means of self-assessments only (as the store's council levels that the
    sector tables read), else one row per kind of assessment."""

    def __init__(self, answers: pd.DataFrame, quintile: float = 3.0, self_only: bool = True):
        self.answers = answers
        self.submissions = answers[["submission_id", "respondent_key"]].drop_duplicates().reset_index(drop=True)
        codes = sorted(answers["council_code"].unique())
        ref = pd.DataFrame({"council_code": codes, "nice-name": [f"Council {c}" for c in codes],
                            "type_group": ["High" if c.startswith("H") else "Low" for c in codes],
                            "nation": "England", "region": "North", "deprivation_quintile": quintile})
        if self_only:
            said = answers[answers["assessment_type"] == "self"].groupby(["council_code", "wave"])["level"].mean()
            self.councils = said.rename("overall_mean").reset_index().assign(assessment_type="self").merge(ref)
        else:
            said = answers.groupby(["council_code", "wave", "assessment_type"])["level"].mean()
            self.councils = said.rename("overall_mean").reset_index().merge(ref)

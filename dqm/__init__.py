"""DQM evidence workbook: ingest Digital Quality Model assessments, score them, test claims, publish reports.

Read the package in the order the data flow:
model -> reference -> outcomes -> demo -> ingest -> store -> scoring -> claims -> reports/ (publishing) -> cli.

For exploring in a notebook, start with the functions here (from :mod:`dqm.api`), each one call:

* ``dqm.load()``: the store's tidy frames (the default store is named in what it prints)
* ``dqm.scores()``, ``dqm.profile(council)``, ``dqm.peers(council)``: councils and their peer groups
* ``dqm.compare(by="region")``, ``dqm.trend("leadership")``: groups and waves, with intervals and n
* ``dqm.associate("overall", "population", controls=["council_type"])``: an exploratory controlled association
* ``dqm.chart(table)``: any of those tables as a chart in the reports' style
"""
from .version import __version__

# The analyst's functions live in dqm.api; they are imported on first use, so that `import dqm` (and the
# command line) stays quick.
_API = ("load", "councils", "scores", "profile", "peers", "compare", "trend", "associate", "chart", "interact")


def __getattr__(name):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'dqm' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_API))


__all__ = ["__version__", *_API]

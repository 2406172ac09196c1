"""DQM evidence workbook: ingest Digital Quality Model assessments, score them, test claims, publish reports.

Read the package in the order the data flow:
model -> reference -> outcomes -> demo -> ingest -> store -> scoring -> plots/narrative -> reports -> cli.
"""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("dqm")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"


def load(store=None, wave=None, model=None):
    """Tidy DataFrames from a store; see :func:`dqm.store.load`."""
    from .store import load as _load

    return _load(store, wave=wave, model=model)


__all__ = ["__version__", "load"]

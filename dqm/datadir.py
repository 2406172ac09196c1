"""The project's data folder: ``data/`` beside the package, or ``DQM_DATA_DIR``.

A module of its own, importing nothing from dqm, so that the modules that read limits and YAML files
(:mod:`dqm.limits`, :mod:`dqm.yamlio`) can find the data folder without importing :mod:`dqm.paths`,
which uses them (no import cycle). Everything else imports these names from :mod:`dqm.paths`.
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DQM_DATA_DIR", PROJECT_ROOT / "data"))

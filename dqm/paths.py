"""Where the project's data files live. Everything is relative to the repository's data/ folder.

Set DQM_DATA_DIR to use another data folder (for example a copy with your own model and outcomes).
"""
from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return Path(os.environ.get("DQM_DATA_DIR", PROJECT_ROOT / "data"))


def model_path() -> Path:
    return Path(os.environ.get("DQM_MODEL", data_dir() / "model" / "dqm.yaml"))


def reference_dir() -> Path:
    return data_dir() / "reference"


def outcomes_dir() -> Path:
    return data_dir() / "outcomes"


def sources_dir() -> Path:
    return data_dir() / "sources"


def demo_dir() -> Path:
    return data_dir() / "demo"


def default_store() -> Path:
    return Path(os.environ.get("DQM_STORE", data_dir() / "dqm.duckdb"))


def notebooks_dir() -> Path:
    return PROJECT_ROOT / "notebooks"


def reports_dir() -> Path:
    return Path(os.environ.get("DQM_REPORTS_DIR", PROJECT_ROOT / "reports"))

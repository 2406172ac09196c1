#!/usr/bin/env python3
"""Refuse notebooks committed with outputs: the report notebooks are thin and committed clean, so a review sees
code and narrative only (outputs can hold council data and make every diff noisy).

Usage: python3 .ci/check_notebooks.py [NOTEBOOK ...]   (no arguments: every notebook under notebooks/)
Exit 0 when every notebook is clean, 1 naming each one with outputs or execution counts (clear them in Jupyter
with "Edit > Clear Outputs of All Cells" and save, or run `jupyter nbconvert --clear-output --inplace FILE`).
Standard library only, so it runs before the project's environment exists (pre-commit, CI)."""
import json
import sys
from pathlib import Path


def dirty_cells(path: Path) -> list[int]:
    """The 1-based numbers of the code cells of this notebook that carry outputs or an execution count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [i for i, cell in enumerate(nb.get("cells", []), start=1)
            if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count"))]


def main(argv: list[str]) -> int:
    """Check the notebooks named (or all under notebooks/) and print one line per notebook with outputs."""
    root = Path(__file__).resolve().parent.parent
    paths = [Path(a) for a in argv] or sorted((root / "notebooks").glob("**/*.ipynb"))
    bad = 0
    for path in paths:
        try:
            cells = dirty_cells(path)
        except (OSError, ValueError) as e:
            print(f"{path}: cannot be read as a notebook ({e})", file=sys.stderr)
            bad += 1
            continue
        if cells:
            print(f"{path}: cells {', '.join(map(str, cells))} have outputs; clear them "
                  f"(jupyter nbconvert --clear-output --inplace {path}) and commit again.", file=sys.stderr)
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Where a user's first hour puts things (issue #22): `make lab` serves the whole project and opens the tour;
the guides (and the README's steps) write only into git-ignored folders, the user's own files into `work/`."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from dqm.paths import PROJECT_ROOT

GUIDES = sorted((PROJECT_ROOT / "docs").glob("*.md")) + [PROJECT_ROOT / "README.md"]
SH = re.compile(r"```sh\n(.*?)```", re.S)
OUTPUT_OPTIONS = {"--out", "--out-dir", "--store", "--user-data", "--csv"}


def lab_command() -> list[str]:
    """The words of the `jupyter lab` line of the Makefile's lab recipe."""
    text = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = re.search(r"^lab:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "the Makefile has no lab target"
    line = next(x for x in recipe.group(1).splitlines() if "jupyter lab" in x)
    return shlex.split(line.strip())


def test_make_lab_serves_the_project_and_opens_the_tour():
    words = lab_command()
    roots = [w.split("=", 1)[1] for w in words if w.startswith(("--ServerApp.root_dir=", "--notebook-dir="))]
    assert roots == ["."], words  # Make runs the recipe in the project folder: reports/, data/, docs/ are in reach
    root = PROJECT_ROOT / roots[0]
    assert all((root / d).is_dir() for d in ("reports", "data", "docs", "notebooks"))
    tour = [w for w in words[words.index("lab") + 1:] if not w.startswith(("-", "$("))]
    assert tour == ["notebooks/explore.ipynb"] and (root / tour[0]).is_file()  # relative to the root, as Lab opens it


def written_paths(text: str) -> list[str]:
    """Every path a ```sh block writes to or names as a store or folder: option values and `>` redirections."""
    paths = []
    for block in SH.findall(text):
        for line in block.splitlines():
            if line.startswith(("python", "import", "print", "data", "EOF")) or "<<" in line:
                continue
            words = shlex.split(line, posix=True) if line.strip() and not line.startswith("#") else []
            for i, w in enumerate(words[:-1]):
                if w in OUTPUT_OPTIONS or w == ">":
                    paths.append(words[i + 1])
            paths += [w.split("=", 1)[1] for w in words if w.startswith("DQM_STORE=")]
    return paths


def ignored(path: str) -> bool:
    """True when git ignores ``path`` in this project (by .gitignore)."""
    p = subprocess.run(["git", "check-ignore", "-q", "--no-index", path], cwd=PROJECT_ROOT)
    return p.returncode == 0


@pytest.mark.parametrize("guide", GUIDES, ids=[g.stem for g in GUIDES])
def test_guides_write_only_into_git_ignored_folders(guide):
    paths = written_paths(guide.read_text(encoding="utf-8"))
    if guide.parent.name == "docs":
        assert paths, f"{guide.name}: no written path found; has the parser stopped seeing them?"
    own = [p for p in paths if not p.startswith("reports/")]  # reports/ is the demo's own output folder
    assert all(p.startswith("work/") for p in own), f"{guide.name}: {own}"
    assert all(ignored(p) for p in paths), f"{guide.name}: not ignored by git: {[p for p in paths if not ignored(p)]}"


def test_the_work_folder_is_ignored_but_reports_readme_is_not():
    assert "work/" in (PROJECT_ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ignored("work/my.duckdb") and ignored("work/my-evidence/claims.yaml")
    assert not ignored("docs/analyst.md")

"""The one way dqm reads YAML: safe, small, UTF-8, no aliases, no duplicate keys.

Every YAML file the project reads (the quality model, claims, measures, survey tools, limits, run
manifests, the demo's truth) goes through :func:`load_yaml`. It refuses

* anything but a regular file (a folder, device, named pipe: see :func:`dqm.limits.read_file`) and
  files larger than the ``max_yaml_kb`` limit (see :mod:`dqm.limits`),
* bytes that are not UTF-8 (naming the line),
* anchors and aliases (``&a`` / ``*a``): a 10 KB "alias bomb" can otherwise expand to gigabytes,
* a key given twice in one mapping (PyYAML would silently keep the last),
* nesting so deep that the parser would exhaust Python's stack,

each with a one-paragraph :class:`dqm.errors.DQMError` naming the file and line.

>>> load_yaml_text("a: 1\\nb: [x, y]\\n")
{'a': 1, 'b': ['x', 'y']}
"""
from __future__ import annotations

import copy
from pathlib import Path

from .errors import DQMError
from .limits import check_regular_file, limit, read_file
from .yamltext import load_yaml_bytes, load_yaml_text  # noqa: F401  (load_yaml_text: parse text the same way)


def load_yaml(path, error=DQMError, what: str = "file", max_kb: float | None = None):
    """Read one YAML file safely (see the module docstring). ``what`` names it in messages ("model file")."""
    path = Path(path)
    cap_kb = limit("max_yaml_kb") if max_kb is None else max_kb
    hint = ("A YAML data file this large is almost certainly not the right file; raise the limit with DQM_MAX_YAML_KB "
            "if it really is.")
    st = check_regular_file(path, what, error, hint="Give the path of a YAML file.", max_bytes=cap_kb * 1024,
                            limit_name="max_yaml_kb", size_hint=hint)
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key in _CACHE:  # the same unchanged file again: parsing a large model takes a noticeable time
        return copy.deepcopy(_CACHE[key])
    data = read_file(path, what, error, hint="Give the path of a YAML file.", max_bytes=cap_kb * 1024,
                     limit_name="max_yaml_kb", size_hint=hint)
    value = load_yaml_bytes(data, path, error=error, what=what)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = value
    return copy.deepcopy(value)


_CACHE: dict = {}

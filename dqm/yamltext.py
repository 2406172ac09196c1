"""Safe YAML parsing of text and bytes (no files): no aliases, no duplicate keys, bounded nesting.

The rules are those of :mod:`dqm.yamlio`, which reads files through :mod:`dqm.limits` and then here.
This module imports nothing of dqm but its errors, so that :mod:`dqm.limits` can read its own file.

>>> load_yaml_text("a: 1\\nb: [x, y]\\n")
{'a': 1, 'b': ['x', 'y']}
"""
from __future__ import annotations

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode

from .errors import DQMError

MAX_DEPTH = 100


class _Refused(yaml.YAMLError):
    def __init__(self, problem: str, mark=None):
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark


class StrictSafeLoader(yaml.SafeLoader):
    """PyYAML's SafeLoader without anchors, aliases or duplicate keys, and with a depth cap."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused(f"aliases (*{event.anchor}) are not allowed; write the value out in full",
                           event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.anchor is not None:
            raise _Refused(f"anchors (&{event.anchor}) are not allowed; write the value out in full",
                           event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"values are nested more than {MAX_DEPTH} levels deep", event.start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, MappingNode):
            seen = {}
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused("a mapping key must be a plain value, not a list or mapping", key_node.start_mark) from None
                if key in seen:
                    raise _Refused(f"the key {key!r} is given twice in one mapping (also at line "
                                   f"{seen[key].line + 1})", key_node.start_mark)
                seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)



def _describe(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc)
    return f"{where}: {problem}"


def _flow_depth(text: str) -> tuple[int, int]:
    """The deepest nesting of [ ] and { } outside quotes and comments, and the line where it is reached.

    Checked before parsing: PyYAML's scanner slows quadratically on deep flow nesting (10 KB of "[" takes
    seconds), before any depth check during parsing could stop it.
    """
    depth = deepest = 0
    line = where = 1
    quote = None
    comment = False
    prev = "\n"
    for ch in text:
        if ch == "\n":
            line += 1
            comment = False  # a quoted scalar may span lines, so a quote stays open
        elif comment:
            pass
        elif quote:
            if ch == quote:
                quote = None
        elif ch in "'\"" and (prev in " \t\n[{,:-" or depth):
            quote = ch
        elif ch == "#" and prev in " \t\n":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest, where = depth, line
                if deepest > MAX_DEPTH:
                    break
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
    return deepest, where


def load_yaml_text(text: str, file=None, error=DQMError, what: str = "file"):
    """Parse YAML text with :class:`StrictSafeLoader`; errors become ``error`` (a DQMError class)."""
    deepest, line = _flow_depth(text)
    if deepest > MAX_DEPTH:
        raise error(f"the {what} is refused at line {line}: values are nested more than {MAX_DEPTH} levels deep.",
                    file=file, hint="Fix the YAML and run again.")
    try:
        return yaml.load(text, Loader=StrictSafeLoader)  # noqa: S506 - StrictSafeLoader is a SafeLoader
    except _Refused as exc:
        raise error(f"the {what} is refused{_describe(exc)}.", file=file,
                    hint="Fix the YAML and run again.") from None
    except yaml.YAMLError as exc:
        raise error(f"the {what} is not valid YAML{_describe(exc)}.", file=file,
                    hint="Check indentation, colons and quoting.") from None
    except RecursionError:
        raise error(f"the {what} is nested too deeply to read.", file=file) from None


def load_yaml_bytes(data: bytes, path, error=DQMError, what: str = "file"):
    """Parse the bytes of a YAML file: UTF-8 text (naming the line of a bad byte), not binary, then :func:`load_yaml_text`."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise error(f"the {what} is not UTF-8 text: byte 0x{data[exc.start]:02x} at line {line} cannot be read.",
                    file=path, hint="Save the file as UTF-8 (in most editors: Save as, Encoding UTF-8).") from None
    if "\x00" in text:
        raise error(f"the {what} is a binary file, not YAML text.", file=path)
    return load_yaml_text(text, file=path, error=error, what=what)

"""A small evaluator for exactly the spreadsheet functions the assessment pack's calculator uses,
following Excel's rules (COUNT, AVERAGE, MEDIAN, GEOMEAN and MIN ignore text in ranges; MATCH with
match type 0 is an exact, case-insensitive match and gives #N/A when nothing matches).

It reads the formulas as written in the workbook (tokenised by openpyxl), so a test of the
calculator tests the formulas a council's spreadsheet program will compute, not a copy of them.
An unknown function is an error, so the pack cannot start using a function this evaluator
misreads without a test failing.
"""
from __future__ import annotations

import math
import statistics

from openpyxl.formula import Tokenizer
from openpyxl.utils import range_boundaries


class XLError(Exception):
    """A spreadsheet error value such as #N/A or #DIV/0!."""


class Range(list):
    """The values of a range of cells (function arguments keep ranges apart from single values)."""


def _numbers(args):
    out = []
    for a in args:
        if isinstance(a, Range):
            out += [v for v in a if isinstance(v, (int, float)) and not isinstance(v, bool)]
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            out.append(a)
    return out


def _match(value, rng, kind=1):
    if kind != 0:
        raise NotImplementedError("only exact MATCH (match type 0) is supported")
    if value is None or value == "":
        raise XLError("#N/A")
    for i, v in enumerate(rng, 1):
        if v is not None and str(v).lower() == str(value).lower():
            return i
    raise XLError("#N/A")


def _average(*a):
    xs = _numbers(a)
    if not xs:
        raise XLError("#DIV/0!")
    return sum(xs) / len(xs)


def _geomean(*a):
    xs = _numbers(a)
    if not xs or any(x <= 0 for x in xs):
        raise XLError("#NUM!")
    return math.prod(xs) ** (1 / len(xs))


FUNCTIONS = {
    "COUNT": lambda *a: len(_numbers(a)),
    "AVERAGE": _average,
    "MEDIAN": lambda *a: statistics.median(_numbers(a)) if _numbers(a) else (_ for _ in ()).throw(XLError("#NUM!")),
    "GEOMEAN": _geomean,
    "MIN": lambda *a: min(_numbers(a), default=0),
    "INT": lambda x: math.floor(x),
    "INDEX": lambda rng, n: rng[int(n) - 1],
    "MATCH": _match,
    "ISNUMBER": lambda x: isinstance(x, (int, float)) and not isinstance(x, bool),
    "AND": lambda *a: all(bool(x) for x in a),
}
LAZY = {"IF", "IFERROR"}


class Workbook:
    """Evaluate the formulas of an openpyxl workbook (loaded with formulas) with some inputs replaced."""

    def __init__(self, wb, inputs: dict | None = None):
        self.wb = wb
        self.inputs = {}
        for ref, v in (inputs or {}).items():
            sheet, cell = ref.split("!")
            self.inputs[(sheet, cell.replace("$", ""))] = v
        self.cache = {}

    def value(self, ref: str):
        sheet, cell = ref.split("!")
        return self._cell(sheet, cell.replace("$", ""))

    def _cell(self, sheet, coord):
        key = (sheet, coord)
        if key in self.inputs:
            return self.inputs[key]
        if key not in self.cache:
            v = self.wb[sheet][coord].value
            if isinstance(v, str) and v.startswith("="):
                try:
                    v = self._eval(_parse(v), sheet)
                except XLError as exc:
                    v = exc
            self.cache[key] = v
        v = self.cache[key]
        if isinstance(v, XLError):
            raise v
        return v

    def _ref(self, text, sheet):
        if "!" in text:
            sheet, text = text.split("!")
            sheet = sheet.strip("'")
        text = text.replace("$", "")
        if ":" not in text:
            return self._cell(sheet, text)
        c1, r1, c2, r2 = range_boundaries(text)
        ws = self.wb[sheet]
        out = Range()
        for r in range(r1, r2 + 1):
            for c in range(c1, c2 + 1):
                coord = ws.cell(r, c).coordinate
                try:
                    out.append(self._cell(sheet, coord))
                except XLError:
                    out.append(None)
        return out

    def _eval(self, node, sheet):
        kind = node[0]
        if kind == "num":
            return node[1]
        if kind == "text":
            return node[1]
        if kind == "ref":
            return self._ref(node[1], sheet)
        if kind == "neg":
            return -_num(self._eval(node[1], sheet))
        if kind == "op":
            _, op, a, b = node
            x, y = self._eval(a, sheet), self._eval(b, sheet)
            if op in ("+", "-", "*", "/"):
                x, y = _num(x), _num(y)
                if op == "/" and y == 0:
                    raise XLError("#DIV/0!")
                return {"+": x + y, "-": x - y, "*": x * y, "/": x / y if y else 0}[op]
            if op == "&":
                return f"{'' if x is None else x}{'' if y is None else y}"
            return {"=": x == y, "<>": x != y, "<": x < y, ">": x > y, "<=": x <= y, ">=": x >= y}[op]
        if kind == "call":
            _, name, args = node
            if name == "IF":
                cond = self._eval(args[0], sheet)
                branch = args[1] if cond else (args[2] if len(args) > 2 else ("num", False))
                return self._eval(branch, sheet)
            if name == "IFERROR":
                try:
                    return self._eval(args[0], sheet)
                except XLError:
                    return self._eval(args[1], sheet)
            if name not in FUNCTIONS:
                raise NotImplementedError(f"the evaluator does not know {name}")
            return FUNCTIONS[name](*[self._eval(a, sheet) for a in args])
        raise ValueError(node)


def _num(v):
    if v is None or v == "":
        return 0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise XLError("#VALUE!")
    return v


_PARSED: dict = {}
_PRECEDENCE = [("=", "<>", "<", ">", "<=", ">="), ("&",), ("+", "-"), ("*", "/")]


def _parse(formula: str):
    if formula not in _PARSED:
        toks = [t for t in Tokenizer(formula).items if t.type != "WHITE-SPACE"]
        pos = [0]

        def peek():
            return toks[pos[0]] if pos[0] < len(toks) else None

        def take():
            pos[0] += 1
            return toks[pos[0] - 1]

        def expr(level=0):
            if level == len(_PRECEDENCE):
                return unary()
            left = expr(level + 1)
            while (t := peek()) is not None and t.type == "OPERATOR-INFIX" and t.value in _PRECEDENCE[level]:
                take()
                left = ("op", t.value, left, expr(level + 1))
            return left

        def unary():
            t = peek()
            if t.type == "OPERATOR-PREFIX":
                take()
                return ("neg", unary()) if t.value == "-" else unary()
            return primary()

        def primary():
            t = take()
            if t.type == "OPERAND":
                if t.subtype == "NUMBER":
                    return ("num", float(t.value) if "." in t.value else int(t.value))
                if t.subtype == "TEXT":
                    return ("text", t.value[1:-1].replace('""', '"'))
                if t.subtype == "LOGICAL":
                    return ("num", t.value.upper() == "TRUE")
                return ("ref", t.value)
            if t.type == "FUNC" and t.subtype == "OPEN":
                name, args = t.value[:-1].upper(), []
                if peek().type == "FUNC" and peek().subtype == "CLOSE":
                    take()
                    return ("call", name, args)
                while True:
                    args.append(expr())
                    nxt = take()
                    if nxt.type == "FUNC" and nxt.subtype == "CLOSE":
                        return ("call", name, args)
                    assert nxt.type == "SEP", nxt
            if t.type == "PAREN" and t.subtype == "OPEN":
                inner = expr()
                take()
                return inner
            raise ValueError(f"cannot read {t.value!r} in {formula}")

        tree = expr()
        assert pos[0] == len(toks), formula
        _PARSED[formula] = tree
    return _PARSED[formula]

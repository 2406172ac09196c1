"""The one path by which text becomes report HTML: everything is escaped here, whatever file it came from.

Narrative helpers build *plain text* (sentences with numbers, dimension names, claim statements,
council names, free-text evidence) and hand it to :func:`paragraph`, :func:`bullets`, :func:`heading`
or :func:`plots.html_table`, which escape it once, at the edge where it leaves. Trusted structure
(tags written in this package) is a :class:`markupsafe.Markup`; anything else is text and is escaped,
so a dimension name such as ``<script>`` or ``[x](javascript:...)`` reaches the reader as those
characters, never as markup. Nothing is ever rendered as Markdown.

:func:`clean` also removes what a reader cannot see but a browser would obey: control characters
(other than tab and newline), unpaired surrogates, and the Unicode bidirectional override, embedding
and isolate controls (which can make text display in another order than it is stored). Text
containing right-to-left letters is wrapped in ``<bdi>`` so it cannot reorder the text around it.

>>> str(escape('<b onclick="x()">Ynys Môn</b>'))
'&lt;b onclick=&#34;x()&#34;&gt;Ynys Môn&lt;/b&gt;'
>>> str(paragraph("Leadership [x](javascript:alert(1)) & co.", lead="The model."))
'<p><strong>The model.</strong> Leadership [x](javascript:alert(1)) &amp; co.</p>'
>>> str(bullets(["a < b", html("<strong>{}</strong>: level 3", "Data*")]))
'<ul><li>a &lt; b</li><li><strong>Data*</strong>: level 3</li></ul>'
"""
from __future__ import annotations

import re
import unicodedata

from markupsafe import Markup
from markupsafe import escape as _escape

__all__ = ["Markup", "clean", "escape", "html", "paragraph", "bullets", "heading", "join", "block", "fragment"]

# C0 controls except tab and newline, DEL, C1 controls; bidi embeddings, overrides and isolates
# (LRE RLE PDF LRO RLO, LRI RLI FSI PDI); the BOM / zero-width no-break space
_INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text) -> str:
    """Text as a reader should see it: no control characters, no bidi overrides, no unpaired surrogates.

    >>> clean("abc\\u202edef\\x00\\r\\n")
    'abcdef\\n'
    """
    if text is None:
        return ""
    try:
        import pandas as pd

        if text is pd.NA or (isinstance(text, float) and text != text):
            return ""
    except ImportError:  # pragma: no cover
        pass
    s = str(text).replace("\r\n", "\n").replace("\r", "\n")
    return _SURROGATE.sub("\ufffd", _INVISIBLE.sub("", s))


def _has_rtl(s: str) -> bool:
    """Whether ``s`` holds a right-to-left letter (ASCII text, such as a chart's base64, never does)."""
    return not s.isascii() and any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in s)


def escape(value) -> Markup:
    """Escape one value for HTML (idempotent: trusted Markup passes through unchanged).

    Right-to-left text is isolated in ``<bdi>`` so it cannot reorder its neighbours.
    """
    if isinstance(value, Markup):
        return value
    s = clean(value)
    out = _escape(s)
    return Markup("<bdi>") + out + Markup("</bdi>") if _has_rtl(s) else out


LONG_RUN = 30  # a run of more than this many non-space characters (a URL, a file path, a pasted token) ...
BREAK_EVERY = 20  # ... may wrap every this many characters; words and numbers never do


def breakable(value) -> Markup:
    """:func:`escape` for a table cell: a soft break (``<wbr>``) every 20 characters inside any run of more than 30
    non-space characters, so that a long URL or a 5,000-character paste wraps within its column while a word or a
    number (the cells break only between words: report.css) is never split and never widens the table.

    >>> str(breakable("see https://example.org/" + "a" * 30))
    'see https://example.org/<wbr>aaaaaaaaaaaaaaaaaaaa<wbr>aaaaaaaaaa'
    """
    if isinstance(value, Markup):
        return value
    s = clean(value)
    if not re.search(rf"\S{{{LONG_RUN + 1},}}", s):
        return escape(s)
    out = Markup("")
    for i, part in enumerate(re.split(rf"(\S{{{LONG_RUN + 1},}})", s)):
        if i % 2:
            out += Markup("<wbr>").join(_escape(part[j:j + BREAK_EVERY]) for j in range(0, len(part), BREAK_EVERY))
        else:
            out += _escape(part)
    return Markup("<bdi>") + out + Markup("</bdi>") if _has_rtl(s) else out


def scroll_region(label, table: Markup) -> Markup:
    """A table in its scroll container: on a narrow screen a table wider than the page scrolls sideways inside it,
    with its caption, instead of breaking words and numbers; a keyboard user can focus it to scroll (report.css)."""
    return html('<div class="dqm-table-scroll" role="region" tabindex="0" aria-label="{}">', label) + table + Markup("</div>")


def html(template: str, *args, **kwargs) -> Markup:
    """Fill a trusted HTML template; every argument is escaped (``{}`` placeholders, str.format syntax).

    >>> str(html('<a href="#claim-{}">{}</a>', '"x', "<y>"))
    '<a href="#claim-&#34;x">&lt;y&gt;</a>'
    """
    return Markup(template).format(*[escape(a) for a in args], **{k: escape(v) for k, v in kwargs.items()})


def paragraph(text, lead: str | None = None, cls: str | None = None) -> Markup:
    """One paragraph of plain text, escaped; ``lead`` is a bold opening phrase."""
    body = escape(text)
    if lead:
        body = html("<strong>{}</strong> ", lead) + body
    return (html('<p class="{}">', cls) if cls else Markup("<p>")) + body + Markup("</p>")


def bullets(items) -> Markup:
    """A bulleted list; each item is plain text (escaped) or Markup built with :func:`html`."""
    items = list(items)
    if not items:
        return Markup("")
    return Markup("<ul>") + Markup("").join(html("<li>{}</li>", i) for i in items) + Markup("</ul>")


def heading(text, level: int = 2, id: str | None = None) -> Markup:
    level = int(level)
    if not 1 <= level <= 6:
        raise ValueError(f"heading level must be 1 to 6, not {level}")
    attr = html(' id="{}"', id) if id else Markup("")
    return Markup(f"<h{level}") + attr + Markup(">") + escape(text) + Markup(f"</h{level}>")


def join(*parts) -> Markup:
    """Concatenate fragments, escaping any that are plain text."""
    return Markup("").join(escape(p) for p in parts)


def fragment(part) -> Markup:
    """One displayable part as HTML: Markup as it is, a chart by its own HTML, plain text as an escaped paragraph."""
    if isinstance(part, Markup):
        return part
    if hasattr(part, "_repr_html_"):  # a dqm.reports.plots.Chart (built with this module's helpers)
        return Markup(part._repr_html_())
    if isinstance(part, (list, tuple)):
        return Markup("").join(fragment(p) for p in part)
    return paragraph(part)


def block(*parts):
    """An IPython HTML object for a notebook's ``display``: the only way report text reaches a notebook output.

    Each part is Markup (kept), a chart, a list of parts, or plain text (escaped into a paragraph).
    """
    from IPython.display import HTML

    return HTML(str(Markup("").join(fragment(p) for p in parts)))

"""Step 3: an executed notebook into publication HTML with nbconvert (the project's template), and its contents list.
"""
from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup

TEMPLATE_DIR = Path(__file__).parent / "templates"


def _html_exporter():
    """The project's nbconvert exporter (a batch worker makes one and reuses it)."""
    from nbconvert import HTMLExporter

    return HTMLExporter(extra_template_basedirs=[str(TEMPLATE_DIR / "nbconvert")], template_name="dqm")


def export_html(nb, title: str, exporter=None) -> str:
    """An executed notebook as the report's HTML page (with ``exporter``, reused, or a new one)."""
    exporter = exporter or _html_exporter()
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(nb, resources={"dqm_title": title, "dqm_css": css})
    return add_contents(body)


_export_html = export_html  # the name used before the batch reused the exporter


def add_contents(html: str) -> str:
    """Give headings ids, demote any extra h1 to h2, and insert a contents list after the h1."""
    soup = BeautifulSoup(html, "html.parser")
    h1s = soup.find_all("h1")
    for extra in h1s[1:]:
        extra.name = "h2"
    for a in soup.select("a.anchor-link"):  # nbconvert's pilcrow links clutter screen readers
        a.decompose()
    items, used = [], set()
    for h in soup.find_all(["h2"]):
        text = h.get_text(" ", strip=True)
        hid = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"
        while hid in used:
            hid += "-x"
        used.add(hid)
        h["id"] = hid
        items.append((hid, text))
    if h1s and items:
        nav = soup.new_tag("nav", attrs={"class": "dqm-contents", "aria-labelledby": "contents-heading"})
        heading = soup.new_tag("h2", id="contents-heading")
        heading.string = "Contents"
        nav.append(heading)
        ol = soup.new_tag("ol")
        for hid, text in items:
            li = soup.new_tag("li")
            a = soup.new_tag("a", href=f"#{hid}")
            a.string = text
            li.append(a)
            ol.append(li)
        nav.append(ol)
        anchor = h1s[0]
        # put the contents after the h1 and after a synthetic-data banner that directly follows it
        nxt = anchor.find_next_sibling()
        if nxt is not None and "dqm-banner" in (nxt.get("class") or []):
            anchor = nxt
        anchor.insert_after(nav)
    return str(soup)

"""Step 4: the publication HTML into PDF with WeasyPrint, fetching nothing but the report's own inline images.
"""
from __future__ import annotations

import re
from pathlib import Path

from ..paths import (
    write_atomic,
)

# the only resource a report's PDF may read: the report's own charts, embedded as base64 PNG
EMBEDDED_IMAGE = "data:image/png;base64,"

# "Data behind this chart" (dqm.reports.plots.Chart): in the HTML only. The print stylesheet hides it; the PDF is
# made without it, so WeasyPrint neither parses nor styles thousands of cells it would not show. (Every value in
# it is escaped by dqm.markup, so its text cannot hold a literal "</details>".)
SCREEN_ONLY = re.compile(r'<details class="dqm-data(?: [^"<>]*)?">.*?</details>', re.S)


def report_url_fetcher():
    """A WeasyPrint URL fetcher for reports: only the report's own ``data:image/png`` charts are read.

    Everything else (http, https, file, ftp, other ``data:`` types) is refused and recorded in
    ``.refused``, so a PDF build never touches the network or the local disk and nothing from outside
    the report can be embedded or attached.
    """
    from weasyprint.urls import URLFetcher

    class ReportFetcher(URLFetcher):
        def __init__(self):
            super().__init__(allowed_protocols=("data",), allow_redirects=False, timeout=1)
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            if not str(url).startswith(EMBEDDED_IMAGE):
                self.refused.append(str(url))
                raise ValueError(f"dqm reports fetch nothing but their own charts; {str(url)[:60]!r} refused")
            return super().fetch(url, headers)

    return ReportFetcher()


def print_version(page: str) -> str:
    """The report's HTML as it prints: without the parts the print stylesheet hides (:data:`SCREEN_ONLY`)."""
    return SCREEN_ONLY.sub("", page)


def pdf_from_html(page: str) -> bytes:
    """The report as PDF bytes, via WeasyPrint (in-process, offline; tagged PDF/UA-1 for screen readers).

    The HTML is read from the string with no base URL and :func:`report_url_fetcher`: no network, no
    local files, and no attachments (any ``<link rel=attachment>`` is dropped before writing). The page is printed
    as :func:`print_version`: the print stylesheet lays its tables out from set column widths (``report.css``).
    """
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    options = {"pdf_variant": "pdf/ua-1"}
    doc = weasyprint.HTML(string=print_version(page), url_fetcher=report_url_fetcher()).render(**options)
    doc.metadata.attachments = []
    return doc.write_pdf(attachments=[], **options)


def export_pdf(html_path: Path, root=None) -> Path:
    """Write ``report.pdf`` beside an existing ``report.html`` (atomically; inside the output folder ``root``)."""
    html_path = Path(html_path)
    return write_atomic(html_path.with_suffix(".pdf"), pdf_from_html(html_path.read_text(encoding="utf-8")), "PDF",
                        root=root)

"""How a PDF's pages are laid out, read from its tagged structure (WeasyPrint writes tagged PDF/UA-1).

Each page's structure tree (pdfium's ``FPDF_StructTree_GetForPage``) names the elements with content on
that page (H2, Caption, Table, Figure, P, ...) and the marked-content ids of their pieces; each page
object (text, image) carries its marked-content id and its box. Together they say where a heading or a
caption is on its page and whether anything it leads to follows it there. Running headers and footers are
artifacts (no marked-content id), so they count as neither heading nor content.
"""
from __future__ import annotations

import ctypes
from dataclasses import dataclass, field
from pathlib import Path

HEADINGS = {"H1", "H2", "H3", "H4", "H5", "H6"}


@dataclass
class Element:
    """A heading or caption on one page: its type, the type of its parent, its box on the page and its text."""

    kind: str
    parent: str
    box: tuple[float, float, float, float]  # left, bottom, right, top (PDF points, y upwards)
    mcids: frozenset = frozenset()
    text: str = ""

    @property
    def leads(self) -> bool:
        """A heading, or a table's caption, comes before what it introduces; a figure's caption after it."""
        return self.kind != "Caption" or self.parent == "Table"


@dataclass
class Page:
    number: int  # from 1
    height: float
    content: list = field(default_factory=list)  # (mcid, box) of every marked text or image object
    elements: list = field(default_factory=list)  # headings and captions (Element)


def _struct_type(el) -> str:
    import pypdfium2.raw as raw

    n = raw.FPDF_StructElement_GetType(el, None, 0)
    buf = ctypes.create_string_buffer(n)
    raw.FPDF_StructElement_GetType(el, buf, n)
    return buf.raw.decode("utf-16-le").rstrip("\0")


def _mcids(el) -> list[int]:
    """The marked-content ids of an element and all its descendants."""
    import pypdfium2.raw as raw

    ids = [raw.FPDF_StructElement_GetMarkedContentIdAtIndex(el, k)
           for k in range(raw.FPDF_StructElement_GetMarkedContentIdCount(el))]
    for k in range(raw.FPDF_StructElement_CountChildren(el)):
        child = raw.FPDF_StructElement_GetChildAtIndex(el, k)
        if child:
            ids += _mcids(child)
    return [i for i in ids if i >= 0]


def _union(boxes):
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def read_pages(path: Path) -> list[Page]:
    """Every page of a tagged PDF: its marked content and its headings and captions, with their boxes."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(path))
    pages = []
    try:
        for i in range(len(pdf)):
            page = pdf[i]
            boxes: dict[int, list] = {}
            for obj in page.get_objects(max_depth=4):
                mcid = raw.FPDFPageObj_GetMarkedContentID(obj.raw)
                if mcid >= 0 and obj.type in (pdfium.raw.FPDF_PAGEOBJ_TEXT, pdfium.raw.FPDF_PAGEOBJ_IMAGE):
                    boxes.setdefault(mcid, []).append(tuple(obj.get_bounds()))
            p = Page(i + 1, page.get_height(), [(m, b) for m, bs in boxes.items() for b in bs])
            text = page.get_textpage()
            tree = raw.FPDF_StructTree_GetForPage(page.raw)

            def walk(el, parent, p=p, boxes=boxes, text=text):
                kind = _struct_type(el)
                if kind in HEADINGS or kind == "Caption":
                    ids = frozenset(_mcids(el))
                    mine = [b for m in ids for b in boxes.get(m, [])]
                    if mine:
                        box = _union(mine)
                        p.elements.append(Element(kind, parent, box, ids, " ".join(text.get_text_bounded(*box).split())))
                for k in range(raw.FPDF_StructElement_CountChildren(el)):
                    child = raw.FPDF_StructElement_GetChildAtIndex(el, k)
                    if child:
                        walk(child, kind)

            for k in range(raw.FPDF_StructTree_CountChildren(tree)):
                walk(raw.FPDF_StructTree_GetChildAtIndex(tree, k), "")
            raw.FPDF_StructTree_Close(tree)
            text.close()
            page.close()
            pages.append(p)
    finally:
        pdf.close()
    return pages


def stranded(pages: list[Page], tolerance: float = 1.0) -> list[tuple[int, Element]]:
    """Headings and captions parted from what they introduce or caption: (page number, element).

    A heading or a table's caption is stranded when nothing but other headings and captions follows it on
    its page (its table, figure or text starts on the next page); a figure's caption when nothing precedes
    it on its page (the figure is on the page before). The last page's headings and the first page's
    captions cannot be parted.
    """
    out = []
    for k, page in enumerate(pages):
        leaders = frozenset().union(*(el.mcids for el in page.elements))
        body = [b for m, b in page.content if m not in leaders]  # the page's content that heads nothing
        for el in page.elements:
            bottom, top = el.box[1], el.box[3]
            if el.leads and k + 1 < len(pages) and not [b for b in body if b[3] <= bottom + tolerance]:
                out.append((page.number, el))
            elif not el.leads and k > 0 and not [b for b in body + [b for m, b in page.content if m in leaders
                                                                    and m not in el.mcids]
                                                 if b[1] >= top - tolerance]:
                out.append((page.number, el))
    return out


def content_area(pages: list[Page]) -> tuple[float, float]:
    """The (bottom, top) of the area every page's content lies in: the extremes over the whole document."""
    boxes = [b for p in pages for _, b in p.content]
    return min(b[1] for b in boxes), max(b[3] for b in boxes)


def filled(pages: list[Page]) -> list[float]:
    """For each page, the share of the content area's height down to its lowest content (0: empty, 1: full)."""
    bottom, top = content_area(pages)
    return [(top - min((b[1] for _, b in p.content), default=top)) / (top - bottom) for p in pages]

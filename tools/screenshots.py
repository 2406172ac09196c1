"""Screenshots of every page a reader sees, for docs/screenshots/ (`make screenshots`).

Builds the four demo reports, the handbook and a small batch index (tests/report_pages.py, the same pages
tests/test_layout.py checks), then writes, for each page:

- ``NAME-1280.png`` and ``NAME-390.png``: the first screen on a laptop (1280 x 800 CSS px) and on a phone
  (390 x 844, as a phone lays it out);
- ``NAME-1280-full.png`` and ``NAME-390-full.png``: the whole page at half scale (a very long page is cut at
  16,000 CSS px, and the index says so);

and for each PDF: ``NAME-pdf-page1.png`` (the first page at 72 dpi) and ``NAME-pdf-pages.png`` (every page as
a thumbnail, to see where pages break and which are left empty). Images are reduced to a 128-colour palette
to keep them small. ``README.md`` in the same folder indexes them.

Chromium is driven by tests/browser.py (a phone-width viewport needs the DevTools protocol) and PDF pages
are drawn by pypdfium2 (pinned in requirements.lock). Run from the project root:

    python tools/screenshots.py [--out docs/screenshots] [--keep DIR | --pages DIR]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from browser import Browser, chromium  # noqa: E402
from report_pages import WAVE, build_pages, built_pages  # noqa: E402

TITLES = {"annual": f"State of Digital {WAVE} (annual report)", "evidence": f"Evidence review {WAVE}",
          "council": f"Council benchmark report {WAVE} (the demo's example council)",
          "quality": f"Data quality report {WAVE} (for analysts; no PDF)", "handbook": "Handbook of the model",
          "index": f"Batch index of council reports {WAVE} (a batch of a few councils)"}
SCREENS = {1280: (800, 0.5), 390: (844, 0.5)}  # width: (first-screen height, full-page scale)
LONGEST = 16000  # CSS px of a full-page screenshot
THUMB = 0.2  # PDF thumbnails: a fifth of 72 dpi
PER_ROW = 8


def small_png(image, path: Path) -> Path:
    """Save a PIL image as a palette PNG (128 colours), the smallest that keeps text legible."""
    image.convert("RGB").quantize(colors=128, dither=0).save(path, optimize=True)
    return path


def page_shots(b: Browser, name: str, html: Path, out: Path) -> dict[str, tuple[Path, bool]]:
    """The four screenshots of one page: {label: (png, cut)}; cut says the full page was longer than LONGEST."""
    from PIL import Image

    shots = {}
    for width, (height, scale) in SCREENS.items():
        b.open(html, width=width, height=height)
        for full in (False, True):
            png = out / f"{name}-{width}{'-full' if full else ''}.png"
            b.screenshot(png, full_page=full, scale=scale if full else 1.0, max_height=LONGEST)
            small_png(Image.open(png), png)
            tall = b.evaluate("document.documentElement.scrollHeight")
            shots[f"{width} px, {'whole page' if full else 'first screen'}"] = (png, full and tall > LONGEST)
    return shots


def pdf_shots(name: str, pdf: Path, out: Path) -> dict[str, tuple[Path, bool]]:
    """The PDF's first page, and every page as a thumbnail in rows of PER_ROW."""
    import pypdfium2 as pdfium
    from PIL import Image

    doc = pdfium.PdfDocument(str(pdf))
    try:
        first = small_png(doc[0].render(scale=1).to_pil(), out / f"{name}-pdf-page1.png")
        thumbs = [doc[i].render(scale=THUMB).to_pil() for i in range(len(doc))]
    finally:
        doc.close()
    w, h = thumbs[0].size
    gap = 6
    rows = -(-len(thumbs) // PER_ROW)
    sheet = Image.new("RGB", (PER_ROW * (w + gap) + gap, rows * (h + gap) + gap), (120, 120, 120))
    for k, t in enumerate(thumbs):
        sheet.paste(t, (gap + (k % PER_ROW) * (w + gap), gap + (k // PER_ROW) * (h + gap)))
    pages = small_png(sheet, out / f"{name}-pdf-pages.png")
    return {"PDF, first page": (first, False), f"PDF, all {len(thumbs)} pages": (pages, False)}


def write_index(out: Path, shots: dict[str, dict], commit: str) -> Path:
    """docs/screenshots/README.md: every image, by page, with what it shows."""
    lines = ["# Screenshots of the reports", "",
             f"Made by `make screenshots` (tools/screenshots.py) from the bundled synthetic demo data at commit "
             f"`{commit}`: the pages are built with `dqm run --quick`, `dqm handbook --pdf` and `dqm report councils` "
             "for a few councils, then photographed in headless Chromium (a laptop 1280 px wide; a phone 390 px "
             "wide, laid out as a phone would) and their PDFs drawn page by page. tests/test_layout.py checks the "
             "same pages. Whole-page images are at half scale; a page longer than "
             f"{LONGEST:,} CSS px is cut there (marked *cut*). Images use a 128-colour palette to stay small.", ""]
    for name, items in shots.items():
        lines += [f"## {TITLES[name]}", ""]
        lines += [f"- [{label}]({png.name})" + (" *cut*" if cut else "") for label, (png, cut) in items.items()]
        lines.append("")
    path = out / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"), help="folder for the images and README.md")
    ap.add_argument("--keep", help="build the pages in this folder and keep them (default: a temporary folder)")
    ap.add_argument("--pages", help="photograph the pages an earlier --keep DIR run built there, without building them")
    args = ap.parse_args(argv)
    browser = chromium(required=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip() or "unknown"
    with tempfile.TemporaryDirectory(prefix="dqm-screenshots-") as tmp:
        if args.pages:
            pages = built_pages(Path(args.pages))
        else:
            folder = Path(args.keep) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            print(f"Building the pages in {folder} (about 2 minutes of CPU)...", file=sys.stderr, flush=True)
            pages = build_pages(folder)
        shots = {}
        with Browser(browser, Path(tmp) / "profile") as b:
            for name, built in pages.items():
                shots[name] = page_shots(b, name, built.html, out)
                if built.pdf:
                    shots[name].update(pdf_shots(name, built.pdf, out))
    index = write_index(out, shots, commit)
    size = sum(p.stat().st_size for p in out.glob("*.png"))
    print(f"Wrote {len(list(out.glob('*.png')))} images ({size / 1e6:.1f} MB) and {index}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

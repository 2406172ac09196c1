"""Run parameterised notebooks with papermill and export them with nbconvert as publication HTML.

Parameters are validated before a kernel starts. A failing cell stops the report with a message
naming the notebook, the cell and the error, and the partly executed notebook is kept in
``reports/_build/`` for inspection. Papermill's timestamps stay in notebook metadata; the HTML holds
one run-time line only, so two runs on the same inputs differ only there.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
from bs4 import BeautifulSoup

from . import __version__
from .errors import DQMError, ParameterError
from .model import load_model
from .narrative import escape, long_date
from .paths import notebooks_dir, reports_dir
from .plots import html_table

TEMPLATE_DIR = Path(__file__).parent / "templates"

REPORTS = {
    "annual": {"notebook": "state_of_digital.ipynb", "output": "state-of-digital-{wave}.html",
               "title": "State of Digital in local government, {wave}"},
    "quality": {"notebook": "data_quality.ipynb", "output": "data-quality-{wave}.html",
                "title": "Data quality report: DQM assessments, {wave}"},
    "council": {"notebook": "council_benchmark.ipynb", "output": "council-{council}-{wave}.html",
                "title": "Digital Quality Model benchmark: {council}, {wave}"},
    "evidence": {"notebook": "evidence_review.ipynb", "output": "evidence-review-{wave}.html",
                 "title": "Does better digital deliver? Evidence review, {wave}"},
}


class ReportError(DQMError):
    """A report could not be produced."""


def _kernel_manager_class():
    """Kernels talk to papermill over local sockets beside their connection file, not TCP ports (and
    ipykernel then has no reason to warn about unencrypted TCP on the console)."""
    import os
    import tempfile
    import uuid

    from jupyter_client.manager import KernelManager
    from traitlets import Unicode, default

    class IPCKernelManager(KernelManager):
        transport = Unicode("ipc")

        @default("ip")
        def _ip_default(self):  # a socket path of its own, so that kernels run side by side never cross
            return os.path.join(tempfile.gettempdir(), f"dqm-kernel-{uuid.uuid4().hex}")

    return IPCKernelManager


@dataclass
class ReportResult:
    kind: str
    html: Path
    notebook: Path
    seconds: float
    pdf: Path | None = None


def file_sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def validate_parameters(kind: str, wave, store, out_dir: Path, output: Path, council=None) -> None:
    """Check parameters before a kernel starts; raise ParameterError with a one-line message."""
    from .store import connect

    if kind not in REPORTS:
        raise ParameterError(f"unknown report {kind!r}; choose one of {', '.join(REPORTS)}.")
    if not isinstance(wave, int) or isinstance(wave, bool):
        raise ParameterError(f"wave must be a year such as 2026, not {wave!r}.")
    out_dir = out_dir.resolve()
    if out_dir != output.resolve().parent and out_dir not in output.resolve().parents:
        raise ParameterError(f"the output {output} is outside the output folder {out_dir}.")
    store = Path(store)
    if not store.exists():
        raise ParameterError(f"the store {store} does not exist; run `dqm ingest` first.")
    con = connect(store, read_only=True)
    try:
        waves = [r[0] for r in con.execute("SELECT DISTINCT wave FROM submissions ORDER BY wave").fetchall()]
    finally:
        con.close()
    if wave not in waves:
        have = ", ".join(map(str, waves)) or "none"
        raise ParameterError(f"the store {store} has no submissions for wave {wave} (waves held: {have}).")
    if kind == "council":
        from .reference import councils, match_council

        if not isinstance(council, str) or not council:
            raise ParameterError("a council report needs a council code, for example BST.")
        if council not in set(councils()["local-authority-code"]):
            m = match_council(council)
            hint = f" Did you mean {m.code} ({m.name})?" if m.code else ""
            raise ParameterError(f"{council!r} is not a council code.{hint}")
        if council not in councils_in_wave(store, wave):
            raise ParameterError(f"council {council} has no self-assessment in wave {wave}.")


def _export_html(nb, title: str) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(extra_template_basedirs=[str(TEMPLATE_DIR / "nbconvert")], template_name="dqm")
    css = (TEMPLATE_DIR / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(nb, resources={"dqm_title": title, "dqm_css": css})
    return add_contents(body)


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


def run_report(kind: str, wave: int, store=None, out_dir=None, output: str | Path | None = None,
               extra: dict | None = None, council: str | None = None, pdf: bool = False) -> ReportResult:
    """Execute a report notebook with papermill and export it to HTML in the output folder."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    from .paths import default_store

    spec = REPORTS.get(kind)
    if spec is None:
        raise ParameterError(f"unknown report {kind!r}; choose one of {', '.join(REPORTS)}.")
    store = Path(store) if store else default_store()
    out_dir = Path(out_dir) if out_dir else reports_dir()
    html_path = Path(output) if output else out_dir / spec["output"].format(wave=wave, council=council)
    if not html_path.is_absolute() and output:
        html_path = out_dir / html_path
    validate_parameters(kind, wave, store, out_dir, html_path, council)
    build = out_dir / "_build"
    build.mkdir(parents=True, exist_ok=True)
    executed = build / html_path.with_suffix(".ipynb").name
    # papermill's Python API keeps types: the council code "007" stays a string, the wave an integer
    params = {"wave": int(wave), "store": str(store.resolve()), **({"council": council} if kind == "council" else {}),
              **(extra or {})}
    nb_in = notebooks_dir() / spec["notebook"]
    start = dt.datetime.now()
    try:
        pm.execute_notebook(str(nb_in), str(executed), parameters=params, kernel_name="python3",
                            cwd=str(notebooks_dir()), progress_bar=False, log_output=False, report_mode=True,
                            kernel_manager_class=_kernel_manager_class())
    except PapermillExecutionError as exc:
        raise ReportError(
            f"notebook {nb_in.name} failed in cell {exc.exec_count} ({exc.ename}: {exc.evalue}). "
            f"The partly executed notebook is kept at {executed}.") from None
    nb = nbformat.read(executed, as_version=4)
    name = council
    if kind == "council":
        from .reference import councils

        name = councils().set_index("local-authority-code").loc[council, "nice-name"]
    title = spec["title"].format(wave=wave, council=name)
    html = _export_html(nb, title)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(html, encoding="utf-8")
    pdf_path = export_pdf(html_path) if pdf else None
    return ReportResult(kind, html_path, executed, (dt.datetime.now() - start).total_seconds(), pdf_path)


def export_pdf(html_path: Path) -> Path:
    """The same content as PDF, via WeasyPrint (in-process, offline; tagged PDF/UA-1 for screen readers)."""
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    pdf_path = html_path.with_suffix(".pdf")
    weasyprint.HTML(filename=str(html_path)).write_pdf(str(pdf_path), pdf_variant="pdf/ua-1")
    return pdf_path


def provenance(store, parameters: dict, extra_files: dict | None = None) -> str:
    """The provenance block that ends every report: inputs with hashes, versions, parameters, run time."""
    from .store import connect

    model = load_model()
    con = connect(store, read_only=True)
    try:
        ingests = con.execute("SELECT file_name, sha256, wave, shape, ingested_at FROM ingests ORDER BY ingest_id").df()
    finally:
        con.close()
    files = [{"Input": f"Survey export {r.file_name} (wave {r.wave}, {r.shape})", "SHA-256": r.sha256}
             for r in ingests.itertuples()]
    files.append({"Input": f"Quality model {Path(model.path).name} ({model.id} version {model.version})",
                  "SHA-256": file_sha256(model.path)})
    for label, path in (extra_files or {}).items():
        files.append({"Input": label, "SHA-256": file_sha256(path)})
    params = pd.DataFrame({"Parameter": list(parameters), "Value": [str(v) for v in parameters.values()]})
    return (
        '<section class="dqm-provenance">'
        + html_table(pd.DataFrame(files), "Inputs to this report and their SHA-256 hashes")
        + html_table(params, "Parameters of this run")
        + f"<p>Produced by dqm version {escape(__version__)} with the quality model {escape(model.id)} "
        f"version {escape(model.version)}.</p>"
        + f'<p class="dqm-runtime">Run on {long_date(dt.date.today())} at {dt.datetime.now():%H:%M}.</p></section>'
    )


def councils_in_wave(store, wave: int) -> list[str]:
    """Councils with a current self-assessment in the wave (the ones a council report can be made for)."""
    from .store import connect

    con = connect(store, read_only=True)
    try:
        rows = con.execute("SELECT DISTINCT council_code FROM submissions WHERE wave = ? AND assessment_type = 'self' "
                           "AND superseded_by IS NULL ORDER BY council_code", [wave]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def run_council_reports(wave: int, store=None, out_dir=None, councils: list[str] | None = None, pdf: bool = False,
                        jobs: int = 2, extra: dict | None = None, progress=print) -> "pd.DataFrame":
    """Council reports for every council in the wave (or the given codes), ``jobs`` at a time.

    A council whose report fails is recorded with its error and the others carry on; returns one row
    per council with the output paths, seconds taken and any error.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .paths import default_store

    store = Path(store) if store else default_store()
    codes = councils or councils_in_wave(store, wave)

    def one(code):
        try:
            r = run_report("council", wave, store=store, out_dir=out_dir, council=code, pdf=pdf, extra=extra)
            row = {"council": code, "html": str(r.html), "pdf": str(r.pdf or ""), "seconds": r.seconds, "error": ""}
        except DQMError as exc:
            row = {"council": code, "html": "", "pdf": "", "seconds": 0.0, "error": str(exc)}
        if progress:
            progress(f"{code}: " + (row["error"] or f"{row['html']} ({row['seconds']:.1f} s)"))
        return row

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:  # each report runs in its own kernel process
        return pd.DataFrame(list(pool.map(one, codes)))

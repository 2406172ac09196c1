"""The handbook: the model rendered as an accessible HTML page (and PDF), generated from the model file.

It has the steps of an assessment, the five levels and what they mean, how the overall level is
worked out, and for each dimension its descriptors per level, its points to consider and its survey
questions, with provisional dimensions marked. It uses the reports' stylesheet, page shell, contents
list and table function, and every value from the model goes through the reports' one escaping path (:mod:`dqm.markup`).

>>> from dqm.model import load_model
>>> "<h1>" in handbook_html(load_model())
True
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..markup import Markup, bullets, html, paragraph
from ..model import Model
from ..reports.plots import html_table
from ..version import __version__

CSS = Path(__file__).resolve().parent.parent / "reports" / "templates" / "report.css"

STEPS = [
    ("Understand your context.", "Read this handbook, agree who takes part and gather the evidence you have."),
    ("Choose a level for each dimension, with evidence.",
     "In the assessment pack (dqm pack), pick the level whose description fits best and record the evidence."),
    ("Work out the overall level.", "The pack's calculator combines the dimension levels by the model's rule."),
    ("Choose target levels.", "Set a realistic target for each dimension; the calculator shows the gaps."),
    ("Plan actions.", "Use the action library (dqm action-plan) to plan how to reach each next level."),
]


def _slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"


def _dimension_section(model: Model, d) -> Markup:
    desc = model.descriptors[model.descriptors["dimension_id"] == d["id"]]
    table = pd.DataFrame({"Level": [f"{v} {model.level_name(v)}" for v in desc["level"]],
                          "What it looks like": list(desc["descriptor"])})
    anchor = f"dim-{_slug(d['id'])}"
    parts = [html('<section class="dqm-dimension" aria-labelledby="{}">', anchor),
             html('<h3 id="{}">{}', anchor, d["name"])
             + (Markup(' <span class="dqm-tag">provisional</span>') if d["provisional"] else Markup(""))
             + Markup("</h3>")]
    if d["provisional"]:
        parts.append(paragraph("This dimension is a placeholder until the model's publishers describe it; its "
                               "wording may change.", lead="Provisional."))
    parts.append(html_table(table, f"{d['name']}: what each level looks like"))
    prompts = model.dimension_prompts(d["id"])
    if prompts:
        parts.append(Markup("<h4>Points to consider</h4>") + bullets(prompts))
    parts.append(Markup("<h4>Survey questions</h4>") + bullets([d["question"], d["target_question"],
                                                                d["evidence_question"]]))
    parts.append(Markup("</section>"))
    return Markup("").join(parts)


def handbook_html(model: Model) -> str:
    """The whole handbook page as HTML (one h1, a contents list, the reports' stylesheet)."""
    from ..reports.html import add_contents

    title = f"The Digital Quality Model handbook ({model.id}, version {model.version})"
    dims = model.dimensions
    provisional = dims[dims["provisional"]]
    body = [html("<h1>{}</h1>", title),
            paragraph("Councils use the Digital Quality Model to rate the quality of their digital, data and technology on "
               f"{len(dims)} dimensions, each on {len(model.level_values)} levels, by self, peer or independent "
               "assessment, and to set a target level for each. This handbook describes every dimension, what each "
               "level looks like and what to consider when choosing one. It is generated from the model file, so it "
               "always matches the assessment pack, the calculator and the survey questions.", lead="About the model."),
            paragraph(model.source, lead="Source.")]
    if len(provisional):
        body.append(paragraph(f"{len(provisional)} of the {len(dims)} dimensions are provisional placeholders: "
                       + ", ".join(provisional["name"]) + ". They are marked where they appear.",
                       lead="What is provisional."))
    body += [Markup("<h2>How to carry out an assessment</h2>"),
             Markup("<ol>") + Markup("").join(html("<li><strong>{}</strong> {}</li>", a, b) for a, b in STEPS)
             + Markup("</ol>"),
             Markup("<h2>The levels</h2>"),
             html_table(pd.DataFrame({"Level": model.levels["value"].astype(int), "Name": model.levels["name"],
                                      "What it means": model.levels["description"]}),
                        "The levels of the Digital Quality Model"),
             Markup("<h2>The overall level</h2>"),
             paragraph(f"The overall level is {model.describe_overall_rule()}. A council that answers fewer than "
                f"{model.min_coverage} of the {len(dims)} dimensions gets no overall level. \"Don't know\" and blank "
                "answers count as not answered, never as zero."),
             paragraph("Council reports name two other overall figures, and never call either the overall level. "
                "The overall score is the mean of the dimension levels, unrounded: the council's own answers, on "
                "the scale of self-assessment, compared only with other councils' answers. The model level is the "
                "measurement model's estimate of the council's level, to one decimal place with a 90% interval: it "
                "allows for disagreement between respondents, their leniency and rounding to whole levels, and it is "
                "on the scale of independent assessment, because the model takes off the amount by which councils' "
                "self-assessments run above independent ones. It is compared only with other councils' model levels, "
                "and it can be lower than the overall level the pack's calculator gives.", lead="Overall score and model "
                "level.")]
    groups = list(dict.fromkeys(dims["group"]))
    gdesc = dict(zip(model.groups["id"], model.groups["description"])) if len(model.groups) else {}
    for g in groups:
        in_group = dims[dims["group"] == g]
        body.append(html("<h2>{}: {} dimensions</h2>", g, len(in_group)))
        if gdesc.get(g):
            body.append(paragraph(gdesc[g]))
        body += [_dimension_section(model, d) for _, d in in_group.iterrows()]
    sha = hashlib.sha256(Path(model.path).read_bytes()).hexdigest() if model.path else ""
    body += [Markup('<section class="dqm-provenance"><h2>About this handbook</h2>'),
             paragraph(f"Generated by dqm version {__version__} from the quality model file {Path(model.path).name} "
                f"({model.id} version {model.version}; SHA-256 {sha}). Edit the model file, not this page, and "
                "generate it again with dqm handbook."),
             Markup("</section>")]
    css = CSS.read_text(encoding="utf-8") + (".dqm-tag { font-size: 16px; font-weight: normal; border: 2px solid "
                                             "var(--text); padding: 0 6px; margin-left: 8px; vertical-align: middle; }")
    page = (html('<!DOCTYPE html>\n<html lang="en-GB">\n<head>\n<meta charset="utf-8">\n'
                 '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{}</title>\n', title)
            + Markup("<style>") + Markup(css) + Markup("</style>\n</head>\n<body>\n")
            + Markup('<a class="skip" href="#main">Skip to content</a>\n<main id="main">\n')
            + Markup("\n").join(body) + Markup("\n</main>\n</body>\n</html>\n"))
    return add_contents(str(page))


def handbook_file_name(model: Model, name: str = "dqm-handbook") -> str:
    """The handbook's HTML file name for a model: ``dqm-handbook-VERSION.html`` (the reports link to it).

    >>> from dqm.model import load_model
    >>> handbook_file_name(load_model())
    'dqm-handbook-0.2-example.html'
    """
    safe_version = "".join(c if c.isalnum() or c in ".-" else "-" for c in str(model.version))[:100]
    return f"{name}-{safe_version}.html"


def write_handbook(out_dir, model: Model, pdf: bool = False, name: str = "dqm-handbook") -> tuple[Path, Path | None]:
    """Write ``dqm-handbook-VERSION.html`` (and .pdf) to ``out_dir``; returns their paths."""
    from ..paths import output_folder, write_atomic
    from ..reports.pdf import pdf_from_html

    folder = output_folder(out_dir)
    page = handbook_html(model)
    pdf_bytes = pdf_from_html(page) if pdf else None  # made before anything is written
    html_path = write_atomic(handbook_file_name(model, name), page, "handbook", root=folder)
    pdf_path = write_atomic(html_path.with_suffix(".pdf"), pdf_bytes, "handbook PDF", root=folder) if pdf else None
    return html_path, pdf_path

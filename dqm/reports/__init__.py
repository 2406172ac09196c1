"""Publishing: parameterised notebooks into HTML and PDF reports, one at a time or a batch per wave.

Read it in the order a report is made:

1. :mod:`.notebook`: validate the parameters, run one notebook with papermill in a fresh kernel
   (:func:`run_report`), keep the executed notebook for inspection when a cell fails.
2. :mod:`.batch`: every council's report in worker processes (:func:`run_batch`), using
   :mod:`.wave` (the wave-level inputs computed once and handed to every report), :mod:`.kernel`
   (one kernel per worker, reset between councils), :mod:`.manifest` (what each report was made
   from, so an unchanged report is skipped) and :mod:`.index` (the batch's ``index.html`` and
   ``index.csv``).
3. :mod:`.html`: the executed notebook into publication HTML (the project's nbconvert template in
   ``templates/``) with a contents list.
4. :mod:`.pdf`: that HTML into PDF with WeasyPrint, fetching nothing but the report's own images.
5. :mod:`.provenance`: the block every report ends with, saying what it was made from.
6. :mod:`.cache`: results kept between runs as typed JSON, keyed by their inputs and the code.

What the notebooks call: :mod:`.narrative` (the words, one module per report), :mod:`.sections`
(a report's repeated sections), :mod:`.plots` (accessible charts and tables). The council-against-
peers figures are scoring, not publishing: :mod:`dqm.scoring.profile`.

Start with :func:`dqm.reports.notebook.run_report` (one report) or
:func:`dqm.reports.batch.run_batch` (a wave of council reports). Every file is written through :func:`dqm.paths.write_atomic` (atomic, confined, normal file modes).
"""

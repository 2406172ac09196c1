"""The words of the reports, in GOV.UK style, one module per report.

* :mod:`.words`: numbers, percentages, dates, intervals and lists into words; the synthetic-data
  banner and title block; shared by every report.
* :mod:`.annual`: the annual State of Digital report.
* :mod:`.quality`: the data quality report.
* :mod:`.council`: the council benchmark report.
* :mod:`.evidence`: the evidence review (verdicts, their reasons and the checks behind them).

Every value reaches the page through :func:`dqm.markup.escape`. Notebooks call these as
``narrative.<function>``; each name is defined once, in the module of the report that uses it.
"""
from .annual import *  # noqa: F401,F403
from .council import *  # noqa: F401,F403
from .evidence import *  # noqa: F401,F403
from .quality import *  # noqa: F401,F403
from .words import *  # noqa: F401,F403

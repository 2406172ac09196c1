"""The model's own documents, generated from the model file so that they never drift from it.

* ``questions``: the survey questions and answer options, for setting up a form in any survey tool
* ``pack``: the assessment pack and calculator workbook, and reading a filled pack back for ingest
* ``actions``: the action library (``data/actions.yaml``) and a council's pre-filled action plan
* ``handbook``: the handbook (HTML and PDF): levels, dimensions, descriptors and points to consider
"""

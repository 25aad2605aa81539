"""The ``shixiang`` command line, one module per command group: ``main`` (the parser, ``run``,
``export``), ``review`` (the steward's commands), ``desk`` (the review desk and its users).

A shell over the core like ``assets/`` and ``desk/``: only ``shixiang run`` imports Dagster (the
job it runs), and only when it runs, so the other commands start fast.
"""

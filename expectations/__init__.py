"""The Great Expectations suites that people edit: one GX 1.x suite per JSON file here.

A package so that the suites ship as package data (``pyproject.toml``) and an installed wheel
finds them. :mod:`shixiang.expectation_suites` reads them with :mod:`importlib.resources` and
fills in each ``{"$config": NAME}`` reference from :mod:`shixiang.config`; the
``matched_library`` suite has no file here, it is built from :data:`shixiang.rules.RULES`.
"""

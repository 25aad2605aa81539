"""The Great Expectations suites: where each one comes from, and the severity words they use.

Owns what a suite is, never how it runs (:mod:`shixiang.expectations` validates, and
:mod:`shixiang.data_docs` renders). Every suite comes back from :func:`load_suite` as a GX 1.x
suite dict (``name``, ``expectations`` with ``type``/``kwargs``/``meta``/``severity``,
``meta``, ``notes``: what ``gx.ExpectationSuite`` takes). Every expectation carries
``meta.rule_id``, ``meta.element`` (the Chinese element name) and ``meta.message`` (a short
sentence for stewards). Nothing here imports GX (``import great_expectations`` takes ~3 s).

Two kinds of suite:

* ``catalogue``, ``implementation_lists``, ``unified_library``: JSON files of the top-level
  package ``expectations`` (package data, read with :mod:`importlib.resources`, so an
  installed wheel finds them as well as a checkout does). They hold what a person edits: rule
  ids, elements, messages, severities, notes. Where a check needs one of the domain's value
  sets or code shapes, the JSON names the constant of :mod:`shixiang.config` instead of
  restating it, and :func:`resolve_config_refs` puts the value in each time the suite is
  loaded::

      "value_set": {"$config": "ITEM_TYPES"}
      "regex": {"$config": "CLAIMED_CODE_PATTERN", "as": "fullmatch"}

* ``matched_library``: no file. :func:`matched_library_suite` builds it from
  :data:`shixiang.rules.RULES`, one expectation per rule on the rule's pass column of
  :func:`shixiang.rules.rule_frame`.

Severities: GX's words (``critical``, ``warning``, ``info``) are the suites' and the results';
the rules of :mod:`shixiang.rules` say ``error`` or ``warning``. :data:`RULE_TO_GX_SEVERITY` is
the one mapping between the two.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from importlib import metadata, resources
from importlib.resources.abc import Traversable
from typing import Any

from shixiang import config, rules

SEVERITY_CRITICAL = "critical"
SEVERITY_WARNING = "warning"
SEVERITY_INFO = "info"
# GX's FailureSeverity values (great_expectations.expectations.metadata_types).
SEVERITIES: tuple[str, ...] = (SEVERITY_CRITICAL, SEVERITY_WARNING, SEVERITY_INFO)
# GX's own default when an expectation has no severity.
DEFAULT_SEVERITY = SEVERITY_CRITICAL

# A rule's severity (shixiang.rules) → its expectation's severity in GX.
RULE_TO_GX_SEVERITY: dict[str, str] = {
    rules.SEVERITY_ERROR: SEVERITY_CRITICAL,
    rules.SEVERITY_WARNING: SEVERITY_WARNING,
}

# The package whose JSON files are the edited suites (<name>.json).
SUITES_DIR: Traversable = resources.files("expectations")
MATCHED_LIBRARY = "matched_library"

# Namespace of the deterministic expectation ids (uuid5(namespace, "<suite>/<position>")).
_ID_NAMESPACE = uuid.UUID("5b1d3c1e-6f0e-4d59-9a43-7f0c2a3e5a10")

CONFIG_REF = "$config"


# --- Loading --------------------------------------------------------------------------------


def suite_names() -> tuple[str, ...]:
    """Every suite :func:`load_suite` knows: the JSON files, then the built ones."""
    files = sorted(p.name for p in SUITES_DIR.iterdir() if p.name.endswith(".json"))
    return (*(n.removesuffix(".json") for n in files), *_BUILT)


def load_suite(name: str) -> dict:
    """The suite ``name`` as a GX 1.x suite dict, with every ``$config`` reference resolved.

    Raises ``FileNotFoundError`` naming the file when there is no such suite."""
    if name in _BUILT:
        return _BUILT[name]()
    path = SUITES_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"expectation suite {name!r} not found: {path} does not exist")
    raw = json.loads(path.read_text(encoding="utf-8"))
    try:
        return dict(raw, expectations=[_resolved(e) for e in raw.get("expectations") or ()])
    except ValueError as e:
        raise ValueError(f"expectation suite {name!r} ({path}): {e}") from None


def severity_of(expectation: dict) -> str:
    """An expectation's severity, GX's default (critical) when it has none."""
    return str(expectation.get("severity") or DEFAULT_SEVERITY).lower()


def suite_is_blocking(name: str) -> bool:
    """True when any expectation of the suite has severity ``critical``."""
    return any(severity_of(e) == SEVERITY_CRITICAL for e in load_suite(name)["expectations"])


def expectation_id(suite_name: str, position: int) -> str:
    """The deterministic GX id of the expectation at ``position`` in the suite."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{suite_name}/{position}"))


# --- Config references ----------------------------------------------------------------------
# In an expectation's kwargs, {"$config": NAME} stands for the constant NAME of shixiang.config,
# {"$config": [NAME, ...]} for the list of several constants' values (a row_condition's
# parameter: [STATUS_MATCHED, STATUS_CONFIRMED]). "as" says what to make of the value:
#   (absent)                 the value: a tuple or list as a list, a mapping as its distinct
#                            values in order (USE_LEVEL_ALIASES → the level keys), a scalar as is
#   "fullmatch"              a pattern of config (used there with re.fullmatch) as a GX regex,
#                            which GX applies with re.search: ^(?:PATTERN)$
#   "fullmatch_ignore_case"  the same, letters of either case: ^(?i:PATTERN)$
#   "comma_list"             a regex of one or more of the values, comma-separated (no spaces)


def _config_value(name: Any) -> Any:
    if isinstance(name, list):
        return [_config_value(n) for n in name]
    if not isinstance(name, str) or name.startswith("_") or not hasattr(config, name):
        raise ValueError(f"{CONFIG_REF} {name!r}: shixiang.config has no such constant")
    value = getattr(config, name)
    if isinstance(value, dict):
        return list(dict.fromkeys(value.values()))
    if isinstance(value, tuple | list | frozenset):
        return list(value)
    return value


def _pattern(ref: dict, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{ref}: {ref[CONFIG_REF]} is not a pattern")
    return value


def resolve_config_refs(node: Any) -> Any:
    """``node`` (any JSON value) with every ``{"$config": …}`` reference replaced by what it
    stands for (see the forms above). Raises ``ValueError`` on an unknown constant or form."""
    if isinstance(node, list):
        return [resolve_config_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    if CONFIG_REF not in node:
        return {k: resolve_config_refs(v) for k, v in node.items()}
    if set(node) - {CONFIG_REF, "as"}:
        raise ValueError(f"{node}: a reference has only {CONFIG_REF!r} and 'as'")
    value = _config_value(node[CONFIG_REF])
    form = node.get("as")
    if form is None:
        return value
    if form == "fullmatch":
        return f"^(?:{_pattern(node, value)})$"
    if form == "fullmatch_ignore_case":
        return f"^(?i:{_pattern(node, value)})$"
    if form == "comma_list":
        if not isinstance(value, list):
            raise ValueError(f"{node}: {node[CONFIG_REF]} is not a set of values")
        one = "(?:" + "|".join(re.escape(str(v)) for v in value) + ")"
        return f"^{one}(?:,{one})*$"
    raise ValueError(f"{node}: unknown form 'as': {form!r}")


def config_refs(node: Any) -> list[str]:
    """The names of the config constants ``node`` refers to, in order."""
    if isinstance(node, list):
        return [name for v in node for name in config_refs(v)]
    if not isinstance(node, dict):
        return []
    if CONFIG_REF in node:
        names = node[CONFIG_REF]
        return list(names) if isinstance(names, list) else [names]
    return [name for v in node.values() for name in config_refs(v)]


def _resolved(expectation: dict) -> dict:
    """The expectation with its kwargs resolved; ``meta.config`` records, per kwarg, the
    constants it came from (:mod:`shixiang.data_docs` shows them on the suite page)."""
    kwargs = expectation.get("kwargs") or {}
    sources = {
        k: ", ".join(f"shixiang.config.{n}" for n in config_refs(v)) for k, v in kwargs.items()
    }
    sources = {k: names for k, names in sources.items() if names}
    if not sources:
        return expectation
    meta = {**(expectation.get("meta") or {}), "config": sources}
    return dict(expectation, kwargs=resolve_config_refs(kwargs), meta=meta)


# --- Built suites ---------------------------------------------------------------------------


@functools.cache
def _gx_version() -> str:
    """The installed GX's version, read from its metadata (no import)."""
    return metadata.version("great_expectations")


def matched_library_suite() -> dict:
    """``matched_library``: one expectation per rule of :data:`shixiang.rules.RULES`, in its
    order. Each checks that the rule's column of :func:`shixiang.rules.rule_frame` (True where
    the row passes the rule) holds only True, with the rule's element, title and severity."""
    mapping = "，".join(f"{r} → {g}" for r, g in RULE_TO_GX_SEVERITY.items())
    return {
        "name": MATCHED_LIBRARY,
        "notes": [
            "匹配后事项库的要素质量：shixiang/rules.py 的每条规则一条期望，在 "
            "shixiang.rules.rule_frame() 上运行（row_id 加每条规则一列布尔值，该行通过规则为 True）。",
            "本套件没有 JSON 文件，由 shixiang.expectation_suites.matched_library_suite 按 "
            "shixiang.rules.RULES 生成：规则的逻辑、中文提示和整改意见都只在 shixiang/rules.py。",
            f"严重程度随规则（{mapping}）。Dagster 检查 qc_issues_suite 不阻断：要素问题发布在 "
            "qc_issues 中交给各单位整改，不说明事项库有错。",
        ],
        "meta": {
            "great_expectations_version": _gx_version(),
            "dataset": MATCHED_LIBRARY,
            "description": "匹配后的事项库：每条要素质检规则一列（shixiang.rules.rule_frame）",
            "id_column": "row_id",
        },
        "expectations": [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": rule.rule_id, "value_set": [True]},
                "meta": {
                    "rule_id": rule.rule_id,
                    "element": rule.element,
                    "message": rule.title,
                    "defined_in": "shixiang/rules.py",
                },
                "severity": RULE_TO_GX_SEVERITY[rule.severity],
            }
            for rule in rules.RULES.values()
        ],
    }


_BUILT = {MATCHED_LIBRARY: matched_library_suite}

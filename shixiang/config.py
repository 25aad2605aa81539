"""Every domain constant of shixiang in one place: levels, enumerations, statuses, thresholds.

Column names and header aliases of the input files live in :mod:`shixiang.schema`;
quality rules in :mod:`shixiang.rules`. Nothing here imports Dagster.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# The province's clock: the nightly schedule runs at 02:00 here, and the desk shows times in it.
TIMEZONE = "Asia/Shanghai"

# --- Administrative levels ------------------------------------------------------------------
# Folder names of the data directory, from the top of the hierarchy down.
LEVELS: tuple[str, ...] = ("province", "city", "county", "township", "village")

LEVEL_LABELS: dict[str, str] = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "乡级",
    "village": "村级",
}

# 行使层级 labels as catalogues write them → our level keys. The township and village labels have
# several spellings, and "镇（乡、街道）级" contains 、 so it must be recognised before splitting.
USE_LEVEL_ALIASES: dict[str, str] = {
    "国家级": "national",
    "国家": "national",
    "省级": "province",
    "省": "province",
    "市级": "city",
    "设区的市级": "city",
    "市": "city",
    "县级": "county",
    "县": "county",
    "县（市、区）级": "county",
    "乡级": "township",
    "乡": "township",
    "镇级": "township",
    "乡镇级": "township",
    "镇（乡、街道）级": "township",
    "乡（镇、街道）级": "township",
    "乡(镇、街道)级": "township",
    "镇(乡、街道)级": "township",
    "村级": "village",
    "村": "village",
    "村（社区）级": "village",
    "村(社区)级": "village",
}

CATALOGUE_FOLDER = "catalogue"
# The formats read (for messages: a file's format is recognised from its bytes, not its suffix,
# and any other file in a folder is rejected as an unsupported type, never skipped).
INPUT_SUFFIXES: tuple[str, ...] = (
    ".csv",
    ".tsv",
    ".txt",
    ".xlsx",
    ".xlsm",
    ".xlsb",
    ".xls",
    ".ods",
)
# The header row is looked for among a file's (or sheet's) first rows: title rows may sit above.
HEADER_SCAN_ROWS = 15

# --- Enumerations ---------------------------------------------------------------------------
ITEM_TYPES: tuple[str, ...] = (
    "行政许可",
    "行政确认",
    "行政给付",
    "行政裁决",
    "行政奖励",
    "其他行政权力",
    "公共服务",
)
HANDLING_TYPES: tuple[str, ...] = ("即办件", "承诺件")
VISIT_COUNTS: tuple[str, ...] = ("0", "1", "2", "多次")

# --- Code shapes ----------------------------------------------------------------------------
# Letters, digits and hyphens, compared upper-case. The national exchange tables give 基本编码
# 12 characters, 实施编码 up to 36 and 业务办理项编码 up to 50 (reference/domain.md §5). A unit's
# claimed code (its 基本编码 column) is well-formed when it could be either kind: units paste
# business-handling codes there too, and the matcher reads both.
DIVISION_CODE_PATTERN = r"[0-9]{12}"  # 行政区划代码: ASCII digits (\d would take ５)
BASE_CODE_PATTERN = r"[0-9A-Z-]{4,36}"
BUSINESS_CODE_PATTERN = r"[0-9A-Z-]{4,50}"
CLAIMED_CODE_PATTERN = BUSINESS_CODE_PATTERN

# --- Output statuses ------------------------------------------------------------------------
STATUS_MATCHED = "matched"  # confident automatic match
STATUS_CONFIRMED = "confirmed"  # a steward confirmed the match
STATUS_REVIEW = "review"  # grey zone: a steward must decide
STATUS_UNMATCHED = "unmatched"  # nothing in the catalogue is close
STATUS_LOCAL = "local"  # a steward marked it a local self-built item (自建事项)
STATUSES: tuple[str, ...] = (
    STATUS_MATCHED,
    STATUS_CONFIRMED,
    STATUS_REVIEW,
    STATUS_UNMATCHED,
    STATUS_LOCAL,
)


@dataclass(frozen=True)
class MatchThresholds:
    """Decision thresholds of the matcher (scores are 0–100).

    A fuzzy score alone never auto-accepts: automatic matches need a named equivalence
    (same normalised key, alias, homophone…). Fuzzy candidates decide only between review and
    unmatched. Measured alternatives (bench/accuracy.py): accepting near-identical names by score
    ≥ 92 and margin ≥ 10, or one-character substitutions, each added < 0.2 pp of recall and let
    through 采矿权/探矿权, 报告/报验 and 公司/分公司 confusions.
    """

    # Best fuzzy score below this → unmatched (candidates kept). 88 rather than 85: on six
    # generated provinces review fell from 2.0–3.1 % to 1.6–2.3 % of rows, in-catalogue rows
    # left unmatched rose by at most 0.01 % (bench/accuracy.py).
    review_min_score: float = 88.0
    # A claimed 基本编码 is accepted as the match when the name scores at least this against
    # the code's item (and the situations do not conflict).
    claimed_code_min_score: float = 70.0
    top_candidates: int = 3  # candidates kept for review rows
    chunk_size: int = 4000  # query names per rapidfuzz.cdist block (memory ≈ chunk × catalogue)


THRESHOLDS = MatchThresholds()

# Processes that parse distinct names and walk the tiers (shixiang.matching.name_evidence):
# $SHIXIANG_MATCH_WORKERS, else the CPUs this process may use. Each takes at least
# MATCH_MIN_NAMES_PER_WORKER names: below that, starting a process (~1 s) costs more than it
# saves, so a small run stays in one process.
MATCH_WORKERS_ENV = "SHIXIANG_MATCH_WORKERS"
MATCH_MIN_NAMES_PER_WORKER = 20_000


def match_workers() -> int:
    """How many processes may match names (see :data:`MATCH_WORKERS_ENV`); at least 1."""
    value = os.environ.get(MATCH_WORKERS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            raise ValueError(
                f"{MATCH_WORKERS_ENV}={value!r}：应为正整数（并行匹配名称的进程数）"
            ) from None
    return max(
        1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    )


# Rows shown in Dagster metadata previews.
# GX Data Docs sites kept (one per run, under 1 MB each): a night is one run per partition,
# so this is about two weeks of nights of a province of 21 prefectures, with reruns.
DOCS_KEEP_RUNS = 400
PREVIEW_ROWS = 20

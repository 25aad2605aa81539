"""Every table of the library database, with its columns and their types, in one place.

The published output tables are the output contract (README "Output contract"): their column
order here is the order of the tables and of every export. Each column's type is written next
to it — text unless it says otherwise, without a length limit, so PostgreSQL accepts whatever
SQLite accepts (a 设定依据 of thousands of characters, a long item name). The modules that
build the tables (``ingest``, ``rules``, ``library``, ``changes``) take their column lists
from here; ``store`` persists them. This module imports nothing of shixiang: reading a column
list never loads the matcher.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

metadata = MetaData()

TEXT, INT, FLOAT = Text, Integer, Float


# Every output table but the catalogue ends with the partition (prefecture) its row was
# published for (``shixiang.partitions``): a partition's run replaces the rows of its own key;
# empty for rows of the whole province (reuse_stats' level rows, the catalogue's rejections).
PARTITION_COLUMN = "partition_key"


def _output(name: str, *columns: tuple[str, type[TypeEngine]], partitioned: bool = True) -> Table:
    """An output table: replaced by a publish, all of it or one partition's slice; no key
    (its indexes: OUTPUT_INDEXES)."""
    if partitioned:
        columns = (*columns, (PARTITION_COLUMN, TEXT))
    return Table(name, metadata, *(Column(n, t()) for n, t in columns))


def _text(*names: str) -> tuple[tuple[str, type[TypeEngine]], ...]:
    return tuple((n, TEXT) for n in names)


# --- published output tables (replaced together by every publish) ------------------------------

catalogue_items = _output(
    "catalogue_items",
    *_text(
        "business_code",
        "base_code",
        "main_item_name",
        "item_name",
        "item_type",
        "use_levels",
        "legal_basis",
        "department",
        "handling_type",
        "legal_limit",
        "source_file",
    ),
    ("source_row", INT),
    partitioned=False,
)

unified_library = _output(
    "unified_library",
    *_text("row_id", "source_file"),
    ("source_row", INT),
    *_text(
        "division_code",
        "level",
        "agency",
        "item_name",
        "status",
        "business_code",
        "catalogue_name",
        "match_method",
    ),
    ("score", FLOAT),
    ("margin", FLOAT),
    ("qc_issue_count", INT),
    ("name_key", TEXT),
    ("decision_id", INT),
    *_text(
        "claimed_code",
        "item_type",
        "item_type_submitted",
        "legal_basis",
        "legal_basis_submitted",
        "handling_type",
        "handling_type_submitted",
        "legal_limit",
        "legal_limit_submitted",
        "overridden_elements",
        "promised_limit",
        "visits",
        "candidates",
        "explanation",
        "extra",
    ),
)

review_queue = _output(
    "review_queue",
    *_text("row_id", "source_file"),
    ("source_row", INT),
    *_text("division_code", "level", "agency", "item_name", "name_key"),
    ("score", FLOAT),
    ("margin", FLOAT),
    ("units_with_same_name", INT),
    *(
        col
        for i in (1, 2, 3)
        for col in (
            (f"candidate_{i}_code", TEXT),
            (f"candidate_{i}_name", TEXT),
            (f"candidate_{i}_score", FLOAT),
        )
    ),
    *_text("candidates", "explanation"),
)

qc_issues = _output(
    "qc_issues",
    ("source_file", TEXT),
    ("source_row", INT),
    *_text(
        "division_code",
        "agency",
        "level",
        "item_name",
        "business_code",
        "rule_id",
        "element",
        "severity",
        "message",
        "suggestion",
    ),
)

reuse_stats = _output(
    "reuse_stats",
    *_text("scope", "level", "division_code", "agency"),
    ("submitted", INT),
    ("matched", INT),
    ("review", INT),
    ("unmatched", INT),
    ("local", INT),
    ("reuse_rate", FLOAT),
)

rejected_rows = _output(
    "rejected_rows", ("source_file", TEXT), ("source_row", INT), *_text("reason", "raw")
)

rejected_files = _output("rejected_files", *_text("source_file", "reason"))

library_changes = _output(
    "library_changes",
    *_text(
        "change",
        "division_code",
        "agency",
        "level",
        "item_name",
        "name_key",
        "status_before",
        "status",
        "business_code_before",
        "business_code",
        "catalogue_name",
    ),
)

# The only indexes on output tables: what the review desk and its reports look rows up by (a
# unit's scope is a range of division codes; the queue counts the units that share a name),
# and the queue's names, which a partition's publish updates.
# A publish drops them before it replaces the rows and builds them again after (faster than
# keeping them up to date row by row: ~2 s for 500,000 rows).
OUTPUT_INDEXES: tuple[Index, ...] = (
    Index(
        "ix_unified_library_division_status",
        unified_library.c.division_code,
        unified_library.c.status,
    ),
    Index(
        "ix_unified_library_name_division",
        unified_library.c.name_key,
        unified_library.c.division_code,
    ),
    Index("ix_qc_issues_division", qc_issues.c.division_code),
    # a partition's publish sets units_with_same_name again by name, across every partition
    Index("ix_review_queue_name", review_queue.c.name_key),
    Index("ix_reuse_stats_division", reuse_stats.c.division_code),
)

OUTPUT_TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        catalogue_items,
        unified_library,
        review_queue,
        qc_issues,
        reuse_stats,
        rejected_rows,
        rejected_files,
        library_changes,
    )
}


def columns(table: Table) -> list[str]:
    """The column names the modules that build a table produce, in order: every column but
    the partition, which the publish adds (``partitions.tag_slices``)."""
    return [c.name for c in table.columns if c.name != PARTITION_COLUMN]


CATALOGUE_TABLE_COLUMNS = columns(catalogue_items)
LIBRARY_COLUMNS = columns(unified_library)
REVIEW_COLUMNS = columns(review_queue)
QC_ISSUE_COLUMNS = columns(qc_issues)
STATS_COLUMNS = columns(reuse_stats)
REJECTED_ROW_COLUMNS = columns(rejected_rows)
REJECTED_FILE_COLUMNS = columns(rejected_files)
CHANGE_COLUMNS = columns(library_changes)

# --- kept across publishes --------------------------------------------------------------------

publications = Table(
    "publications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("published_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(100)),
    Column("data_dir", Text),
    Column("summary", Text),  # JSON: the run summary (shixiang run prints it)
)

# Steward decisions: append-only, never touched by a publish (see shixiang/decisions.py).
steward_decisions = Table(
    "steward_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("steward", Text, nullable=False),
    Column("scope", String(10), nullable=False),  # row | all
    Column("division_code", String(12)),  # the unit (NULL for scope all)
    Column("name_key", Text, nullable=False),  # the normalised name (as long as the name)
    Column("item_name", Text),  # the name as the steward saw it
    Column("decision", String(10), nullable=False),  # confirm | local | reject | undo
    Column("business_code", Text),
    Column("reason", Text),
    Column("source", Text),  # cli | sheet:<file name> | desk
    Column("catalogue_fingerprint", String(64)),
)

# Failed runs, written by the run-failure sensor (see shixiang/alerts.py).
run_alerts = Table(
    "run_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", Text, nullable=False),
    Column("job_name", Text, nullable=False),
    Column("failed_steps", Text),  # 、-joined step keys
    Column("reason", Text, nullable=False),  # Chinese, for people
    Column("link", Text),  # the run in the Dagster UI
    Column("delivered", Boolean, nullable=False),
    Column("delivery_error", Text),
)

# Which partition each implementation list belongs to (``shixiang.partitions``): finding out
# means reading the file, so it is kept while the file keeps its size and modification time.
input_files = Table(
    "input_files",
    metadata,
    Column("source_file", Text, primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("partition_key", String(16)),  # NULL: the file names no unit
)

# What the name model and the tiers said about each distinct name of a run, kept for the next
# run of the same partition (``shixiang.evidence_cache``): not part of the output contract, and
# safe to empty.
match_cache = Table(
    "match_cache",
    metadata,
    Column("scope", String(64), primary_key=True),  # the run's partition key, or * (every one)
    Column("fingerprint", String(64), nullable=False),  # catalogue + matcher code
    Column("names", Integer, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # Parquet: one row a name
    Column("saved_at", DateTime(timezone=True), nullable=False),
)

# --- the review desk (see shixiang/desk/) -----------------------------------------------------

desk_users = Table(
    "desk_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("display_name", Text),
    Column("role", String(16), nullable=False),  # province | unit
    Column("division_code", String(12)),  # the unit (its scope); NULL for the province role
    Column("password_hash", Text, nullable=False),  # Argon2id
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

desk_audit = Table(
    "desk_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("username", String(64)),
    Column("event", String(32), nullable=False),  # login | login_failed | forbidden | …
    Column("detail", Text),
    Column("client", String(64)),
)

desk_settings = Table(
    "desk_settings",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

READABLE_TABLES: dict[str, Table] = {
    **OUTPUT_TABLES,
    "publications": publications,
    "steward_decisions": steward_decisions,
}

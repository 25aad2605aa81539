"""The whole nightly run over the bad-input corpus, on SQLite and on PostgreSQL.

One province's lists hold every kind of bad and odd file of tests/corpus.py (74 kinds): the run
must still publish, name every rejected file with its reason, account for every row read, let
every export succeed, and publish the same library on both backends.
"""

from pathlib import Path

import pandas as pd
import pytest

from commands import main as cli
from shixiang import store
from tests.corpus import KINDS, write_bad_corpus
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, write_csv

COUNTY = "511602000000"
COMPARED = {
    "unified_library": "row_id",
    "rejected_rows": ["source_file", "source_row"],
    "rejected_files": "source_file",
    "qc_issues": ["source_file", "source_row", "rule_id"],
    "review_queue": "row_id",
    "reuse_stats": ["scope", "level", "division_code", "agency"],
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """The corpus's lists under a well-formed catalogue (the corpus's own bad catalogues would
    stop the publish by design: that is the catalogue suite's job, tested elsewhere)."""
    root = tmp_path_factory.mktemp("corpus") / "data"
    write_bad_corpus(root)
    for path in (root / "catalogue").iterdir():
        path.unlink()
    write_csv(root / "catalogue" / "通用目录.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    return root


def _publish(corpus: Path, url: str, out: Path) -> dict[str, pd.DataFrame]:
    assert cli.main(["run", "--data-dir", str(corpus), "--database-url", url]) == 0
    engine = store.make_engine(url)
    tables = {name: store.read_table(engine, name) for name in COMPARED}
    # every export succeeds on what the corpus left in the library
    base = ["--database-url", url]
    assert cli.main(["export", "unified_library", "--out", str(out / "lib.xlsx"), *base]) == 0
    assert cli.main(["export", "qc_issues", "--out", str(out / "issues.csv"), *base]) == 0
    assert cli.main(["export", "issues", "--all", "--out", str(out / "issues"), *base]) == 0
    sheet = out / "sheet.xlsx"
    assert cli.main(["review", "export", "--unit", COUNTY, "--out", str(sheet), *base]) == 0
    assert sheet.exists() and (out / "lib.xlsx").exists()
    return tables


@pytest.fixture(scope="module")
def sqlite_tables(corpus: Path, tmp_path_factory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("sqlite")
    return _publish(corpus, f"sqlite:///{out / 'lib.db'}", out)


@pytest.mark.slow
def test_every_bad_file_is_named_and_every_row_accounted_for(sqlite_tables) -> None:
    rejected = dict(
        zip(
            sqlite_tables["rejected_files"]["source_file"],
            sqlite_tables["rejected_files"]["reason"],
            strict=True,
        )
    )
    library_files = set(sqlite_tables["unified_library"]["source_file"])
    row_files = set(sqlite_tables["rejected_rows"]["source_file"])
    for kind in KINDS:
        if kind.path.startswith("catalogue/"):
            continue
        if kind.ignored:
            assert kind.path not in rejected and kind.path not in library_files, kind.key
        elif kind.rejected:
            assert kind.path in rejected, f"{kind.key}: not rejected"
            assert all(w in rejected[kind.path] for w in kind.rejected), (kind.key, rejected)
        else:
            assert kind.path in library_files | row_files, f"{kind.key}: neither read nor named"
    lib = sqlite_tables["unified_library"]
    assert lib["row_id"].is_unique
    counted = lib.groupby("source_file").size()
    for kind in KINDS:
        if kind.accepted and not kind.path.startswith("catalogue/"):
            assert counted.get(kind.path, 0) == kind.accepted, kind.key


@pytest.mark.slow
@pytest.mark.postgres
def test_both_backends_publish_the_same_library_from_the_corpus(
    corpus: Path, sqlite_tables, pg_url: str, tmp_path: Path
) -> None:
    pg_tables = _publish(corpus, pg_url, tmp_path)
    for name, key in COMPARED.items():
        a = sqlite_tables[name].sort_values(key, kind="stable").reset_index(drop=True)
        b = pg_tables[name].sort_values(key, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)

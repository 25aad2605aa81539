"""Every kind of bad or odd input file (tests/corpus.py) is read or rejected with a reason that
names the real problem, and nothing read is lost or carries a control character."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from shixiang import ingest
from shixiang.config import CATALOGUE_FOLDER, LEVELS
from tests.corpus import KINDS, Kind, write_bad_corpus

FOLDERS = (CATALOGUE_FOLDER, *LEVELS)
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("corpus")
    return root, write_bad_corpus(root)


@pytest.fixture(scope="module")
def loaded(corpus: tuple[Path, dict[str, str]]) -> dict[str, ingest.Loaded]:
    root, _ = corpus
    out = {lv: ingest.load_level(root, lv) for lv in LEVELS}
    out[CATALOGUE_FOLDER] = ingest.load_catalogue(root)
    return out


def test_the_corpus_has_at_least_forty_kinds_one_file_each(
    corpus: tuple[Path, dict[str, str]],
) -> None:
    root, written = corpus
    assert len(written) >= 40
    assert list(written) == [k.path for k in KINDS]
    assert len({k.key for k in KINDS}) == len(KINDS)
    assert all((root / path).is_file() for path in written)


@pytest.mark.parametrize("kind", KINDS, ids=[k.key for k in KINDS])
def test_each_kind_is_read_or_rejected_with_the_real_reason(
    kind: Kind, loaded: dict[str, ingest.Loaded]
) -> None:
    got = loaded[kind.path.split("/", 1)[0]]
    file_reasons = dict(
        zip(got.rejected_files["source_file"], got.rejected_files["reason"], strict=True)
    )
    rows = got.rows.loc[got.rows["source_file"] == kind.path].reset_index(drop=True)
    rejected = got.rejected_rows.loc[got.rejected_rows["source_file"] == kind.path]
    if kind.ignored:
        assert kind.path not in file_reasons and rows.empty and rejected.empty
        return
    if kind.rejected:
        assert kind.path in file_reasons, "the file was read, not rejected"
        reason = file_reasons[kind.path]
        for words in kind.rejected:
            assert words in reason, reason
        assert rows.empty and rejected.empty
        return
    assert kind.path not in file_reasons, file_reasons.get(kind.path)
    assert len(rows) == kind.accepted, rejected[["source_row", "reason"]].to_dict("records")
    reasons = dict(zip(rejected["source_row"], rejected["reason"], strict=True))
    assert set(reasons) == {r for r, _ in kind.row_reasons}, reasons
    for source_row, words in kind.row_reasons:
        assert words in reasons[source_row], reasons[source_row]
    if kind.check is not None:
        assert kind.check(rows), rows.drop(columns=["row_id", "extra"]).to_dict("records")


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_file_is_accounted_for(
    folder: str, corpus: tuple[Path, dict[str, str]], loaded: dict[str, ingest.Loaded]
) -> None:
    """Read (rows accepted or rejected) or rejected as a file; only hidden and lock files are
    not input."""
    root, _ = corpus
    got = loaded[folder]
    on_disk = {p.relative_to(root).as_posix() for p in (root / folder).rglob("*") if p.is_file()}
    ignored = {k.path for k in KINDS if k.ignored}
    read = set(got.rows["source_file"]) | set(got.rejected_rows["source_file"])
    rejected = set(got.rejected_files["source_file"])
    assert not read & rejected
    assert read | rejected == on_disk - ignored
    assert got.files_read == len(on_disk - ignored)


@pytest.mark.parametrize("folder", FOLDERS)
def test_rows_read_are_accepted_plus_rejected_rows(
    folder: str, loaded: dict[str, ingest.Loaded]
) -> None:
    got = loaded[folder]
    assert got.rows_read == len(got.rows) + len(got.rejected_rows)
    assert got.rows_read > 0


def test_catalogue_blank_rows_are_skipped_not_published_as_rejected_rows(
    loaded: dict[str, ingest.Loaded],
) -> None:
    """The catalogue's rejected rows would be published beside the lists' and break "rows
    read = library rows + rejected rows"; blank catalogue rows are counted apart."""
    cat = loaded[CATALOGUE_FOLDER]
    assert cat.rejected_rows.empty
    assert cat.blank_rows_skipped == 2


@pytest.mark.parametrize("folder", FOLDERS)
def test_accepted_cells_carry_no_control_characters(
    folder: str, loaded: dict[str, ingest.Loaded]
) -> None:
    got = loaded[folder]
    for frame in (got.rows, got.rejected_rows):
        for col in frame.columns:
            values = frame[col].dropna().astype("str")
            bad = values[values.str.contains(CONTROL)]
            assert bad.empty, (col, bad.tolist()[:3])


@pytest.mark.parametrize("level", LEVELS)
def test_accepted_division_codes_are_twelve_ascii_digits(
    level: str, loaded: dict[str, ingest.Loaded]
) -> None:
    codes = loaded[level].rows["division_code"]
    assert codes.str.fullmatch(r"[0-9]{12}").all(), codes[~codes.str.fullmatch(r"[0-9]{12}")]
    assert codes.map(str.isascii).all()


def test_claimed_codes_are_ascii_upper_case(loaded: dict[str, ingest.Loaded]) -> None:
    claimed = pd.concat([loaded[lv].rows["claimed_code"] for lv in LEVELS]).dropna()
    assert (claimed == claimed.str.upper()).all()
    assert claimed.map(str.isascii).all()

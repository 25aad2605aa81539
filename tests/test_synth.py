"""Tests of the synthetic province generator (dev.synth)."""

from __future__ import annotations

import fnmatch
import io
import subprocess
import sys
import tomllib
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from dev.synth import (
    ALL_VARIATIONS,
    CATALOGUE_HEADERS,
    LIST_HEADERS,
    TRUTH_COLUMNS,
    build_catalogue,
    clean_name,
    generate_province,
)
from tests.helpers import imported_modules

LEVELS = ("province", "city", "county", "township", "village")
REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "dev"
# The matcher and its tables: the generator keeps its own vocabulary (dev/synth/vocabulary.py).
MATCHER = ("shixiang.names", "shixiang.decoration", "shixiang.tiers", "shixiang.matching")
PRODUCT = ("shixiang", "assets", "pipelines", "desk")


def _key(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def _read_unit_file(path: Path) -> tuple[pd.DataFrame, str]:
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str).fillna(""), "xlsx"
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        if enc == "utf-8-sig" and not raw.startswith(b"\xef\xbb\xbf"):
            enc = "utf-8"
        return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False), enc
    raise AssertionError(f"{path} cannot be decoded")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("demo")
    stats = generate_province(out, seed=7)
    return out, stats


@pytest.fixture(scope="module")
def truth(demo: tuple[Path, dict]) -> pd.DataFrame:
    return pd.read_csv(demo[0] / "truth.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def broken(demo: tuple[Path, dict]) -> set[str]:
    df = pd.read_csv(demo[0] / "broken_files.csv", dtype=str, keep_default_na=False)
    return set(df["source_file"])


def test_clean_name_strips_level_qualifiers() -> None:
    assert clean_name("危险废物经营许可变更(市级)") == "危险废物经营许可变更"
    assert clean_name("医疗机构执业许可证遗失补办（县级）") == "医疗机构执业许可证遗失补办"
    assert clean_name("开具个人所得税纳税记录（县级行使）") == "开具个人所得税纳税记录"
    assert clean_name("企业投资项目备案（技术改造）（市级/县级）") == "企业投资项目备案（技术改造）"
    assert clean_name("娱乐场所变更审批(含中外合资)") == "娱乐场所变更审批（含中外合资）"


def test_catalogue_codes_unique_and_required_filled() -> None:
    catalogue, withheld = build_catalogue(seed=7)
    assert tuple(catalogue.columns) == CATALOGUE_HEADERS
    assert 1200 <= len(catalogue) <= 1400
    assert catalogue["业务办理项编码"].is_unique
    assert catalogue["事项名称"].is_unique
    required = ["业务办理项编码", "基本编码", "主项名称", "事项名称", "事项类型", "行使层级"]
    assert (catalogue[required] != "").all().all()
    assert set(catalogue["办件类型"]) == {"即办件", "承诺件"}
    assert catalogue["法定办结时限"].str.fullmatch(r"\d+").all()
    assert (catalogue.loc[catalogue["办件类型"] == "即办件", "法定办结时限"] == "1").all()
    village = catalogue["行使层级"].str.contains("村（社区）级")
    assert village.any()
    assert (catalogue.loc[village, "事项类型"] == "公共服务").all()
    # Situation siblings share one 基本编码.
    assert catalogue["基本编码"].duplicated().any()
    assert (catalogue["业务办理项编码"].str[:-2] == catalogue["基本编码"]).all()
    # Withheld items are really missing.
    assert set(withheld["withheld_kind"]) == {"withheld_item", "withheld_sibling"}
    assert not set(withheld["事项名称"]) & set(catalogue["事项名称"])
    assert not set(withheld["业务办理项编码"]) & set(catalogue["业务办理项编码"])


def test_every_variation_class_present(demo: tuple[Path, dict], truth: pd.DataFrame) -> None:
    assert tuple(truth.columns) == TRUTH_COLUMNS
    present = set(truth["variation"])
    assert set(ALL_VARIATIONS) <= present
    flags = {f for fs in truth["qc_flags"] for f in fs.split(";") if f}
    assert {
        "type_mismatch",
        "promise_exceeds_legal",
        "instant_with_limit",
        "duplicate",
        "level_not_allowed",
        "misfiled_level",
        "bad_division_code",
        "empty_name",
    } <= flags
    stats = demo[1]
    assert stats["units"] == {"province": 1, "city": 3, "county": 4, "township": 8, "village": 15}
    assert all(50 <= n <= 400 for n in stats["rows"].values())


def test_truth_covers_every_row(
    demo: tuple[Path, dict], truth: pd.DataFrame, broken: set[str]
) -> None:
    out = demo[0]
    catalogue, _ = build_catalogue(seed=7)
    codes = set(catalogue["业务办理项编码"])
    names, business = catalogue["事项名称"], catalogue["业务办理项编码"]
    owner = {_key(n): c for n, c in zip(names, business, strict=True)}
    formats = set()
    n_rows = 0
    for level in LEVELS:
        for path in sorted((out / level).iterdir()):
            rel = f"{level}/{path.name}"
            if rel in broken:
                continue
            df, fmt = _read_unit_file(path)
            formats.add(fmt)
            assert tuple(df.columns) == LIST_HEADERS, rel
            t = truth[truth["source_file"] == rel]
            assert t["source_row"].astype(int).tolist() == list(range(1, len(df) + 1)), rel
            assert t["item_name"].tolist() == df["事项名称"].tolist(), rel
            assert t["division_code"].tolist() == df["行政区划代码"].tolist(), rel
            n_rows += len(df)
    assert n_rows == len(truth)
    assert formats == {"utf-8", "utf-8-sig", "gb18030", "xlsx"}
    assert len(broken) == 5

    positive = truth[truth["expected_in_catalogue"] == "true"]
    assert set(positive["expected_business_code"]) <= codes
    exact = positive[positive["variation"] == "exact"]
    assert (
        exact["item_name"].map(lambda n: owner[_key(n)]) == exact["expected_business_code"]
    ).all()
    # No variant lands on the name of another catalogue item.
    varied = positive[positive["variation"] != "exact"]
    other = varied["item_name"].map(lambda n: owner.get(_key(n)))
    assert (other.isna() | (other == varied["expected_business_code"])).all()
    negative = truth[truth["expected_in_catalogue"] == "false"]
    assert (negative["expected_business_code"] == "").all()
    assert not negative["item_name"].map(lambda n: _key(n) in owner).any()


def test_gb18030_file_is_really_gb18030(demo: tuple[Path, dict]) -> None:
    out = demo[0]
    gb = []
    for path in sorted(out.glob("*/*.csv")):
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            try:
                raw.decode("gb18030")
            except UnicodeDecodeError:
                continue  # the deliberately undecodable file
            gb.append(path)
    assert gb
    text = gb[0].read_bytes().decode("gb18030")
    assert text.startswith(",".join(LIST_HEADERS))


def test_broken_files_are_broken(demo: tuple[Path, dict], broken: set[str]) -> None:
    out = demo[0]
    problems = {}
    for rel in broken:
        raw = (out / rel).read_bytes()
        if not raw:
            problems["empty"] = rel
        elif rel.endswith(".xlsx"):
            assert not raw.startswith(b"PK")
            problems["xlsx"] = rel
        else:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                with pytest.raises(UnicodeDecodeError):
                    raw.decode("gb18030")
                problems["encoding"] = rel
                continue
            lines = text.splitlines()
            if len(lines) == 1:
                problems["header_only"] = rel
            else:
                assert "行政区划代码" not in lines[0]
                problems["missing_column"] = rel
    assert set(problems) == {"empty", "xlsx", "encoding", "header_only", "missing_column"}


def test_same_seed_same_output(demo: tuple[Path, dict], tmp_path: Path) -> None:
    again = generate_province(tmp_path / "again", seed=7)
    first = demo[0]
    assert (tmp_path / "again" / "truth.csv").read_bytes() == (first / "truth.csv").read_bytes()
    csvs = sorted(p.relative_to(first) for p in first.glob("*/*.csv"))
    assert csvs == sorted(
        p.relative_to(tmp_path / "again") for p in (tmp_path / "again").glob("*/*.csv")
    )
    for rel in csvs:
        assert (first / rel).read_bytes() == (tmp_path / "again" / rel).read_bytes(), rel
    assert again["variations"] == demo[1]["variations"]


def test_other_seed_differs(truth: pd.DataFrame, tmp_path: Path) -> None:
    generate_province(tmp_path / "other", seed=8, broken_files=False, xlsx_share=0.0)
    other = pd.read_csv(tmp_path / "other" / "truth.csv", dtype=str, keep_default_na=False)
    assert other["item_name"].tolist() != truth["item_name"].tolist()
    assert (other["broken_row"] == "false").all()
    assert not list((tmp_path / "other").glob("*/*.xlsx"))


def test_refuses_non_empty_output(demo: tuple[Path, dict]) -> None:
    with pytest.raises(FileExistsError):
        generate_province(demo[0])


# --- Where the generator lives -----------------------------------------------------------------
def _importers(files: list[Path], modules: tuple[str, ...], root: Path = REPO) -> list[str]:
    """``path: module`` for every import of one of ``modules`` (or of a submodule) in files."""
    return sorted(
        f"{path.relative_to(root)}: {name}"
        for path in files
        for name in imported_modules(path)
        if any(name == m or name.startswith(m + ".") for m in modules)
    )


def test_dev_never_imports_the_matchers_vocabulary() -> None:
    """A generator that speaks the matcher's vocabulary measures it against itself (see
    dev/synth/vocabulary.py): dev/ imports neither the matcher nor its tables."""
    files = sorted(DEV.rglob("*.py"))
    assert len(files) >= 10  # the walk found the package
    assert _importers(files, MATCHER) == []


def test_the_import_check_sees_imports_inside_functions(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("def f():\n    from shixiang import names, tiers\n")
    (tmp_path / "n.py").write_text("import shixiang.decoration as d\n")
    assert _importers(sorted(tmp_path.glob("*.py")), MATCHER, tmp_path) == [
        "m.py: shixiang.names",
        "m.py: shixiang.tiers",
        "n.py: shixiang.decoration",
    ]


def test_loading_the_generator_loads_no_matcher() -> None:
    """Nor anything it imports loads them (checked in a fresh interpreter)."""
    code = "import sys, dev.synth; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.split()
    assert [m for m in out if m in MATCHER] == []


def test_the_product_never_imports_dev() -> None:
    files = sorted(p for pkg in PRODUCT for p in (REPO / pkg).rglob("*.py"))
    assert _importers(files, ("dev",)) == []


def test_dev_is_not_installed() -> None:
    """pyproject's package list leaves dev/ out: it is a tool of the checkout."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text("utf-8"))
    include = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert not [p for p in include if fnmatch.fnmatch("dev", p) or fnmatch.fnmatch("dev.synth", p)]

"""Reading the data directory: encodings, formats, header aliases, and every kind of bad input."""

from pathlib import Path

import pandas as pd
import pytest

from shixiang import ingest
from tests.helpers import CATALOGUE_HEADER, CATALOGUE_ROWS, ITEM_HEADER, write_csv, write_xlsx

ROW = [
    "511602000000",
    "广安区行政审批局",
    "水产苗种生产审批",
    "511A01313000",
    "行政许可",
    "",
    "承诺件",
    "20",
    "10",
    "1",
]


def level_dir(tmp_path: Path) -> Path:
    (tmp_path / "county").mkdir(parents=True, exist_ok=True)
    return tmp_path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_read_correctly(tmp_path: Path, encoding: str) -> None:
    write_csv(tmp_path / "county" / "a.csv", ITEM_HEADER, [ROW], encoding=encoding)
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rejected_files.empty
    assert loaded.rows.loc[0, "item_name"] == "水产苗种生产审批"
    assert loaded.rows.loc[0, "agency"] == "广安区行政审批局"


def test_xlsx_is_read_and_numeric_codes_stay_codes(tmp_path: Path) -> None:
    frame = pd.DataFrame([ROW], columns=ITEM_HEADER)
    frame["行政区划代码"] = [511602000000]  # a number cell, as Excel users type it
    (tmp_path / "county").mkdir()
    frame.to_excel(tmp_path / "county" / "a.xlsx", index=False)
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rows.loc[0, "division_code"] == "511602000000"
    assert loaded.rows.loc[0, "level"] == "county"


def test_rows_are_numbered_from_one_excluding_the_header_and_ids_use_slashes(
    tmp_path: Path,
) -> None:
    write_csv(tmp_path / "county" / "sub" / "a.csv", ITEM_HEADER, [ROW, ROW])
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rows["source_file"].tolist() == ["county/sub/a.csv"] * 2
    assert loaded.rows["source_row"].tolist() == [1, 2]
    assert loaded.rows["row_id"].tolist() == ["county/sub/a.csv:1", "county/sub/a.csv:2"]


def test_english_aliases_and_extra_columns_are_kept(tmp_path: Path) -> None:
    header = ["division_code", "agency", "name", "备注", "联系电话"]
    write_csv(
        tmp_path / "county" / "a.csv",
        header,
        [["511602000000", "区民政局", "老年人助餐服务登记", "试点", "0826-1234567"]],
    )
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rows.loc[0, "item_name"] == "老年人助餐服务登记"
    assert '"备注": "试点"' in loaded.rows.loc[0, "extra"]
    assert '"联系电话": "0826-1234567"' in loaded.rows.loc[0, "extra"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "文件为空"),
        (b"\xff\xfe\xff\xfe\x00 not text \xff", "无法可靠识别文件编码"),
        ("行政区划代码,实施主体,事项名称\n".encode(), "只有表头"),
        ("实施主体,事项名称\n区民政局,老年人助餐服务登记\n".encode(), "缺少必需列：行政区划代码"),
    ],
)
def test_bad_csv_files_are_rejected_with_a_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    level_dir(tmp_path)
    (tmp_path / "county" / "bad.csv").write_bytes(content)
    write_csv(tmp_path / "county" / "good.csv", ITEM_HEADER, [ROW])
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rejected_files["source_file"].tolist() == ["county/bad.csv"]
    assert reason in loaded.rejected_files.loc[0, "reason"]
    assert len(loaded.rows) == 1  # the run goes on for the good file


def test_corrupt_and_header_only_xlsx_are_rejected(tmp_path: Path) -> None:
    level_dir(tmp_path)
    (tmp_path / "county" / "corrupt.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    write_xlsx(tmp_path / "county" / "header_only.xlsx", ITEM_HEADER, [])
    loaded = ingest.load_level(tmp_path, "county")
    reasons = dict(
        zip(loaded.rejected_files["source_file"], loaded.rejected_files["reason"], strict=True)
    )
    assert "损坏" in reasons["county/corrupt.xlsx"]
    assert "只有表头" in reasons["county/header_only.xlsx"]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("5116O2000000", "含非数字字符"),
        ("51160200000", "不是12位"),
        ("", "行政区划代码为空"),
        ("000000000000", "不是有效"),
    ],
)
def test_rows_with_unusable_division_codes_are_rejected_and_counted(
    tmp_path: Path, code: str, reason: str
) -> None:
    bad = [code, *ROW[1:]]
    write_csv(tmp_path / "county" / "a.csv", ITEM_HEADER, [ROW, bad, ROW])
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rows_read == 3
    assert len(loaded.rows) == 2
    assert loaded.rejected_rows["source_row"].tolist() == [2]
    assert reason in loaded.rejected_rows.loc[0, "reason"]
    assert "水产苗种生产审批" in loaded.rejected_rows.loc[0, "raw"]


def test_rows_without_agency_or_name_and_blank_rows_are_rejected(tmp_path: Path) -> None:
    level_dir(tmp_path)
    text = "\n".join(
        [
            ",".join(ITEM_HEADER),
            ",".join(ROW),
            "511602000000,,水产苗种生产审批,,,,,,,",
            "511602000000,区农业农村局,,,,,,,,",
            ",,,,,,,,,",
            ",".join(ROW),
        ]
    )
    (tmp_path / "county" / "a.csv").write_text(text + "\n", encoding="utf-8")
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rejected_rows.set_index("source_row")["reason"].to_dict() == {
        2: "实施主体为空",
        3: "事项名称为空",
        4: "空行",
    }
    assert loaded.rows["source_row"].tolist() == [1, 5]
    assert loaded.rows_read == len(loaded.rows) + len(loaded.rejected_rows)


def test_division_levels_follow_trailing_zero_groups() -> None:
    codes = pd.Series(
        [
            "220000000000",
            "220100000000",
            "220102000000",
            "220102001000",
            "220102001001",
            "22010200100",
        ]
    )
    assert ingest.division_levels(codes).tolist()[:5] == [
        "province",
        "city",
        "county",
        "township",
        "village",
    ]
    assert pd.isna(ingest.division_levels(codes).iloc[5])


def test_use_levels_do_not_split_township_label_on_its_comma() -> None:
    parsed = ingest.parse_use_levels(
        pd.Series(["省级、市级、县级、镇（乡、街道）级", "村（社区）级", "设区的市级", None])
    )
    assert parsed.tolist() == ["province,city,county,township", "village", "city", ""]


def test_catalogue_is_read_with_parsed_levels(tmp_path: Path) -> None:
    write_csv(tmp_path / "catalogue" / "cat.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    loaded = ingest.load_catalogue(tmp_path)
    assert len(loaded.rows) == len(CATALOGUE_ROWS)
    assert loaded.rows.loc[4, "use_level_keys"] == "county,township,village"


def test_missing_catalogue_folder_is_a_rejection_not_a_crash(tmp_path: Path) -> None:
    loaded = ingest.load_catalogue(tmp_path)
    assert loaded.rows.empty
    assert "没有 .csv 或 .xlsx" in loaded.rejected_files.loc[0, "reason"]


def test_fingerprint_changes_when_a_file_changes(tmp_path: Path) -> None:
    write_csv(tmp_path / "county" / "a.csv", ITEM_HEADER, [ROW])
    before = ingest.data_dir_fingerprint(tmp_path)
    assert before == ingest.data_dir_fingerprint(tmp_path)
    write_csv(tmp_path / "county" / "a.csv", ITEM_HEADER, [ROW, ROW])
    assert ingest.data_dir_fingerprint(tmp_path) != before


def test_catalogue_blank_rows_are_skipped_and_counted_not_rejected(tmp_path: Path) -> None:
    """Catalogue rejected rows would be published beside the lists' and break "rows read =
    library rows + rejected rows" (the summary counts list rows only)."""
    path = write_csv(tmp_path / "catalogue" / "cat.csv", CATALOGUE_HEADER, CATALOGUE_ROWS)
    path.write_text(path.read_text(encoding="utf-8") + ",,,,,,,,,\n\n", encoding="utf-8")
    loaded = ingest.load_catalogue(tmp_path)
    assert len(loaded.rows) == len(CATALOGUE_ROWS) == loaded.rows_read
    assert loaded.rejected_rows.empty and loaded.blank_rows_skipped == 2


def test_every_file_is_read_or_rejected_except_hidden_and_lock_files(tmp_path: Path) -> None:
    write_csv(tmp_path / "county" / "a.csv", ITEM_HEADER, [ROW])
    (tmp_path / "county" / "说明.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "county" / "~$a.xlsx").write_bytes(b"lock")
    (tmp_path / "county" / ".a.csv").write_bytes(b"hidden")
    loaded = ingest.load_level(tmp_path, "county")
    assert loaded.rejected_files["source_file"].tolist() == ["county/说明.pdf"]
    assert "不支持的文件类型" in loaded.rejected_files.loc[0, "reason"]
    assert len(loaded.rows) == 1 and loaded.files_read == 2

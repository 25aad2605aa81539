"""A corpus of bad and odd input files, one file per kind, with what reading each must give.

``write_bad_corpus(root)`` writes a data directory (``catalogue/`` and the five level folders)
and returns ``{relative path: description}``; :data:`KINDS` holds the same files with their
expected outcome, for ``tests/test_ingest_corpus.py``. Importable without Dagster (and without
pytest): only the standard library, pandas, openpyxl and :mod:`shixiang.schema`.

Every file uses the contract's headers (:mod:`shixiang.schema`) and real item names of 广安区
(``data/reference/guangan_items.csv``, ``tests/helpers.py``).
"""

from __future__ import annotations

import csv
import io
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import openpyxl
import pandas as pd

from tests import helpers

ITEM_HEADER = helpers.ITEM_HEADER
CATALOGUE_HEADER = helpers.CATALOGUE_HEADER

CODES = {
    "province": ("510000000000", "四川省人力资源和社会保障厅"),
    "city": ("511600000000", "广安市行政审批局"),
    "county": ("511602000000", "广安市广安区行政审批局"),
    "township": ("511602001000", "广安区浓洄街道便民服务中心"),
    "village": ("511602001001", "浓洄街道东方社区便民服务站"),
}
NAMES = [
    "食品经营许可（变更）",
    "水产苗种生产审批",
    "社会保障卡申领",
    "户口恢复",
    "建设工程规划许可证核发",
    "老年人助餐服务登记",
    "企业投资项目备案（技术改造）",
    "学生资助政策咨询",
    "适龄儿童、少年因身体状况需要延缓入学或者休学审批",
]
# Four items of the shared test catalogue (tests/helpers.py): every kind of row below
# resolves against them.
_SHARED = {r[0]: r for r in helpers.CATALOGUE_ROWS}
CATALOGUE_ROWS = [
    _SHARED[code]
    for code in ("511A0001000002", "511A0131300001", "512B0070200003", "511F0127400001")
]


def row(level: str, name: str, *, claimed: str = "", legal: str = "20", **kw: str) -> list[str]:
    """An implementation-list row of ``level``'s unit in contract column order."""
    code, agency = CODES[level]
    out = {
        "行政区划代码": kw.get("code", code),
        "实施主体": kw.get("agency", agency),
        "事项名称": name,
        "基本编码": claimed,
        "事项类型": kw.get("item_type", "行政许可"),
        "设定依据": kw.get("basis", ""),
        "办件类型": kw.get("handling", "承诺件"),
        "法定办结时限": legal,
        "承诺办结时限": kw.get("promised", "10"),
        "到办事现场次数": kw.get("visits", "1"),
    }
    return [out[h] for h in ITEM_HEADER]


def rows(level: str, n: int = 3) -> list[list[str]]:
    return [row(level, NAMES[i % len(NAMES)]) for i in range(n)]


def csv_text(
    table: list[list[object]], sep: str = ",", newline: str = "\n", header: list[str] | None = None
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator=newline)
    writer.writerow(ITEM_HEADER if header is None else header)
    writer.writerows(table)
    return out.getvalue()


# --- Workbooks -----------------------------------------------------------------------------


def openpyxl_book(
    sheets: list[tuple[str, list[list[object]]]],
    *,
    hidden: tuple[str, ...] = (),
    merges: dict[str, list[str]] | None = None,
    origin: tuple[int, int] = (1, 1),
    number_formats: dict[str, dict[str, str]] | None = None,
) -> bytes:
    """A real .xlsx (openpyxl) of ``sheets`` (name, rows), the first row of each at
    ``origin`` (row, column)."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, table in sheets:
        ws = book.create_sheet(name)
        for r, values in enumerate(table):
            for c, value in enumerate(values):
                if value not in (None, ""):
                    ws.cell(row=origin[0] + r, column=origin[1] + c, value=value)
        for ref in (merges or {}).get(name, []):
            ws.merge_cells(ref)
        for ref, fmt in (number_formats or {}).get(name, {}).items():
            ws[ref].number_format = fmt
        if name in hidden:
            ws.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rezip(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """``data`` (a zip) with each member passed through ``change`` (None drops it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            new = change(info.filename, src.read(info.filename))
            if new is not None:
                dst.writestr(info, new)
    return out.getvalue()


def _col(j: int) -> str:
    name = ""
    j += 1
    while j:
        j, rem = divmod(j - 1, 26)
        name = chr(65 + rem) + name
    return name


def xml_book(
    table: list[list[object]], formulas: dict[str, tuple[str, object]] | None = None
) -> bytes:
    """A minimal .xlsx written as Excel writes it: text in the shared-string table, numbers
    as values, formula cells with their cached results (``formulas``: ref → (formula, value))."""
    shared: list[str] = []
    cells = []
    for r, values in enumerate(table):
        out = []
        for c, value in enumerate(values):
            ref = f"{_col(c)}{r + 1}"
            if formulas and ref in formulas:
                formula, cached = formulas[ref]
                kind = ' t="str"' if isinstance(cached, str) else ""
                out.append(
                    f'<c r="{ref}"{kind}><f>{xml_escape(formula)}</f>'
                    f"<v>{xml_escape(str(cached))}</v></c>"
                )
            elif isinstance(value, int | float):
                out.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif value not in (None, ""):
                shared.append(str(value))
                out.append(f'<c r="{ref}" t="s"><v>{len(shared) - 1}</v></c>')
        cells.append(f'<row r="{r + 1}">{"".join(out)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
            f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
            f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{ct}.styles+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="{main}"'
            f' xmlns:r="{rel}"><sheets><sheet name="实施清单" sheetId="1" r:id="rId1"/></sheets>'
            "</workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>'
            f'<Relationship Id="rId3" Type="{rel}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="{main}">'
            f"<sheetData>{''.join(cells)}</sheetData></worksheet>"
        ),
        "xl/sharedStrings.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="{main}"'
            f' count="{len(shared)}" uniqueCount="{len(shared)}">'
            + "".join(f"<si><t>{xml_escape(s)}</t></si>" for s in shared)
            + "</sst>"
        ),
        "xl/styles.xml": (
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><styleSheet xmlns="{main}">'
            '<fonts count="1"><font><sz val="11"/><name val="宋体"/></font></fonts>'
            '<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
            '<borders count="1"><border/></borders>'
            '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
            '<cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/></cellXfs>'
            "</styleSheet>"
        ),
    }
    return _zip(parts)


# --- Writers for formats no installed library writes ---------------------------------------
# Real .xls (BIFF8 in an OLE compound file), .xlsb and .ods files, written from their specs
# with the standard library: LibreOffice is not installed here and xlwt/pyxlsb/odfpy are not
# dependencies. The reader under test (calamine) reads them as it reads Excel's own files.

_ENDOFCHAIN, _FREESECT, _FATSECT, _NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def ole_file(streams: dict[str, bytes]) -> bytes:
    """An OLE compound file (v3, 512-byte sectors) holding ``streams`` in its root storage.
    Each stream is padded to 4,096 bytes so that none lives in the mini stream."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    datas = [streams[n].ljust(4096, b"\0") for n in names]
    sectors: list[bytes] = []
    starts = []
    fat: list[int] = []
    for data in datas:
        n = -(-len(data) // 512)
        starts.append(len(sectors))
        for i in range(n):
            sectors.append(data[i * 512 : (i + 1) * 512].ljust(512, b"\0"))
            fat.append(len(fat) + 1 if i < n - 1 else _ENDOFCHAIN)
    entries = 1 + len(names)
    dir_sectors = -(-entries * 128 // 512)
    dir_start = len(sectors)
    for i in range(dir_sectors):
        fat.append(len(fat) + 1 if i < dir_sectors - 1 else _ENDOFCHAIN)
    fat_start = dir_start + dir_sectors
    fat.append(_FATSECT)
    assert len(fat) <= 128, "one FAT sector only"

    def entry(name: str, kind: int, right: int, child: int, start: int, size: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\0\0"
        return (
            raw.ljust(64, b"\0")
            + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", _NOSTREAM, right, child)
            + b"\0" * 36  # CLSID, state bits, creation and modification times
            + struct.pack("<IQ", start, size)
        )

    # The root's children as a chain of right siblings in ascending name order (a valid, if
    # unbalanced, tree).
    directory = entry("Root Entry", 5, _NOSTREAM, 1 if names else _NOSTREAM, _ENDOFCHAIN, 0)
    for i, name in enumerate(names):
        right = i + 2 if i + 1 < len(names) else _NOSTREAM
        directory += entry(name, 2, right, _NOSTREAM, starts[i], len(datas[i]))
    directory = directory.ljust(dir_sectors * 512, b"\0")
    fat_sector = b"".join(struct.pack("<I", x) for x in fat).ljust(512, b"\xff")
    difat = [fat_start] + [_FREESECT] * 108
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\0" * 16
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + b"\0" * 6
        + struct.pack("<IIIIIIIII", 0, 1, dir_start, 0, 4096, _ENDOFCHAIN, 0, _ENDOFCHAIN, 0)
        + b"".join(struct.pack("<I", x) for x in difat)
    )
    return header + b"".join(sectors) + directory + fat_sector


def _biff(rtype: int, data: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def _biff_string(text: str, length_bytes: int) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<B" if length_bytes == 1 else "<H", len(text)) + b"\x01" + raw


def _bof(kind: int) -> bytes:
    return _biff(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))


def xls_bytes(table: list[list[object]], sheet: str = "Sheet1") -> bytes:
    """A BIFF8 workbook (.xls, Excel 97–2003) of one sheet: text as LABEL records, numbers as
    NUMBER records."""
    cells = b""
    for r, values in enumerate(table):
        for c, value in enumerate(values):
            if isinstance(value, int | float):
                cells += _biff(0x0203, struct.pack("<HHHd", r, c, 0, float(value)))
            elif value not in (None, ""):
                cells += _biff(0x0204, struct.pack("<HHH", r, c, 0) + _biff_string(str(value), 2))
    width = max(len(r) for r in table)
    sheet_stream = (
        _bof(0x0010)
        + _biff(0x0200, struct.pack("<IIHHH", 0, len(table), 0, width, 0))
        + cells
        + _biff(0x000A, b"")
    )
    name = _biff_string(sheet, 1)
    head = _bof(0x0005) + _biff(0x0042, struct.pack("<H", 1200))  # code page: UTF-16
    offset = len(head) + len(_biff(0x0085, b"\0" * 6 + name)) + len(_biff(0x000A, b""))
    workbook = (
        head
        + _biff(0x0085, struct.pack("<IBB", offset, 0, 0) + name)
        + _biff(0x000A, b"")
        + sheet_stream
    )
    return ole_file({"Workbook": workbook})


def _xlsb_record(rtype: int, data: bytes = b"") -> bytes:
    def varint(n: int) -> bytes:
        out = b""
        while True:
            byte, n = n & 0x7F, n >> 7
            out += bytes([byte | (0x80 if n else 0)])
            if not n:
                return out

    return varint(rtype) + varint(len(data)) + data


def _wide(text: str) -> bytes:
    return struct.pack("<I", len(text)) + text.encode("utf-16-le")


def xlsb_bytes(table: list[list[object]], sheet: str = "Sheet1") -> bytes:
    """An Excel binary workbook (.xlsb) of one sheet: inline strings (BrtCellSt) and numbers
    (BrtCellReal)."""
    book = (
        _xlsb_record(0x83)  # BrtBeginBook
        + _xlsb_record(0x8F)  # BrtBeginBundleShs
        + _xlsb_record(0x9C, struct.pack("<II", 0, 1) + _wide("rId1") + _wide(sheet))
        + _xlsb_record(0x90)  # BrtEndBundleShs
        + _xlsb_record(0x84)  # BrtEndBook
    )
    width = max(len(r) for r in table)
    body = b""
    for r, values in enumerate(table):
        body += _xlsb_record(0x00, struct.pack("<IIHHBB", r, 0, 0x012C, 0, 0, 0))  # BrtRowHdr
        for c, value in enumerate(values):
            cell = struct.pack("<II", c, 0)
            if isinstance(value, int | float):
                body += _xlsb_record(0x05, cell + struct.pack("<d", float(value)))
            elif value not in (None, ""):
                body += _xlsb_record(0x06, cell + _wide(str(value)))
    sheet_bin = (
        _xlsb_record(0x81)  # BrtBeginSheet
        + _xlsb_record(0x94, struct.pack("<IIII", 0, len(table) - 1, 0, width - 1))  # BrtWsDim
        + _xlsb_record(0x91)  # BrtBeginSheetData
        + body
        + _xlsb_record(0x92)  # BrtEndSheetData
        + _xlsb_record(0x82)  # BrtEndSheet
    )
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    return _zip(
        {
            "[Content_Types].xml": (
                '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
                '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                '<Override PartName="/xl/worksheets/sheet1.bin" ContentType="application/vnd.ms-excel.worksheet"/>'
                "</Types>"
            ),
            "_rels/.rels": (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}">'
                f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.bin"/>'
                "</Relationships>"
            ),
            "xl/_rels/workbook.bin.rels": (
                f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="{pkg}">'
                f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.bin"/>'
                "</Relationships>"
            ),
            "xl/workbook.bin": book,
            "xl/worksheets/sheet1.bin": sheet_bin,
        }
    )


def ods_bytes(table: list[list[object]], sheet: str = "Sheet1") -> bytes:
    """An OpenDocument spreadsheet (.ods) of one sheet."""

    def cell(value: object) -> str:
        if isinstance(value, int | float):
            return (
                f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value}</text:p></table:table-cell>"
            )
        if value in (None, ""):
            return "<table:table-cell/>"
        return (
            '<table:table-cell office:value-type="string">'
            f"<text:p>{xml_escape(str(value))}</text:p></table:table-cell>"
        )

    body = "".join(
        "<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>" for r in table
    )
    ns = "urn:oasis:names:tc:opendocument:xmlns"
    content = (
        f'<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="{ns}:office:1.0"'
        f' xmlns:table="{ns}:table:1.0" xmlns:text="{ns}:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{body}'
        "</table:table></office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        f'<?xml version="1.0" encoding="UTF-8"?><manifest:manifest xmlns:manifest="{ns}:manifest:1.0"'
        ' manifest:version="1.2"><manifest:file-entry manifest:full-path="/" manifest:version="1.2"'
        ' manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
        "</manifest:manifest>"
    )
    return _zip(
        {
            "mimetype": "application/vnd.oasis.opendocument.spreadsheet",
            "META-INF/manifest.xml": manifest,
            "content.xml": content,
        }
    )


def _zip(parts: dict[str, str | bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data in parts.items():
            how = zipfile.ZIP_STORED if name == "mimetype" else method
            zf.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data, compress_type=how)
    return out.getvalue()


# --- The kinds -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One file of the corpus and what reading it must give."""

    key: str  # test id
    path: str  # relative to the data directory
    description: str
    content: Callable[[], bytes]
    rejected: tuple[str, ...] = ()  # rejected as a file; its reason holds each of these
    accepted: int = 0  # rows accepted when the file is read
    row_reasons: tuple[tuple[int, str], ...] = ()  # (source_row, words of its reason)
    check: Callable[[pd.DataFrame], bool] | None = None  # on the file's accepted rows
    ignored: bool = False  # not an input file at all (hidden, lock file)


def _text(text: str, encoding: str = "utf-8") -> Callable[[], bytes]:
    return lambda: text.encode(encoding)


def _book(table: list[list[object]], **kw: object) -> Callable[[], bytes]:
    return lambda: openpyxl_book([("实施清单", table)], **kw)  # type: ignore[arg-type]


def _truncate_member(member: str) -> Callable[[str, bytes], bytes]:
    return lambda name, data: data[: len(data) // 2] if name == member else data


def _crc_damaged() -> bytes:
    """A stored (uncompressed) workbook with one byte of its sheet changed: the zip's CRC no
    longer matches."""
    good = openpyxl_book([("实施清单", [ITEM_HEADER, *rows("county")])])
    stored = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as src, zipfile.ZipFile(stored, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename), zipfile.ZIP_STORED)
    data = bytearray(stored.getvalue())
    at = data.index("广安区行政审批局".encode())
    data[at : at + 3] = "广".encode()[:1] + b"\x00\x00"
    return bytes(data)


def _xlsm() -> bytes:
    """A macro-enabled workbook: the main part's content type and a VBA project."""
    good = openpyxl_book([("实施清单", [ITEM_HEADER, *rows("county")])])
    macro = b"application/vnd.ms-excel.sheet.macroEnabled.main+xml"

    def change(name: str, data: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return data.replace(
                b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml", macro
            )
        return data

    out = rezip(good, change)
    with zipfile.ZipFile(io.BytesIO(out), "a") as zf:
        zf.writestr("xl/vbaProject.bin", ole_file({"VBA": b'Attribute VB_Name = "Module1"'}))
    return out


def _control_xlsx() -> bytes:
    table = [ITEM_HEADER, row("township", "CTRL1"), row("township", "CTRL2")]
    good = openpyxl_book([("实施清单", table)])
    return rezip(
        good,
        lambda name, data: (
            data.replace(b"CTRL1", "食品经营_x0001_许可（变更）_x0000_".encode()).replace(
                b"CTRL2", "水产苗种&#27;生产审批&#x7;".encode()
            )
            if name.startswith("xl/worksheets/")
            else data
        ),
    )


def _two_row_header() -> bytes:
    top = [h for h in ITEM_HEADER]
    top[7], top[8] = "办结时限（工作日）", ""
    second = ["" for _ in ITEM_HEADER]
    second[7], second[8] = "法定", "承诺"
    merges = [f"{_col(j)}1:{_col(j)}2" for j in range(len(ITEM_HEADER)) if j not in (7, 8)]
    merges.append("H1:I1")
    table = [top, second, *rows("city")]
    return openpyxl_book([("实施清单", table)], merges={"实施清单": merges})


def _merged_cells() -> bytes:
    table = [ITEM_HEADER, *rows("village", 3)]
    for r in table[2:]:
        r[0] = r[1] = ""
    return openpyxl_book([("实施清单", table)], merges={"实施清单": ["A2:A4", "B2:B4"]})


def _numbers_xlsx() -> bytes:
    code = int(CODES["village"][0])
    table = [
        ITEM_HEADER,
        [code, CODES["village"][1], NAMES[2], "", "公共服务", "", "即办件", 1, 1.0, 0],
        [float(code), CODES["village"][1], NAMES[3], "", "行政确认", "", "承诺件", 10, 5, 1],
        [
            f"{code}.0",
            CODES["village"][1],
            NAMES[0],
            "511A00010000",
            "行政许可",
            "",
            "承诺件",
            20,
            10,
            1,
        ],
    ]
    return openpyxl_book(
        [("实施清单", table)], number_formats={"实施清单": {"A3": "0.00E+00", "A2": "0"}}
    )


def _formulas() -> bytes:
    table = [ITEM_HEADER, row("village", ""), row("village", "")]
    return xml_book(
        table,
        formulas={
            "C2": ('"社会保障卡"&"申领"', "社会保障卡申领"),
            "H2": ("10*2", 20),
            "C3": ('CONCATENATE("户口","恢复")', "户口恢复"),
            "H3": ("H2", 20),
        },
    )


def _big5() -> bytes:
    header = [
        "行政區劃代碼",
        "實施主體",
        "事項名稱",
        "基本編碼",
        "事項類型",
        "設定依據",
        "辦件類型",
        "法定辦結時限",
        "承諾辦結時限",
        "到辦事現場次數",
    ]
    table = [
        [
            CODES["village"][0],
            "濃洄街道東方社區便民服務站",
            "食品經營許可（變更）",
            "",
            "行政許可",
            "",
            "承諾件",
            "20",
            "10",
            "1",
        ],
        [
            CODES["village"][0],
            "濃洄街道東方社區便民服務站",
            "社會保障卡申領",
            "",
            "公共服務",
            "",
            "即辦件",
            "1",
            "1",
            "0",
        ],
    ]
    return csv_text(table, header=header).encode("cp950")


def _mojibake() -> bytes:
    return csv_text(rows("village", 2)).encode("gbk").decode("latin-1").encode("utf-8")


def _undecodable() -> bytes:
    rng = random.Random(7)
    good = csv_text(rows("village", 2)).encode("utf-8")
    noise = bytes(rng.randrange(0x80, 0x100) for _ in range(400))
    return good[:60] + noise + b"\xff\xfe\x80\x81" * 20


def _encrypted() -> bytes:
    info = struct.pack("<HHI", 4, 4, 0x40) + b"<encryption/>"
    return ole_file({"EncryptionInfo": info, "EncryptedPackage": random.Random(1).randbytes(3000)})


def _docx() -> bytes:
    return _zip(
        {
            "[Content_Types].xml": "<Types/>",
            "word/document.xml": "<w:document><w:body><w:p><w:r><w:t>关于报送政务服务事项实施清单的通知</w:t></w:r></w:p></w:body></w:document>",
        }
    )


def _zip_of_csv() -> bytes:
    return _zip({"511602_广安区_实施清单.csv": csv_text(rows("county"))})


def _html_xls() -> bytes:
    cells = "".join(f"<td>{h}</td>" for h in ITEM_HEADER)
    body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in r) + "</tr>" for r in rows("county"))
    return (
        '<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
        f"<body><table><tr>{cells}</tr>{body}</table></body></html>"
    ).encode()


def _xml_2003() -> bytes:
    return (
        '<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>'
        '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="实施清单">'
        '<Table><Row><Cell><Data ss:Type="String">行政区划代码</Data></Cell></Row></Table>'
        "</Worksheet></Workbook>"
    ).encode()


def _catalogue_csv(table: list[list[str]], blank_after: tuple[int, ...] = ()) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CATALOGUE_HEADER)
    for i, r in enumerate(table):
        writer.writerow(r)
        if i in blank_after:
            out.write("\n" if i % 2 else ",,,,,,,,,\n")
    return out.getvalue().encode("utf-8-sig")


def _codes(rows_: pd.DataFrame, code: str) -> bool:
    return rows_["division_code"].tolist() == [code] * len(rows_)


LONG_NAME = (
    "四川省广安市广安区浓洄街道东方社区便民服务站政务服务事项实施清单"
    "（二〇二四年第三季度修订版经街道党工委会议审议通过后报区政务服务管理局备案）.csv"
)
assert len(LONG_NAME.encode()) <= 250  # a file name's limit on common file systems is 255 bytes


def _kinds() -> list[Kind]:
    county = [ITEM_HEADER, *rows("county")]
    good_county = openpyxl_book([("实施清单", county)])
    shared_book = xml_book(county)
    title = "2024年广安市政务服务事项实施清单"
    trailing = csv_text(rows("township")).replace("\n", ",\n")
    trailing = trailing.replace(",\n", "\n", 1)  # the header has no trailing comma
    full_width = [
        row(
            "township",
            NAMES[0],
            claimed="５１１Ａ０００１００００",
            legal="２０",
            promised="１０",
            visits="１",
            code="５１１６０２００１０００",
        ),
        row(
            "township",
            NAMES[2],
            claimed="512b00702000",
            legal="１",
            promised="1",
            visits="０",
            code="５１１６０２００１０００",
        ),
    ]
    spaced = [
        row("township", NAMES[0], code=" 5116 0200 1000 "),
        row("township", NAMES[1], code="511602001000.0"),
        row("township", NAMES[2], code="511602001000\u3000"),
    ]
    control = [
        row("township", "食品经营\x00许可（变更）\x07", basis="《食品安全法》\x1b第三十五条"),
        row("township", "水产苗种\x0b生产审批\x7f", agency="广安区浓洄街道\x01便民服务中心"),
    ]
    shifted = csv_text(rows("township")).replace(NAMES[1], "水产苗种,生产审批")  # unquoted
    long_rows = [row("township", NAMES[i % len(NAMES)]) for i in range(40)]
    long_text = csv_text(long_rows).splitlines()
    long_text[30] += ",多余1,多余2"  # data row 30: wider than anything the sniffer saw
    semicolon, pipe, tab = (csv_text(rows("province"), sep=s) for s in (";", "|", "\t"))
    blank_rows = csv_text(rows("city")).splitlines()
    blank_rows.insert(2, "")
    blank_rows.insert(4, "," * (len(ITEM_HEADER) - 1))
    dup_header = [*ITEM_HEADER[:3], "事项名称", *ITEM_HEADER[3:]]
    dup_rows = [[*r[:3], "（旧名称）" + r[2], *r[3:]] for r in rows("city", 2)]
    spaced_header = [
        "行政区划代码 ",
        " 实 施 主 体",
        "事项名称\u3000",
        "基本编码",
        "事项类型",
        "设定依据",
        "办件类型",
        "法定办结时限",
        "承诺办结时限",
        "到办事现场次数",
    ]
    english = [
        "division_code",
        "agency",
        "name",
        "base_code",
        "item_type",
        "legal_basis",
        "handling_type",
        "legal_limit",
        "promised_limit",
        "visits",
    ]
    extra_header = [*ITEM_HEADER, "备注", "联系电话"]
    extra_rows = [[*r, "试点", "0826-2222222"] for r in rows("city", 2)]
    starred = ["*行政区划代码", "*实施主体", "事项名称（必填）", *ITEM_HEADER[3:]]
    gb = [row("village", NAMES[4], agency="浓洄街道𫖯𫖯社区便民服务站"), row("village", NAMES[5])]
    mixed = csv_text(rows("village")).split("\n")
    mixed_text = mixed[0] + "\r\n" + mixed[1] + "\n" + mixed[2] + "\r" + mixed[3] + "\r\n"
    quoted = [
        row(
            "village",
            "食品经营许可（变更，延续）",
            basis="《中华人民共和国食品安全法》\n第三十五条",
        ),
        row("village", NAMES[2], basis='第一条\r\n第二条"说明"'),
    ]
    village = [ITEM_HEADER, *rows("village", 2)]
    catalogue_shifted = _catalogue_csv(CATALOGUE_ROWS).replace(
        "水产苗种生产审批,行政许可".encode(), "水产苗种生产审批,延续,行政许可".encode()
    )  # an unquoted comma in the second row's 事项名称
    return [
        # --- Damaged and disguised workbooks ---------------------------------------------
        Kind(
            "xlsx-bad-sheet-xml",
            "county/损坏_工作表XML.xlsx",
            "valid zip, sheet XML cut in half",
            lambda: rezip(good_county, _truncate_member("xl/worksheets/sheet1.xml")),
            rejected=("工作簿已损坏", "工作表 XML 无法解析"),
        ),
        Kind(
            "xlsx-bad-styles",
            "county/损坏_样式表.xlsx",
            "valid zip, styles.xml cut in half",
            lambda: rezip(good_county, _truncate_member("xl/styles.xml")),
            rejected=("工作簿已损坏", "样式表", "styles.xml"),
        ),
        Kind(
            "xlsx-bad-shared-strings",
            "county/损坏_共享字符串.xlsx",
            "valid zip, sharedStrings.xml cut in half",
            lambda: rezip(shared_book, _truncate_member("xl/sharedStrings.xml")),
            rejected=("工作簿已损坏", "共享字符串表"),
        ),
        Kind(
            "xlsx-no-workbook-xml",
            "county/损坏_缺少workbook.xlsx",
            "xlsx without xl/workbook.xml",
            lambda: rezip(good_county, lambda n, d: None if n == "xl/workbook.xml" else d),
            rejected=("工作簿已损坏", "缺少 xl/workbook.xml"),
        ),
        Kind(
            "xlsx-truncated",
            "county/损坏_截断.xlsx",
            "xlsx truncated to half its bytes",
            lambda: good_county[: len(good_county) // 2],
            rejected=("文件已损坏", "截断"),
        ),
        Kind(
            "xlsx-crc",
            "county/损坏_校验和.xlsx",
            "a byte of the sheet changed: CRC mismatch",
            _crc_damaged,
            rejected=("工作簿已损坏", "校验失败"),
        ),
        Kind(
            "xlsx-encrypted",
            "county/加密.xlsx",
            "password-protected xlsx (OLE EncryptedPackage)",
            _encrypted,
            rejected=("加密", "密码"),
        ),
        Kind(
            "xlsx-zero-bytes",
            "county/空文件.xlsx",
            "zero-byte .xlsx",
            lambda: b"",
            rejected=("文件为空",),
        ),
        Kind(
            "xlsx-random-bytes",
            "county/随机字节.xlsx",
            "random bytes named .xlsx",
            lambda: random.Random(3).randbytes(2000),
            rejected=("损坏", "不是 Excel"),
        ),
        Kind(
            "xls-truncated",
            "county/损坏_旧版.xls",
            "old Excel file truncated",
            lambda: xls_bytes(county)[:1200],
            rejected=("工作簿已损坏", ".xls"),
        ),
        # --- Other spreadsheet formats --------------------------------------------------
        Kind(
            "xls",
            "county/旧版Excel.xls",
            "real .xls (BIFF8), codes as numbers",
            lambda: xls_bytes([ITEM_HEADER, *[[int(r[0]), *r[1:]] for r in rows("county")]]),
            accepted=3,
            check=lambda r: _codes(r, CODES["county"][0]),
        ),
        Kind("xlsm", "county/启用宏.xlsm", "macro-enabled workbook", _xlsm, accepted=3),
        Kind(
            "xlsb",
            "county/二进制工作簿.xlsb",
            "Excel binary workbook",
            lambda: xlsb_bytes(county),
            accepted=3,
        ),
        Kind(
            "ods",
            "county/开放文档格式.ods",
            "OpenDocument spreadsheet",
            lambda: ods_bytes(county),
            accepted=3,
        ),
        Kind(
            "csv-named-xls",
            "county/其实是CSV.xls",
            "a CSV renamed to .xls",
            _text(csv_text(rows("county"))),
            accepted=3,
        ),
        Kind(
            "html-named-xls",
            "county/系统导出.xls",
            "an HTML table named .xls (web export)",
            _html_xls,
            rejected=("不支持的文件类型", "HTML", "另存为 .xlsx"),
        ),
        Kind(
            "xml-2003",
            "county/Excel2003.xml",
            "Excel 2003 XML spreadsheet",
            _xml_2003,
            rejected=("不支持的文件类型", "Excel 2003 XML"),
        ),
        Kind(
            "pdf",
            "county/办事指南.pdf",
            "a PDF",
            lambda: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n",
            rejected=("不支持的文件类型", "PDF", ".xlsx", ".csv"),
        ),
        Kind(
            "docx",
            "county/报送通知.docx",
            "a Word .docx",
            _docx,
            rejected=("不支持的文件类型", "Word"),
        ),
        Kind(
            "doc",
            "county/报送通知.doc",
            "an old Word .doc (OLE)",
            lambda: ole_file({"WordDocument": b"\xec\xa5" + b"\0" * 100}),
            rejected=("不支持的文件类型", "Word"),
        ),
        Kind(
            "txt-prose",
            "county/填报说明.txt",
            "a .txt that is not a table",
            _text("填报说明\n请各单位于每月5日前报送实施清单。\n联系人：张三\n"),
            rejected=("不支持的文件类型", "不是表格"),
        ),
        Kind(
            "zip-archive",
            "county/清单打包.zip",
            "a zip archive holding a CSV",
            _zip_of_csv,
            rejected=("不支持的文件类型", "压缩包", "解压"),
        ),
        Kind(
            "jpeg",
            "county/清单照片.jpg",
            "a photo of the list",
            lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200),
            rejected=("不支持的文件类型", "JPEG"),
        ),
        Kind(
            "hidden-file",
            "county/.隐藏.csv",
            "hidden file (ignored)",
            _text("not read"),
            ignored=True,
        ),
        Kind(
            "lock-file",
            "county/~$实施清单.xlsx",
            "Excel lock file (ignored)",
            lambda: b"\x0cWPS Office" + bytes(150),
            ignored=True,
        ),
        # --- Cells ----------------------------------------------------------------------
        Kind(
            "full-width-digits",
            "township/全角数字.csv",
            "codes and numbers in full-width digits",
            _text(csv_text(full_width)),
            accepted=2,
            check=lambda r: (
                _codes(r, CODES["township"][0])
                and r["claimed_code"].tolist() == ["511A00010000", "512B00702000"]
                and r["legal_limit"].tolist() == ["20", "1"]
                and r["promised_limit"].tolist() == ["10", "1"]
                and r["visits"].tolist() == ["1", "0"]
            ),
        ),
        Kind(
            "code-spaces",
            "township/代码含空格.csv",
            "codes with inner spaces, ideographic space, .0",
            _text(csv_text(spaced)),
            accepted=3,
            check=lambda r: _codes(r, CODES["township"][0]),
        ),
        Kind(
            "control-chars-csv",
            "township/控制字符.csv",
            "NUL and control characters in cells",
            _text(csv_text(control)),
            accepted=2,
            check=lambda r: (
                r["item_name"].tolist() == [NAMES[0], NAMES[1]]
                and r.loc[1, "agency"] == CODES["township"][1]
                and r.loc[0, "legal_basis"] == "《食品安全法》第三十五条"
            ),
        ),
        Kind(
            "control-chars-xlsx",
            "township/控制字符.xlsx",
            "control characters in workbook cells",
            _control_xlsx,
            accepted=2,
            check=lambda r: r["item_name"].tolist() == [NAMES[0], NAMES[1]],
        ),
        Kind(
            "long-cell",
            "township/超长单元格.csv",
            "a 5,000-character cell",
            _text(
                csv_text([row("township", NAMES[0], basis="依" * 5000), row("township", NAMES[1])])
            ),
            accepted=2,
            check=lambda r: len(r.loc[0, "legal_basis"]) == 5000,
        ),
        Kind(
            "trailing-commas",
            "township/行尾逗号.csv",
            "a trailing comma on every data row",
            _text(trailing),
            accepted=3,
            check=lambda r: (
                _codes(r, CODES["township"][0])
                and r["item_name"].tolist() == NAMES[:3]
                and r["visits"].tolist() == ["1"] * 3
            ),
        ),
        Kind(
            "scientific-code",
            "township/科学计数法.csv",
            "a code saved as 5.11602E+11",
            _text(
                csv_text(
                    [
                        row("township", NAMES[0]),
                        row("township", NAMES[1], code="5.11602E+11"),
                        row("township", NAMES[2]),
                    ]
                )
            ),
            accepted=2,
            row_reasons=((2, "科学计数法"),),
        ),
        Kind(
            "shifted-row",
            "township/错位行.csv",
            "an unquoted comma shifts one row",
            _text(shifted),
            accepted=2,
            row_reasons=((2, "多出 1 个非空字段"),),
        ),
        Kind(
            "shifted-row-late",
            "township/第30行错位.csv",
            "row 30 of 40 has two fields too many",
            _text("\n".join(long_text) + "\n"),
            accepted=39,
            row_reasons=((30, "多出 2 个非空字段"),),
        ),
        # --- Layout ---------------------------------------------------------------------
        Kind(
            "title-row",
            "city/标题行.csv",
            "a title row above the header",
            _text(title + "\n" + csv_text(rows("city"))),
            accepted=3,
        ),
        Kind(
            "cover-sheet",
            "city/封面页.xlsx",
            "a 说明 sheet before the data sheet",
            lambda: openpyxl_book(
                [
                    ("说明", [["填报说明"], ["1. 行政区划代码填写12位数字"], ["2. 每个事项一行"]]),
                    ("实施清单", [ITEM_HEADER, *rows("city")]),
                ]
            ),
            accepted=3,
        ),
        Kind(
            "semicolon",
            "province/分号分隔.csv",
            "semicolon-separated",
            _text(semicolon),
            accepted=3,
        ),
        Kind("pipe", "province/竖线分隔.txt", "pipe-separated .txt", _text(pipe), accepted=3),
        Kind("tab", "province/制表符分隔.tsv", "tab-separated", _text(tab), accepted=3),
        Kind(
            "two-row-header",
            "city/两行表头.xlsx",
            "办结时限 merged over 法定/承诺",
            _two_row_header,
            accepted=3,
            check=lambda r: (
                r["legal_limit"].tolist() == ["20"] * 3
                and r["promised_limit"].tolist() == ["10"] * 3
            ),
        ),
        Kind(
            "group-header",
            "city/分组表头.csv",
            "group labels above the real header",
            _text("基本信息,,,,,办理信息,,,,\n" + csv_text(rows("city"))),
            accepted=3,
        ),
        Kind(
            "header-only",
            "city/只有表头.csv",
            "header only",
            _text(csv_text([])),
            rejected=("只有表头",),
        ),
        Kind(
            "blank-rows",
            "city/含空行.csv",
            "blank rows among the data",
            _text("\n".join(blank_rows) + "\n"),
            accepted=3,
            row_reasons=((2, "空行"), (4, "空行")),
        ),
        Kind(
            "duplicate-header",
            "city/重复表头.csv",
            "事项名称 twice",
            _text(csv_text(dup_rows, header=dup_header)),
            accepted=2,
            check=lambda r: (
                r["item_name"].tolist() == NAMES[:2] and "（旧名称）" in r.loc[0, "extra"]
            ),
        ),
        Kind(
            "header-spaces",
            "city/表头空格全角.csv",
            "headers with spaces and full-width space",
            _text(csv_text(rows("city", 2), header=spaced_header)),
            accepted=2,
        ),
        Kind(
            "english-header",
            "city/英文表头.csv",
            "English headers",
            _text(csv_text(rows("city", 2), header=english)),
            accepted=2,
        ),
        Kind(
            "extra-columns",
            "city/多余列.csv",
            "columns outside the contract",
            _text(csv_text(extra_rows, header=extra_header)),
            accepted=2,
            check=lambda r: '"备注": "试点"' in r.loc[0, "extra"],
        ),
        Kind(
            "required-only",
            "city/只有必需列.csv",
            "only the three required columns",
            _text(csv_text([r[:3] for r in rows("city", 2)], header=ITEM_HEADER[:3])),
            accepted=2,
            check=lambda r: r["claimed_code"].isna().all(),
        ),
        Kind(
            "missing-required",
            "city/缺必需列.csv",
            "no 行政区划代码 column",
            _text(csv_text([r[1:] for r in rows("city", 2)], header=ITEM_HEADER[1:])),
            rejected=("第 1 行像表头", "缺少必需列：行政区划代码"),
        ),
        Kind(
            "title-missing-required",
            "city/标题行缺列.csv",
            "a title row, then a header without 实施主体",
            _text(
                title
                + "\n"
                + csv_text(
                    [[r[0], *r[2:]] for r in rows("city", 2)],
                    header=[ITEM_HEADER[0], *ITEM_HEADER[2:]],
                )
            ),
            rejected=("第 2 行像表头", "缺少必需列：实施主体"),
        ),
        Kind(
            "no-header",
            "city/没有表头.csv",
            "data rows without a header",
            _text(csv_text(rows("city", 2)).split("\n", 1)[1]),
            rejected=("没有找到表头",),
        ),
        Kind(
            "starred-header",
            "city/带星号表头.xlsx",
            "*行政区划代码 and 事项名称（必填）",
            _book([starred, *rows("city", 2)]),
            accepted=2,
        ),
        Kind(
            "offset-table",
            "city/不从A1开始.xlsx",
            "the table starts at B3",
            _book([ITEM_HEADER, *rows("city", 2)], origin=(3, 2)),
            accepted=2,
        ),
        # --- Encodings ------------------------------------------------------------------
        Kind(
            "big5",
            "village/繁体Big5.csv",
            "Big5 with traditional headers",
            _big5,
            accepted=2,
            check=lambda r: r.loc[0, "item_name"] == "食品經營許可（變更）",
        ),
        Kind(
            "gb18030",
            "village/GB18030.csv",
            "GB18030 with a 4-byte character",
            _text(csv_text(gb), "gb18030"),
            accepted=2,
            check=lambda r: r.loc[0, "agency"] == "浓洄街道𫖯𫖯社区便民服务站",
        ),
        Kind(
            "utf16-bom",
            "village/UTF16.txt",
            "UTF-16 with BOM, tab-separated (Excel Unicode text)",
            _text(csv_text(rows("village", 2), sep="\t"), "utf-16"),
            accepted=2,
        ),
        Kind(
            "utf16-no-bom",
            "village/UTF16无BOM.csv",
            "UTF-16LE without BOM",
            _text(csv_text(rows("village", 2)), "utf-16-le"),
            accepted=2,
        ),
        Kind(
            "utf8-bom",
            "village/UTF8带BOM.csv",
            "UTF-8 with BOM",
            _text(csv_text(rows("village", 2)), "utf-8-sig"),
            accepted=2,
        ),
        Kind(
            "mixed-newlines",
            "village/混合换行.csv",
            "CRLF, LF and CR line endings mixed",
            _text(mixed_text),
            accepted=3,
        ),
        Kind(
            "quoted-newlines",
            "village/引号内换行.csv",
            "quoted fields with newlines, commas, quotes",
            _text(csv_text(quoted)),
            accepted=2,
            check=lambda r: (
                "\n" in r.loc[0, "legal_basis"]
                and r.loc[0, "item_name"] == "食品经营许可（变更，延续）"
            ),
        ),
        Kind(
            "undecodable",
            "village/无法识别编码.csv",
            "bytes no encoding makes text of",
            _undecodable,
            rejected=("无法可靠识别文件编码",),
        ),
        Kind(
            "mojibake",
            "village/UTF8乱码.csv",
            "GBK read as Latin-1, saved as UTF-8",
            _mojibake,
            rejected=("无法可靠识别文件编码", "乱码"),
        ),
        # --- Workbook cells -------------------------------------------------------------
        Kind(
            "numeric-codes",
            "village/代码为数字.xlsx",
            "codes and limits as numbers (int, float, 0.00E+00, text .0)",
            _numbers_xlsx,
            accepted=3,
            check=lambda r: (
                _codes(r, CODES["village"][0])
                and r["legal_limit"].tolist() == ["1", "10", "20"]
                and r["promised_limit"].tolist() == ["1", "5", "10"]
            ),
        ),
        Kind(
            "formulas",
            "village/公式.xlsx",
            "formula cells with cached values",
            _formulas,
            accepted=2,
            check=lambda r: (
                r["item_name"].tolist() == ["社会保障卡申领", "户口恢复"]
                and r["legal_limit"].tolist() == ["20", "20"]
            ),
        ),
        Kind(
            "merged-cells",
            "village/合并单元格.xlsx",
            "code and agency merged down over 3 rows",
            _merged_cells,
            accepted=3,
            check=lambda r: (
                _codes(r, CODES["village"][0]) and r["agency"].tolist() == [CODES["village"][1]] * 3
            ),
        ),
        Kind(
            "hidden-sheet",
            "village/隐藏工作表.xlsx",
            "a hidden stale sheet before the data",
            lambda: openpyxl_book(
                [("旧版", [ITEM_HEADER, row("village", "作废事项")]), ("实施清单", village)],
                hidden=("旧版",),
            ),
            accepted=2,
            check=lambda r: r["item_name"].tolist() == NAMES[:2],
        ),
        Kind(
            "long-file-name",
            "village/" + LONG_NAME,
            "a very long Chinese file name",
            _text(csv_text(rows("village", 2))),
            accepted=2,
        ),
        Kind(
            "empty-workbook",
            "village/空工作簿.xlsx",
            "a workbook with an empty sheet",
            lambda: openpyxl_book([("Sheet1", [])]),
            rejected=("空的",),
        ),
        Kind(
            "header-only-xlsx",
            "village/只有表头.xlsx",
            "workbook with a header only",
            _book([ITEM_HEADER]),
            rejected=("只有表头",),
        ),
        # --- Catalogue ------------------------------------------------------------------
        Kind(
            "catalogue",
            "catalogue/通用目录.csv",
            "a well-formed catalogue (baseline)",
            lambda: _catalogue_csv(CATALOGUE_ROWS),
            accepted=4,
        ),
        Kind(
            "catalogue-blank-rows",
            "catalogue/通用目录_含空行.csv",
            "a catalogue with blank rows",
            lambda: _catalogue_csv(CATALOGUE_ROWS[:3], blank_after=(0, 1)),
            accepted=3,
        ),
        Kind(
            "catalogue-title-xlsx",
            "catalogue/通用目录_标题行.xlsx",
            "catalogue workbook with a title row",
            lambda: openpyxl_book(
                [("目录", [["四川省政务服务事项基本目录"], CATALOGUE_HEADER, *CATALOGUE_ROWS[:2]])]
            ),
            accepted=2,
        ),
        Kind(
            "catalogue-shifted",
            "catalogue/通用目录_错位行.csv",
            "a catalogue row with an unquoted comma",
            lambda: catalogue_shifted,
            rejected=("第 2 个数据行", "多出"),
        ),
        Kind(
            "catalogue-docx",
            "catalogue/目录说明.docx",
            "a Word file among the catalogue",
            _docx,
            rejected=("不支持的文件类型",),
        ),
    ]


KINDS: list[Kind] = _kinds()


def write_bad_corpus(root: Path) -> dict[str, str]:
    """Write every kind into the data directory ``root``; returns {relative path: description}."""
    for folder in ("catalogue", "province", "city", "county", "township", "village"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        path = root / kind.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(kind.content())
    return {kind.path: kind.description for kind in KINDS}

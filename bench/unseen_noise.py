"""Held-out evaluation set: item-name noise the matcher was NOT tuned on.

A province (code 62, fictional places) of ~46 units at five levels lists items of a catalogue
built here from the real 广安区 names (``data/reference/guangan_items.csv``). Every row is
labelled in ``truth.csv``. The noise families model what real spreadsheets and systems do to
item names and deliberately avoid the kinds the matcher was developed against (width, spaces,
brackets, level markers, numbering, owner prefixes, synonyms, homophones, dropped characters…):

- ``excel_escape``      OOXML line-break escapes ``_x000D_`` / ``_x000A_`` left as text
- ``html_entity``       ``&nbsp;``, ``&amp;nbsp;`` and numeric entities from web-CMS exports
- ``html_tag``          ``<p>``, ``<br/>``, ``<span style=…>`` from rich-text editor fields
- ``cell_linebreak``    Alt+Enter / CRLF line break inside the cell
- ``status_remark``     a service-status remark appended: （暂停办理）, 【已进驻政务大厅】…
- ``code_in_name``      基本编码 / 业务办理项编码 / 实施编码 pasted before or after the name
- ``truncated``         cut at a fixed field length (…, ..., or a broken byte as U+FFFD);
                        only when the prefix still identifies exactly one name
- ``key_bounce``        one character doubled by a bouncing key or a double IME commit
- ``adjacent_swap``     two neighbouring characters swapped while typing
- ``shape_alike``       a 形近字 typo that is not a homophone (己/已, 未/末, 设/没, 市/巿 …)
- ``ocr_kana``          OCR / Japanese-IME lookalikes: 工→エ, 力→カ, 口→ロ, 一→—, 千→チ
- ``trad_mix``          one or two characters in traditional form (繁简混用)
- ``compat_ideograph``  CJK Compatibility Ideographs (U+F900 block) from PDF/HWP conversion
- ``kangxi_radical``    Kangxi radicals (U+2F00 block) from copying text out of PDFs
- ``text_guard``        Excel text guards left in the value: leading ``'`` or ``="…"``
- ``tree_path``         the catalogue tree path exported as the name: 主项/事项
- ``repeated_text``     the name pasted twice, or its situation bracket doubled
- ``dept_suffix``       an abbreviated department appended: X（人社局）, X-市监
- ``enum_comma``        the enumeration comma 、 typed as ，/,/ / (and the reverse)
- ``pinyin_residue``    IME residue: the pinyin of a character left before it (经营xu许可)
- ``replacement_char``  one character lost in a lossy encoding conversion: ?, U+FFFD, □
- ``situation_joined``  the situation bracket turned into a joined suffix: X_变更, X-注销
- ``bracket_order``     the two trailing bracket groups in the other order
- ``field_label``       the form label copied with the value: 事项名称：X
- ``column_spill``      a neighbouring column pasted into the cell: X|行政许可, X/20个工作日

Negatives (``expected_in_catalogue`` false): whole items withheld from the catalogue, one
situation sibling withheld from a split family, and local self-built items; ~30 % of them carry
noise too. Usage: ``python bench/unseen_noise.py --out DIR [--seed N] [--rows N]``.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import shutil
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import opencc
from openpyxl import Workbook
from pypinyin import lazy_pinyin
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "guangan_items.csv"
TYPES = {"1": "行政许可", "5": "行政给付", "7": "行政确认", "8": "行政奖励", "9": "行政裁决"}
TYPES |= {"10": "其他行政权力", "20": "公共服务"}
TYPE_LETTER = {"行政许可": "A", "行政给付": "G", "行政确认": "F", "行政奖励": "H"}
TYPE_LETTER |= {"行政裁决": "E", "其他行政权力": "Z", "公共服务": "C"}
LEVELS = ("province", "city", "county", "township", "village")
LEVEL_LABEL = dict(zip(LEVELS, ("省级", "市级", "县级", "镇（乡、街道）级", "村（社区）级"), strict=True))  # fmt: skip
LEVEL_SHARE = dict(zip(LEVELS, (0.10, 0.17, 0.43, 0.19, 0.11), strict=True))
SITUATIONS = ("新办", "变更", "延续", "注销", "补办", "换发")
LEVEL_QUALIFIER = re.compile(
    r"[（(](?:(?:省|市|县|设区的市)级(?:/(?:省|市|县)级)*(?:权限|行使)?|住建行使"
    r"|(?:根据|据)省政府[^（）()]*)[）)]$"
)
SITUATION_WORD = re.compile(
    r"新办|新设|新增|变更|延续|延期|注销|补办|补发|换发|换证|遗失|过户|转[入出]|终止|初领|恢复|歇业|配发|激活|校验|注册"
)
SITUATION_TAIL = re.compile(
    r"^(.+?)[（(](新办|新设|新增|变更|延续|延期|注销|补办|补发|换发|过户|转入|转出|终止|初领)[）)]$"
)
BRACKET_GROUP = re.compile(r"[（(][^（）()]*[）)]")
LAWS = ("中华人民共和国行政许可法", "中华人民共和国食品安全法", "中华人民共和国社会保险法")
LAWS += ("中华人民共和国道路运输条例", "中华人民共和国税收征收管理法", "社会救助暂行办法")
LAWS += ("中华人民共和国城乡规划法", "中华人民共和国森林法", "甘肃省政务服务管理办法")
LOCAL_NAMES = (
    "高龄老人长寿补贴申领", "农家乐星级评定", "乡村旅游示范户认定", "村规民约备案审查",
    "红白理事会办事登记", "特色产业发展奖补申请", "人才公寓入住申请", "困难职工子女助学金申请",
    "景区门票优惠证明开具", "社区志愿者注册登记", "农村饮水工程报修受理", "公益性公墓墓位登记",
    "小区公共停车位租用登记", "人居环境整治积分兑换", "花椒种植补贴申领", "苹果产业保险补贴申请",
    "牛羊养殖贷款贴息申请", "网格员招聘报名", "文化广场场地使用预约", "集市摊位租赁登记",
    "马铃薯良种补贴申领", "戈壁农业大棚建设补助申请", "城区流浪犬收容认领", "冬季清洁取暖补贴申领",
    "独居老人紧急呼叫设备申领", "党员活动室使用预约", "城市书房借阅证办理", "河道保洁员报名登记",
)  # fmt: skip
HEADER = ["行政区划代码", "实施主体", "事项名称", "基本编码", "事项类型", "设定依据"]
HEADER += ["办件类型", "法定办结时限", "承诺办结时限", "到办事现场次数"]
CAT_HEADER = ["业务办理项编码", "基本编码", "主项名称", "事项名称", "事项类型", "行使层级"]
CAT_HEADER += ["设定依据", "主管部门", "办件类型", "法定办结时限"]
TRUTH_HEADER = ["source_file", "source_row", "level", "division_code", "item_name"]
TRUTH_HEADER += ["expected_business_code", "expected_base_code", "variation"]
TRUTH_HEADER += ["expected_in_catalogue", "claimed_code_kind", "qc_flags", "broken_row"]
DEPARTMENTS = {"人社": "人力资源和社会保障局", "住建": "住房和城乡建设局", "市监": "市场监督管理局"}
DEPARTMENTS |= {"卫健": "卫生健康局", "文广旅": "文化广电和旅游局", "教科体": "教育和体育局"}
DEPARTMENTS |= {"公安": "公安局", "自然资源": "自然资源局", "医疗保障": "医疗保障局"}


def key(text: str) -> str:
    """Comparison key: NFKC with all whitespace removed."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def _bare(name: str) -> str:
    return BRACKET_GROUP.sub("", key(name))


@dataclass
class Item:
    code: str  # 业务办理项编码 ('' for local items)
    base: str
    main: str
    name: str
    type: str
    levels: tuple[str, ...]
    basis: str
    dept: str
    short_dept: str  # the abbreviation a county would write, e.g. 人社局
    handling: str
    limit: int


@dataclass
class Unit:
    level: str
    division: str
    agency: str
    fmt: str  # utf-8 / utf-8-sig / gb18030 / xlsx

    @property
    def path(self) -> str:
        suffix = "xlsx" if self.fmt == "xlsx" else "csv"
        return f"{self.level}/{self.division}_{self.agency}.{suffix}"


@dataclass
class Ctx:
    item: Item
    unit: Unit
    catalogue_keys: frozenset[str]
    pool_keys: list[str]  # keys of every catalogue item and negative name


# --- Catalogue --------------------------------------------------------------------------------


def _strip_levels(name: str) -> str:
    while (stripped := LEVEL_QUALIFIER.sub("", name).strip()) != name:
        name = stripped
    return name


def _use_levels(item_type: str, rng: random.Random) -> tuple[str, ...]:
    upper = [("province", "city", "county"), ("city", "county"), ("county",)]
    if item_type == "公共服务":
        levels = list(rng.choices(upper, (0.3, 0.3, 0.4))[0])
        if rng.random() < 0.55:
            levels.append("township")
            if rng.random() < 0.4:
                levels.append("village")
        return tuple(levels)
    permit = item_type == "行政许可"
    levels = list(rng.choices(upper, (0.55, 0.25, 0.2) if permit else (0.5, 0.2, 0.3))[0])
    if rng.random() < (0.08 if permit else 0.2):
        levels.append("township")
    return tuple(levels)


def build_catalogue(rng: random.Random) -> tuple[list[Item], list[Item], list[Item]]:
    """(catalogue, withheld whole items, withheld situation siblings) from the real names."""
    real: dict[str, tuple[str, str, str, str]] = {}
    with REFERENCE.open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            name = _strip_levels(r["name"].strip())
            main = r["main_item"].strip()
            main = name if main in ("", "未分类") else _strip_levels(main)
            if name and key(name) not in real:
                real[key(name)] = (name, main, TYPES[r["task_type_code"]], r["department"])
    bare_count = Counter(_bare(v[0]) for v in real.values())
    catalogue: list[Item] = []
    withheld: list[Item] = []
    siblings: list[Item] = []
    serial: Counter[str] = Counter()
    for name, main, item_type, dept in real.values():
        letter = TYPE_LETTER[item_type]
        serial[letter] += 1
        base = f"62{letter}{serial[letter]:05d}0000"
        levels = _use_levels(item_type, rng)
        instant = rng.random() < (0.1 if item_type == "行政许可" else 0.3)
        limit = 1 if instant else rng.choice((5, 7, 10, 15, 20, 30, 60))
        basis = f"《{rng.choice(LAWS)}》第{rng.randint(3, 60)}条" if rng.random() < 0.8 else ""
        short = re.sub(r"^(广安区|区)", "", dept)
        full = next((v for k, v in DEPARTMENTS.items() if k in short), short)
        members = [(name, main)]
        if item_type == "行政许可" and not SITUATION_WORD.search(name) and rng.random() < 0.3:
            sits = sorted(rng.sample(SITUATIONS, rng.randint(2, 4)), key=SITUATIONS.index)
            split = [(f"{name}（{s}）", name) for s in sits]
            if not any(key(n) in real for n, _ in split):
                members = split
        items = [
            Item(f"{base}{i + 1:02d}01", base, m, n, item_type, levels, basis, full, short,
                 "即办件" if instant else "承诺件", limit)
            for i, (n, m) in enumerate(members)
        ]  # fmt: skip
        drop_whole, drop_one = rng.random() < 0.04, rng.random() < 0.4
        if drop_whole and bare_count[_bare(name)] == 1:
            withheld += items
            continue
        if len(items) >= 3 and drop_one:
            siblings.append(items.pop(rng.randrange(len(items))))
        catalogue += items
    return catalogue, withheld, siblings


def local_items(catalogue: list[Item]) -> list[Item]:
    """Local self-built items far from every catalogue name."""
    names = [key(it.name) for it in catalogue]
    out = []
    for i, name in enumerate(LOCAL_NAMES):
        best = process.extractOne(key(name), names, scorer=fuzz.ratio)
        if best and best[1] < 60 and not any(key(name) in n for n in names):
            levels = ("county", "township", "village") if i % 2 else ("city", "county", "township")
            out.append(Item("", "", name, name, "公共服务", levels, "", "", "", "即办件", 1))
    return out


# --- Noise families ---------------------------------------------------------------------------


def _body(name: str) -> list[int]:
    """Indexes of CJK characters outside every bracket (typos never touch qualifiers)."""
    depth, out = 0, []
    for i, ch in enumerate(name):
        if ch in "（(【[":
            depth += 1
        elif ch in "）)】]":
            depth = max(0, depth - 1)
        elif depth == 0 and "\u4e00" <= ch <= "\u9fff":
            out.append(i)
    return out


def _breaks(name: str) -> list[int]:
    """Where a person would break the cell: before a bracket, after 、/，, else mid-name."""
    points = [i for i in range(1, len(name)) if name[i] in "（(" or name[i - 1] in "、，"]
    return points or ([len(name) // 2] if len(name) >= 10 else [])


def excel_escape(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """OOXML stores CR/LF in cells as ``_x000D_``/``_x000A_``; exporters that read the XML
    without unescaping (old POI, some ETL tools) leave the escape in the text."""
    token = rng.choice(("_x000D_", "_x000D_", "_x000A_", "_x000D__x000A_"))
    at = rng.choice([*_breaks(name), len(name)])
    return name[:at] + token + name[at:]


def html_entity(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Web CMS / 办事指南 pages escape text; copying the page source or a double-escaped API
    field gives ``&nbsp;``, ``&amp;nbsp;`` or numeric entities for 、 and brackets."""
    options = [name + "&nbsp;", name + "&amp;nbsp;", "&nbsp;" + name]
    if "、" in name:
        options.append(name.replace("、", rng.choice(("&#12289;", "&#x3001;"))))
    if "（" in name:
        options.append(name.replace("（", "&#65288;").replace("）", "&#65289;"))
    return rng.choice(options)


def html_tag(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """The item name field of some 事项管理系统 is a rich-text editor (UEditor/KindEditor);
    its export keeps the markup."""
    styled = f'<span style="font-family:宋体;font-size:14px">{name}</span>'
    options = [f"<p>{name}</p>", f"{name}<br/>", f"<p>{name}<br></p>", styled]
    if brk := _breaks(name):
        at = rng.choice(brk)
        options.append(f"{name[:at]}<br>{name[at:]}")
    return rng.choice(options)


def cell_linebreak(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A long name wrapped by hand with Alt+Enter (LF), or copied out of a PDF/Word table
    with its visual line wraps (LF or CRLF)."""
    if not (brk := _breaks(name)):
        return None
    at = rng.choice(brk)
    return name[:at] + rng.choice(("\n", "\n", "\r\n")) + name[at:]


REMARKS = ("（暂停办理）", "（暂不受理）", "（全程网办）", "（最多跑一次）", "（一次都不跑）",
           "（可预约办理）", "【已进驻政务大厅】", "(进驻大厅)", "（跨省通办）", "（全省通办）")  # fmt: skip


def status_remark(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Units annotate the service status of an item in the name cell; the remark is about the
    window, not the item (暂停办理 is a status; 已取消 is excluded: it may mean another item)."""
    return name + rng.choice(REMARKS)


def code_in_name(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Codes copied from the system with the name into one cell: the 基本编码, the
    业务办理项编码 or the unit's 实施编码 (基本编码-区划-000-主体编码-1-00), in front or behind."""
    it = ctx.item
    if not it.base:
        return None
    implementation = f"{it.base}-{ctx.unit.division}-000-11{ctx.unit.division[:6]}MB0123456X-1-00"
    code = rng.choice((it.base, it.base, it.code, implementation))
    forms = (f"{code} {name}", f"{code}{name}", f"【{code}】{name}", f"{name}({code})")
    return rng.choice((*forms, f"{name}（{code}）", f"{name} {code}"))


def truncated(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Legacy tables with a fixed-length name field (varchar(40/50/60) in GBK bytes = 20/25/30
    characters) cut long names; list pages show them with an ellipsis; a byte cut inside a
    UTF-8 character decodes as U+FFFD. Only kept when the prefix names exactly one item."""
    limits = [n for n in (15, 20, 25, 30) if n < len(name) - 1]
    if not limits:
        return None
    prefix = name[: rng.choice(limits)].rstrip()
    pk = key(prefix)
    if sum(k.startswith(pk) for k in ctx.pool_keys) != 1:
        return None
    return prefix + rng.choice(("", "", "…", "...", "\ufffd"))


def key_bounce(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A bouncing key or a double click on the IME candidate commits a character twice."""
    body = [i for i in _body(name) if name[i] not in name[max(0, i - 1) : i] + name[i + 1 : i + 2]]
    if len(_body(name)) < 5 or not body:
        return None
    i = rng.choice(body)
    return name[: i + 1] + name[i:]


def adjacent_swap(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Two neighbouring characters typed in the wrong order (word-by-word IME input)."""
    body = _body(name)
    pairs = [i for i in body if i + 1 in body and name[i] != name[i + 1]]
    if len(body) < 6 or not pairs:
        return None
    i = rng.choice(pairs)
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :]


SHAPE = dict(zip("己已未末戊人入土士干千设审货贷运业施变新延注申料材医生体票准认裁农木水采",
                 "已己末未戍入人士土千干没宙贷货远亚旋恋亲廷汪甲科村区牛休栗淮队栽衣术永釆",
                 strict=True))  # fmt: skip
SHAPE |= dict(zip("环酒广旅社团民老明查理规大天白市街住矿地付决驾计给日",
                  "坏洒厂族杜困氏考朋杳埋视太夭自巿衔往扩她讨快驽汁络曰", strict=True))  # fmt: skip


def shape_alike(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A 形近字 slip from handwriting, stroke input (五笔) or proofreading by eye; the pairs
    are chosen so that none is a homophone (homophones are another set's noise)."""
    body = [i for i in _body(name) if name[i] in SHAPE]
    if len(_body(name)) < 6 or not body:
        return None
    i = rng.choice(body)
    return name[:i] + SHAPE[name[i]] + name[i + 1 :]


KANA = dict(zip("工力口一千二八才", "エカロ—チニハオ", strict=True))


def ocr_kana(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """OCR of scanned paper lists (and Japanese IMEs) return katakana or dashes for
    look-alike characters: 施エ, 人カ资源, 户ロ, 统—, 人オ."""
    spots = [i for i, ch in enumerate(name) if ch in KANA]
    if not spots or len(name) < 5:
        return None
    i = rng.choice(spots)
    return name[:i] + KANA[name[i]] + name[i + 1 :]


_S2T = opencc.OpenCC("s2t")


def trad_mix(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Text copied from a traditional-character document or typed with a traditional IME
    setting leaves one or two characters traditional (許可, 變更, 證)."""
    spots = [i for i, ch in enumerate(name) if _S2T.convert(ch) != ch]
    if not spots:
        return None
    chars = list(name)
    for i in rng.sample(spots, min(len(spots), rng.choice((1, 1, 2)))):
        chars[i] = _S2T.convert(chars[i])
    return "".join(chars)


def _reverse_nfkc(start: int, end: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for cp in range(start, end):
        target = unicodedata.normalize("NFKC", chr(cp))
        if len(target) == 1 and target != chr(cp) and "\u4e00" <= target <= "\u9fff":
            out.setdefault(target, chr(cp))
    return out


COMPAT = _reverse_nfkc(0xF900, 0xFB00)
KANGXI = _reverse_nfkc(0x2F00, 0x2FD6)


def _replace_some(name: str, rng: random.Random, table: dict[str, str], most: int) -> str | None:
    spots = [i for i, ch in enumerate(name) if ch in table]
    if not spots:
        return None
    chars = list(name)
    for i in rng.sample(spots, min(len(spots), rng.randint(1, most))):
        chars[i] = table[chars[i]]
    return "".join(chars)


def compat_ideograph(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """PDF text layers, Korean HWP conversions and some legacy fonts emit CJK Compatibility
    Ideographs (U+F900…) such as 更/更 and 理/理; they look identical; NFKC maps them back."""
    return _replace_some(name, rng, COMPAT, 2)


def kangxi_radical(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Copying text out of PDFs often yields Kangxi radicals (U+2F00…) for simple characters
    such as ⼯, ⼈, ⽣, ⽤, ⾏; they look identical; NFKC maps them back."""
    return _replace_some(name, rng, KANGXI, 3)


def text_guard(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Excel text guards leaking into values: the ``'`` prefix of a text cell copied through
    a CSV round trip, or the ``="…"`` wrapper systems add so Excel does not convert cells."""
    return rng.choice((f"'{name}", f"'{name}", f'="{name}"'))


def tree_path(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """The catalogue tree (主项 → 业务办理项) exported as one path string."""
    main = ctx.item.main
    if main == name or not main:
        return None
    sep = rng.choice(("/", "/", " > ", "→", "\\", "-"))
    return f"{main}{sep}{name}"


def repeated_text(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Pasting into a cell that already held the name (F2 then Ctrl+V), or a script that
    appends the situation to a name that already ends with it."""
    options = [name + name, f"{name} {name}"]
    if m := SITUATION_TAIL.match(name):
        options.append(f"{name}（{m.group(2)}）")
    return rng.choice(options)


def dept_suffix(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Units that merge the lists of several departments tag each item with the department's
    local abbreviation at the end."""
    short = ctx.item.short_dept or rng.choice(("民政局", "乡村振兴局", "农业农村局"))
    abbr = rng.choice((short, short.removesuffix("局"), "县" + short))
    return rng.choice((f"{name}（{abbr}）", f"{name}-{abbr}", f"{name}【{abbr}】", f"{name}_{abbr}"))  # fmt: skip


def enum_comma(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """The enumeration comma 、 has no key on a US keyboard layout: people type ，, , or /; a
    few lists use 、 where the catalogue has ，."""
    if "、" in name:
        return name.replace("、", rng.choice(("，", ",", "/", "，")))
    if "，" in name:
        return name.replace("，", "、")
    return None


def pinyin_residue(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A pinyin IME session committed the raw letters as well as the character (Enter pressed
    mid-composition), leaving e.g. 经营xu许可 or 登deng记."""
    body = _body(name)
    if len(body) < 5:
        return None
    i = rng.choice(body[1:])
    letters = lazy_pinyin(name[i])[0]
    if not letters.isascii() or not letters.isalpha():
        return None
    if rng.random() < 0.7:
        return name[:i] + letters[: rng.randint(1, len(letters))] + name[i:]
    return name[: i + 1] + letters + name[i + 1 :]


def replacement_char(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A lossy conversion (UTF-8 → GBK with errors='replace', a font without the glyph, a
    broken UTF-8 byte) replaced one character by ?, U+FFFD or a box."""
    body = _body(name)
    if len(body) < 7:
        return None
    i = rng.choice(body)
    return name[:i] + rng.choice(("?", "\ufffd", "□", "?")) + name[i + 1 :]


def situation_joined(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Systems that build names from 子项 + 情形 fields join them with a separator instead of
    brackets: 食品经营许可_变更, 食品经营许可-注销."""
    if not (m := SITUATION_TAIL.match(name)):
        return None
    stem, sit = m.groups()
    if key(stem + sit) in ctx.catalogue_keys:  # the bracket-less name is another item
        return None
    return f"{stem}{rng.choice(('_', '-', '—', '：', '·', '--'))}{sit}"


def bracket_order(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Two trailing qualifiers typed in the other order: X（含中外合资）（变更） as X（变更）（含中外合资）."""
    m = re.match(r"^(.+?)([（(][^（）()]*[）)])([（(][^（）()]*[）)])$", name)
    if not m or BRACKET_GROUP.fullmatch(m.group(1)):
        return None
    return m.group(1) + m.group(3) + m.group(2)


def field_label(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """Copying from a 办事指南 detail page takes the field label along with the value."""
    label = rng.choice(("事项名称：", "事项名称:", "名称：", "业务办理项名称：", "【事项名称】"))
    return label + name


def column_spill(name: str, rng: random.Random, ctx: Ctx) -> str | None:
    """A whole table row pasted from Word/PDF into one cell brings the next column along."""
    it = ctx.item
    return rng.choice((f"{name}|{it.type}", f"{name}；{it.type}", f"{name}/{it.limit}个工作日"))


Family = Callable[[str, random.Random, Ctx], str | None]
FAMILIES: dict[str, Family] = {
    f.__name__: f
    for f in (
        excel_escape, html_entity, html_tag, cell_linebreak, status_remark, code_in_name,
        truncated, key_bounce, adjacent_swap, shape_alike, ocr_kana, trad_mix,
        compat_ideograph, kangxi_radical, text_guard, tree_path, repeated_text, dept_suffix,
        enum_comma, pinyin_residue, replacement_char, situation_joined, bracket_order,
        field_label, column_spill,
    )
}  # fmt: skip


# --- Units and files --------------------------------------------------------------------------

CITIES = ("青岚市", "河曲市", "祁川市", "定澜市")
COUNTIES = ("云岭县", "石泉县", "柳溪区", "北塬县", "黄羊川县", "松林县", "临渠县", "东坪区")
COUNTIES += ("白崖县", "西谷县")
TOWNS = ("白杨镇", "清水乡", "东关街道", "红山镇", "马营乡", "沙河镇", "南湖街道", "杏园乡")
TOWNS += ("牛家坪镇", "高桥镇", "大柳树乡", "新城街道", "石门镇", "榆中乡", "水泉镇", "三岔镇")
VILLAGES = ("马家村", "红柳村", "新庄社区", "上寨村", "刘家湾村", "草滩村", "沟门村", "杨树村")
VILLAGES += ("前进社区", "双泉村", "何家庄村", "李家堡村", "柳林村", "中川社区")


def build_units(rng: random.Random) -> list[Unit]:
    def fmt() -> str:
        return rng.choices(("utf-8", "utf-8-sig", "gb18030", "xlsx"), (0.35, 0.3, 0.25, 0.1))[0]

    units = [
        Unit("province", "620000000000", "甘肃省政务服务中心", fmt()),
        Unit("province", "620000000000", "甘肃省行政审批服务局", fmt()),
    ]
    cities = [f"62{71 + i}00000000" for i in range(len(CITIES))]
    units += [Unit("city", c, f"{n}行政审批服务局", fmt()) for c, n in zip(cities, CITIES, strict=True)]  # fmt: skip
    # 3, 3, 2 and 2 counties per city
    counties = [cities[i // 3 if i < 6 else 2 + (i - 6) // 2][:4] + f"{21 + i:02d}000000" for i in range(10)]  # fmt: skip
    units += [Unit("county", c, f"{n}行政审批局", fmt()) for c, n in zip(counties, COUNTIES, strict=True)]  # fmt: skip
    towns = [counties[i % 10][:6] + f"{101 + i // 10:03d}000" for i in range(len(TOWNS))]
    units += [
        Unit("township", t, f"{COUNTIES[i % 10]}{n}便民服务中心", fmt())
        for i, (t, n) in enumerate(zip(towns, TOWNS, strict=True))
    ]
    units += [
        Unit("village", towns[i][:9] + f"{201 + i:03d}", f"{TOWNS[i]}{n}便民服务站", fmt())
        for i, n in enumerate(VILLAGES)
    ]
    return units


def _claimed(it: Item, positive: bool, unit: Unit, rng: random.Random) -> tuple[str, str]:
    """The 基本编码 a unit writes: mostly the item's own, sometimes none or a malformed one;
    local items sometimes carry a local self-built code."""
    r = rng.random()
    if not it.base:
        return (f"{unit.division[:6]}ZJ{rng.randint(1, 999):03d}", "local") if r < 0.4 else ("", "empty")  # fmt: skip
    if r < (0.25 if positive else 0.4):
        return "", "empty"
    if positive and r > 0.96:
        return rng.choice((it.base[:-2], it.base.replace("0", "O", 1))), "malformed"
    return it.base, "own"


def _write(path: Path, rows: list[list[str]], header: list[str], fmt: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        wb = Workbook()
        ws = wb.active
        for r in [header, *rows]:
            ws.append(r)
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula (="…" names)
        wb.save(path)
        return
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows([header, *rows])
    try:
        path.write_bytes(buf.getvalue().encode(fmt))
    except UnicodeEncodeError:
        path.write_bytes(buf.getvalue().encode("utf-8-sig"))


class _Noiser:
    """Applies the least-used family that fits and keeps the result only when a careful human
    would still read the name as its own item."""

    def __init__(self, catalogue_keys: frozenset[str], pool_keys: list[str]) -> None:
        self.catalogue_keys, self.pool_keys = catalogue_keys, pool_keys
        self.pool_set = frozenset(pool_keys)
        self.counts: dict[bool, Counter[str]] = {True: Counter(), False: Counter()}

    def _acceptable(self, out: str, own: str, family: str, positive: bool) -> bool:
        k = key(out)
        if not k or out != out.strip() or (k != own and k in self.pool_set):
            return False
        if not positive and k in self.catalogue_keys:
            return False
        if family in ("truncated", "bracket_order"):  # prefix rule inside; same characters
            return True
        d_own = Levenshtein.distance(k, own)
        near = process.extract(k, self.pool_keys, scorer=Levenshtein.distance, limit=3)
        return all(d_own < d for choice, d, _ in near if choice != own)

    def apply(self, it: Item, unit: Unit, positive: bool, rng: random.Random) -> tuple[str, str]:
        ctx = Ctx(it, unit, self.catalogue_keys, self.pool_keys)
        counts = self.counts[positive]
        for family in sorted(FAMILIES, key=lambda f: (counts[f], rng.random())):
            out = FAMILIES[family](it.name, rng, ctx)
            if out is None or out == it.name:
                continue
            if unit.fmt == "xlsx":  # Excel keeps line breaks as LF only
                out = out.replace("\r\n", "\n")
            if self._acceptable(out, key(it.name), family, positive):
                counts[family] += 1
                return out, family
        return it.name, "exact"


def generate_province(out_dir: Path, *, seed: int = 1, rows: int = 7000) -> dict:
    """Write the catalogue, the unit lists and truth.csv under ``out_dir``; return a summary.

    ``rows`` is a target: a unit never lists an item twice, so very large targets are capped
    by the number of items each level may exercise (~24,000 rows at most)."""
    rng = random.Random(seed)
    catalogue, withheld, siblings = build_catalogue(rng)
    local = local_items(catalogue)
    catalogue_keys = frozenset(key(it.name) for it in catalogue)
    pool = list(dict.fromkeys(key(it.name) for it in [*catalogue, *withheld, *siblings, *local]))
    noiser = _Noiser(catalogue_keys, pool)
    for folder in ("catalogue", *LEVELS):  # a previous run's files would be read as data
        shutil.rmtree(out_dir / folder, ignore_errors=True)
    _write(
        out_dir / "catalogue" / "catalogue.csv",
        [
            [it.code, it.base, it.main, it.name, it.type, "、".join(LEVEL_LABEL[lv] for lv in it.levels),
             it.basis, it.dept, it.handling, str(it.limit)]
            for it in catalogue
        ],
        CAT_HEADER,
        "utf-8-sig",
    )  # fmt: skip
    units = build_units(rng)
    per_level = Counter(u.level for u in units)
    truth: list[list[str]] = []
    families: Counter[str] = Counter()
    for unit in units:
        target = round(rows * LEVEL_SHARE[unit.level] / per_level[unit.level])
        allowed = [it for it in catalogue if unit.level in it.levels]
        missing = [it for it in withheld + siblings if unit.level in it.levels]
        n_neg = round(target * 0.15)
        from_missing = min(len(missing), round(n_neg * 0.65))
        locals_here = [it for it in local if unit.level in it.levels]
        negatives = rng.sample(missing, from_missing)
        negatives += rng.sample(locals_here, min(len(locals_here), n_neg - from_missing))
        n_pos = min(len(allowed), target - len(negatives))
        entries = [(it, True) for it in rng.sample(allowed, n_pos)] + [
            (it, False) for it in negatives
        ]
        rng.shuffle(entries)
        table: list[list[str]] = []
        for row_no, (it, positive) in enumerate(entries, start=1):
            name, variation = it.name, "exact"
            if rng.random() < (0.53 if positive else 0.3):
                name, variation = noiser.apply(it, unit, positive, rng)
            families[variation if positive else f"negative:{variation}"] += 1
            claimed, claimed_kind = _claimed(it, positive, unit, rng)
            promised = it.limit if it.limit == 1 else rng.randint(max(1, it.limit // 3), it.limit)
            basis = it.basis if rng.random() < 0.6 else ""
            visits = rng.choice(("0", "1", "1", "2"))
            table.append([unit.division, unit.agency, name, claimed, it.type, basis, it.handling,
                          str(it.limit), str(promised), visits])  # fmt: skip
            truth.append([unit.path, str(row_no), unit.level, unit.division, name,
                          it.code if positive else "", it.base if positive else "", variation,
                          "true" if positive else "false", claimed_kind, "", "false"])  # fmt: skip
        _write(out_dir / unit.path, table, HEADER, unit.fmt)
    with (out_dir / "truth.csv").open("w", encoding="utf-8", newline="") as f:
        csv.writer(f).writerows([TRUTH_HEADER, *truth])
    return {
        "rows": len(truth),
        "units": len(units),
        "catalogue_items": len(catalogue),
        "withheld_items": len(withheld),
        "withheld_siblings": len(siblings),
        "local_items": len(local),
        "families": dict(sorted(families.items(), key=lambda kv: (-kv[1], kv[0]))),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rows", type=int, default=7000)
    args = parser.parse_args(argv)
    summary = generate_province(args.out, seed=args.seed, rows=args.rows)
    for k, v in summary.items():
        if k != "families":
            print(f"{k}: {v}")
    for family, n in summary["families"].items():
        print(f"{n:6d}  {family}")


if __name__ == "__main__":
    main()

"""Synthetic provinces built from real item names, with ground truth.

A development tool (see :mod:`dev`): it makes the demo province in ``data/sample/``
(``scripts/make_sample.py``), the tests' provinces and ``bench/``'s. It reads the real
county-level item list of 广安区 (``data/reference/guangan_items.csv``, 1,135 rows) and builds

* a **general catalogue** (one row per 业务办理项): every real item with its county level
  qualifier removed and brackets made full-width, plus a share of 行政许可 items split into
  business-handling siblings by situation (``X（新办）``, ``X（变更）``, ``X（延续）``,
  ``X（注销）``, ``X（补办）``; same 基本编码, serial 01..05). About 4 % of the real items and some
  single siblings are **withheld**: they exist in the unit lists but not in the catalogue.
* **implementation lists** for the five levels (province, city, county, township, village) under
  province 51, each unit listing items its level may exercise (by 行使层级).
* ``truth.csv``: for every row of every well-formed unit file, the business item it really refers
  to and how its name was varied.

Variation classes (column ``variation`` of ``truth.csv``)
---------------------------------------------------------
Positives (the item is in the catalogue, ``expected_in_catalogue`` = true):

``exact``               the catalogue name unchanged.
``level_qualifier``     a level qualifier appended or put before the situation bracket:
                        （县级） (县级) （县级权限） （县级行使） （市级） （设区的市级权限）
                        （镇） …
``halfwidth_brackets``  full-width （） written as half-width ().
``traditional``         the whole name converted to traditional characters (OpenCC s2t).
``duiDe_frame``         ``X审批`` → ``对X的审批`` (also 许可, 核准, 认定, 确认, 备案, 登记, 核发 …).
``dept_prefix``         a department or level prefix: ``区行政审批局X``, ``县级X``, ``省人社厅X`` …
``situation_synonym``   the situation word replaced by a synonym: 补办→补发/遗失补办,
                        新办→新设/首次申请, 延续→换证/到期换证, 注销→注销申请 …
``homophone``           one character replaced by another with the same pinyin (and tone) taken
                        from other catalogue names (an input-method typo).
``reorder``             verb moved to the front: 建设工程规划许可证核发 → 核发建设工程规划许可证.
``abbreviation``        社会保险→社保, (基本)医疗保险→医保, 住房公积金→公积金, 最低生活保障→低保 …
``verb_synonym``        核发→颁发, 审批→审核, 备案→报备, 认定→确认 …
``dropped_connector``   one of 的/和/及/与/、 dropped.
``inserted_object``     a word (企业/单位/个人/申请) inserted before the final verb.
``space_noise``         stray ASCII or full-width spaces.

Negatives (``expected_in_catalogue`` = false, no expected code):

``withheld_item``       the name of a real item withheld from the catalogue.
``withheld_sibling``    a situation sibling missing from the catalogue while its siblings are
                        there (catalogue has X（变更） and X（注销）, the unit lists X（补办）).
``local_item``          a self-built local item (``XX镇老年人助餐服务登记``,
                        ``村级便民代办服务`` …).
``empty_name``          (demo only, ``broken_row`` = true) a row whose 事项名称 is empty.

Besides the name, ``truth.csv`` records the kind of 基本编码 the unit claimed (``own``, ``empty``,
``sibling``: the code of a related item, ``malformed``, ``local``: a self-made code) and
``qc_flags`` for the element disagreements planted for quality checks:
``handling_type_invalid``, ``visits_invalid`` and ``legal_basis_differs`` (QC-009, QC-010,
QC-008), ``type_mismatch`` (事项类型 differs from the catalogue), ``promise_exceeds_legal`` (承诺 >
法定), ``instant_with_limit`` (即办件 with a 法定办结时限 > 1), ``duplicate`` (the same item again in one
unit), ``level_not_allowed`` (the unit's level is not in the item's 行使层级), ``misfiled_level`` (a
township row in a county file), ``bad_division_code`` and ``empty_name`` (rows the pipeline must
reject; ``broken_row`` = true).

With ``broken_files=True`` the province also gets whole files that cannot be read (undecodable
bytes, a missing 行政区划代码 column, a 0-byte file, a header-only file, a corrupt .xlsx). Their
rows are not in ``truth.csv``; they are listed in ``broken_files.csv``.

Everything is driven by ``random.Random(seed)`` / ``numpy.random.default_rng(seed)``: the same
seed gives byte-identical CSV files (xlsx files carry a timestamp).

Modules
-------
``vocabulary``  the variation classes and the words they use (qualifiers, situations, verbs,
                abbreviations …), and why they are the generator's own, not the matcher's
``variants``    every variant of every catalogue name, per level, kept when it names no other item
``agencies``    item types, departments and legal bases
``catalogue``   the general catalogue and the withheld items, built from the reference list
``units``       the units of the five levels: how many, their places, agencies and files
``rows``        the rows of one level: items, variations, elements, claimed codes, negatives
``files``       writing lists and tables in their encodings; the broken files
``province``    :func:`generate_province`, which puts them together
"""

from __future__ import annotations

from dev.synth.agencies import TYPE_BY_CODE
from dev.synth.catalogue import (
    CATALOGUE_HEADERS,
    DEFAULT_REFERENCE,
    USE_LEVEL_LABELS,
    build_catalogue,
)
from dev.synth.files import LIST_HEADERS, TRUTH_COLUMNS
from dev.synth.province import generate_province
from dev.synth.vocabulary import (
    ALL_VARIATIONS,
    NEGATIVE_VARIATIONS,
    SITUATIONS,
    VARIATIONS,
    clean_name,
    name_key,
)

__all__ = [
    "ALL_VARIATIONS",
    "CATALOGUE_HEADERS",
    "DEFAULT_REFERENCE",
    "LIST_HEADERS",
    "NEGATIVE_VARIATIONS",
    "SITUATIONS",
    "TRUTH_COLUMNS",
    "TYPE_BY_CODE",
    "USE_LEVEL_LABELS",
    "VARIATIONS",
    "build_catalogue",
    "clean_name",
    "generate_province",
    "name_key",
]

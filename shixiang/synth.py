"""Synthetic provinces built from real item names, with ground truth.

The generator reads the real county-level item list of 广安区 (``data/reference/guangan_items.csv``,
1,135 rows) and builds

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

Besides the name, ``truth.csv`` records the kind of 基本编码 the unit claimed (``own``,
``empty``, ``sibling``: the code of a related item, ``malformed``, ``local``: a self-made code) and
``qc_flags``
for the element disagreements planted for quality checks: ``handling_type_invalid``,
``visits_invalid`` and ``legal_basis_differs`` (QC-009, QC-010, QC-008), ``type_mismatch`` (事项类型 differs from
the catalogue), ``promise_exceeds_legal`` (承诺 > 法定), ``instant_with_limit`` (即办件 with a
法定办结时限 > 1), ``duplicate`` (the same item again in one unit), ``level_not_allowed`` (the
unit's level is not in the item's 行使层级), ``misfiled_level`` (a township row in a county file),
``bad_division_code`` and ``empty_name`` (rows the pipeline must reject; ``broken_row`` = true).

With ``broken_files=True`` the province also gets whole files that cannot be read (undecodable
bytes, a missing 行政区划代码 column, a 0-byte file, a header-only file, a corrupt .xlsx). Their
rows are not in ``truth.csv``; they are listed in ``broken_files.csv``.

Everything is driven by ``random.Random(seed)`` / ``numpy.random.default_rng(seed)``: the same
seed gives byte-identical CSV files (xlsx files carry a timestamp).
"""

from __future__ import annotations

import csv
import math
import random
import re
import time
import unicodedata
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from shixiang.config import CATALOGUE_FOLDER, ITEM_TYPES, LEVELS
from shixiang.schema import CATALOGUE_COLUMNS, ITEM_COLUMNS

DEFAULT_REFERENCE = Path(__file__).resolve().parents[1] / "data" / "reference" / "guangan_items.csv"

CATALOGUE_HEADERS: tuple[str, ...] = tuple(c.header for c in CATALOGUE_COLUMNS)
LIST_HEADERS: tuple[str, ...] = tuple(c.header for c in ITEM_COLUMNS)
TRUTH_COLUMNS: tuple[str, ...] = (
    "source_file",
    "source_row",
    "level",
    "division_code",
    "item_name",
    "expected_business_code",
    "expected_base_code",
    "variation",
    "expected_in_catalogue",
    "claimed_code_kind",
    "qc_flags",
    "broken_row",
)

VARIATIONS: tuple[str, ...] = (
    "exact",
    "level_qualifier",
    "halfwidth_brackets",
    "traditional",
    "duiDe_frame",
    "dept_prefix",
    "situation_synonym",
    "homophone",
    "reorder",
    "abbreviation",
    "verb_synonym",
    "dropped_connector",
    "inserted_object",
    "space_noise",
)
NEGATIVE_VARIATIONS: tuple[str, ...] = ("withheld_item", "withheld_sibling", "local_item")
ALL_VARIATIONS: tuple[str, ...] = VARIATIONS + NEGATIVE_VARIATIONS

# Target share of each positive class among rows (before applicability is taken into account).
_CLASS_WEIGHTS: dict[str, float] = {
    "exact": 0.5,
    "level_qualifier": 0.05,
    "halfwidth_brackets": 0.025,
    "traditional": 0.025,
    "duiDe_frame": 0.025,
    "dept_prefix": 0.03,
    "situation_synonym": 0.025,
    "homophone": 0.03,
    "reorder": 0.025,
    "abbreviation": 0.015,
    "verb_synonym": 0.03,
    "dropped_connector": 0.025,
    "inserted_object": 0.025,
    "space_noise": 0.03,
}
# Share of negative rows per level: (withheld_item, withheld_sibling, local_item).
_NEGATIVE_SHARES: dict[str, tuple[float, float, float]] = {
    "province": (0.03, 0.015, 0.004),
    "city": (0.035, 0.02, 0.01),
    "county": (0.035, 0.02, 0.02),
    "township": (0.03, 0.012, 0.06),
    "village": (0.03, 0.0, 0.10),
}

TYPE_BY_CODE: dict[str, str] = {
    "1": "行政许可",
    "5": "行政给付",
    "7": "行政确认",
    "8": "行政奖励",
    "9": "行政裁决",
    "10": "其他行政权力",
    "20": "公共服务",
}
_TYPE_LETTER = {
    "行政许可": "A",
    "行政确认": "F",
    "行政给付": "G",
    "行政裁决": "E",
    "行政奖励": "H",
    "其他行政权力": "Z",
    "公共服务": "B",
}
USE_LEVEL_LABELS: dict[str, str] = {
    "province": "省级",
    "city": "市级",
    "county": "县级",
    "township": "镇（乡、街道）级",
    "village": "村（社区）级",
}
_BIT = {lv: 1 << i for i, lv in enumerate(LEVELS)}
SITUATIONS: tuple[str, ...] = ("新办", "变更", "延续", "注销", "补办")

# --- Departments -----------------------------------------------------------------------------
# key → (province agency, city agency template, county agency template, short form without the
# level character). Templates use {city} and {county}.
_DEPTS: dict[str, tuple[str, str, str, str]] = {
    "审批": (
        "四川省政务服务和公共资源交易服务中心",
        "{city}行政审批局",
        "{city}{county}行政审批局",
        "行政审批局",
    ),
    "人社": (
        "四川省人力资源和社会保障厅",
        "{city}人力资源和社会保障局",
        "{city}{county}人力资源和社会保障局",
        "人社局",
    ),
    "交通": ("四川省交通运输厅", "{city}交通运输局", "{city}{county}交通运输局", "交通运输局"),
    "税务": (
        "国家税务总局四川省税务局",
        "国家税务总局{city}税务局",
        "国家税务总局{city}{county}税务局",
        "税务局",
    ),
    "住建": (
        "四川省住房和城乡建设厅",
        "{city}住房和城乡建设局",
        "{city}{county}住房和城乡建设局",
        "住建局",
    ),
    "自然资源": (
        "四川省自然资源厅",
        "{city}自然资源和规划局",
        "{city}{county}自然资源和规划局",
        "自然资源和规划局",
    ),
    "公安": ("四川省公安厅", "{city}公安局", "{city}公安局{county}分局", "公安局"),
    "医保": ("四川省医疗保障局", "{city}医疗保障局", "{city}{county}医疗保障局", "医疗保障局"),
    "文旅": (
        "四川省文化和旅游厅",
        "{city}文化广播电视和旅游局",
        "{city}{county}文化广播电视和旅游局",
        "文广旅局",
    ),
    "教育": ("四川省教育厅", "{city}教育和体育局", "{city}{county}教育科技和体育局", "教科体局"),
    "农业": ("四川省农业农村厅", "{city}农业农村局", "{city}{county}农业农村局", "农业农村局"),
    "司法": ("四川省司法厅", "{city}司法局", "{city}{county}司法局", "司法局"),
    "卫健": ("四川省卫生健康委员会", "{city}卫生健康委员会", "{city}{county}卫生健康局", "卫健局"),
    "民政": ("四川省民政厅", "{city}民政局", "{city}{county}民政局", "民政局"),
    "市监": (
        "四川省市场监督管理局",
        "{city}市场监督管理局",
        "{city}{county}市场监督管理局",
        "市监局",
    ),
    "林业": ("四川省林业和草原局", "{city}林业局", "{city}{county}林业局", "林业局"),
    "生态": ("四川省生态环境厅", "{city}生态环境局", "{city}{county}生态环境局", "生态环境局"),
    "残联": ("四川省残疾人联合会", "{city}残疾人联合会", "{city}{county}残疾人联合会", "残联"),
    "水务": ("四川省水利厅", "{city}水利局", "{city}{county}水务局", "水务局"),
    "应急": ("四川省应急管理厅", "{city}应急管理局", "{city}{county}应急管理局", "应急管理局"),
    "政府办": (
        "四川省人民政府办公厅",
        "{city}人民政府办公室",
        "{city}{county}人民政府办公室",
        "政府办",
    ),
    "烟草": ("四川省烟草专卖局", "{city}烟草专卖局", "{city}{county}烟草专卖局", "烟草专卖局"),
    "气象": ("四川省气象局", "{city}气象局", "{city}{county}气象局", "气象局"),
    "退役": (
        "四川省退役军人事务厅",
        "{city}退役军人事务局",
        "{city}{county}退役军人事务局",
        "退役军人事务局",
    ),
    "财政": ("四川省财政厅", "{city}财政局", "{city}{county}财政局", "财政局"),
    "委办": ("中共四川省委办公厅", "中共{city}委办公室", "中共{city}{county}委办公室", "委办"),
    "执法": (
        "四川省住房和城乡建设厅",
        "{city}综合行政执法局",
        "{city}{county}综合行政执法局",
        "综合执法局",
    ),
    "发改": (
        "四川省发展和改革委员会",
        "{city}发展和改革委员会",
        "{city}{county}发展和改革局",
        "发改局",
    ),
    "公管": (
        "四川省公共资源交易服务中心",
        "{city}公共资源交易服务中心",
        "{city}{county}公共资源交易服务中心",
        "公管办",
    ),
    "商务": ("四川省商务厅", "{city}商务局", "{city}{county}商务局", "商务局"),
    "统战": ("中共四川省委统战部", "中共{city}委统战部", "中共{city}{county}委统战部", "委统战部"),
    "经信": (
        "四川省经济和信息化厅",
        "{city}经济和信息化局",
        "{city}{county}经济和信息化局",
        "经信局",
    ),
    "消防": ("四川省消防救援总队", "{city}消防救援支队", "{city}{county}消防救援大队", "消防大队"),
    "统计": ("四川省统计局", "{city}统计局", "{city}{county}统计局", "统计局"),
}
_DEPT_BY_REFERENCE: dict[str, str] = {
    "区行政审批局": "审批",
    "区人社局": "人社",
    "区交通运输局": "交通",
    "广安区税务局": "税务",
    "区住建局": "住建",
    "区自然资源和规划局": "自然资源",
    "区公安分局": "公安",
    "区医疗保障局": "医保",
    "区文广旅局": "文旅",
    "区教科体局": "教育",
    "区农业农村局": "农业",
    "区司法局": "司法",
    "区卫健局": "卫健",
    "区民政局": "民政",
    "区市监局": "市监",
    "区林业局": "林业",
    "区生态环境局": "生态",
    "区残联": "残联",
    "区水务局": "水务",
    "区应急管理局": "应急",
    "区政府办": "政府办",
    "区烟草专卖局": "烟草",
    "区气象局": "气象",
    "区退役军人事务局": "退役",
    "区财政局": "财政",
    "区委办": "委办",
    "区综合执法局": "执法",
    "区发改局": "发改",
    "区公管办": "公管",
    "区商务局": "商务",
    "区委统战部": "统战",
    "区经信局": "经信",
    "区消防大队": "消防",
    "区统计局": "统计",
}
# Line department of an item handled by a 行政审批局, guessed from keywords of its name.
_LINE_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("食品|药品|医疗器械|营业执照|企业|公司|个体工商户|合作社|特种设备|计量|广告", "市监"),
    ("道路|运输|出租|客运|货运|驾驶|公路|航道|船舶|水路|驾培|机动车维修", "交通"),
    ("建设工程|建筑|房地产|燃气|施工|商品房|城市|绿地|园林|市政|物业|供水|排水|桥梁", "住建"),
    ("医疗|医师|护士|卫生|母婴|诊所|放射|职业病|消毒", "卫健"),
    ("学校|教育|教师|幼儿园|培训机构", "教育"),
    ("演出|娱乐|互联网上网|出版|文物|旅行社|广播|电视|艺术|印刷", "文旅"),
    ("农药|兽药|种子|动物|渔业|拖拉机|收割机|农业|蚕种|饲料|生猪|屠宰|农作物", "农业"),
    ("林木|林草|采伐|森林|野生|木材|植物检疫|林地", "林业"),
    ("取水|水利|河道|水土保持|水库|防洪|采砂", "水务"),
    ("危险废物|排污|环境|辐射", "生态"),
    ("危险化学品|烟花爆竹|安全生产|矿山", "应急"),
    ("民办非企业|社会团体|殡葬|养老|婚姻|慈善", "民政"),
    ("律师|公证|法律|司法鉴定", "司法"),
    ("采矿|土地|规划|测绘|不动产|用地", "自然资源"),
    ("人力资源|劳务派遣|职业培训|技工", "人社"),
    ("气象|雷电|防雷", "气象"),
    ("粮食|价格", "发改"),
    ("拍卖|成品油|商务", "商务"),
)

# 设定依据: keyword → citation (plausible, synthetic article numbers), then fallbacks by type.
_BASIS_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("食品", "《中华人民共和国食品安全法》第三十五条"),
    ("药品", "《中华人民共和国药品管理法》第五十一条"),
    ("医疗器械", "《医疗器械监督管理条例》第三十条"),
    ("特种设备", "《中华人民共和国特种设备安全法》第三十三条"),
    ("企业|公司|个体工商户|合作社|营业执照", "《中华人民共和国市场主体登记管理条例》第三条"),
    ("道路|客运|货运|出租汽车|机动车维修", "《中华人民共和国道路运输条例》第十条"),
    ("公路", "《中华人民共和国公路法》第四十五条"),
    ("船舶|航道|水路", "《国内水路运输管理条例》第八条"),
    ("建设工程|施工|建筑", "《中华人民共和国建筑法》第八条"),
    ("规划", "《中华人民共和国城乡规划法》第四十条"),
    ("燃气", "《城镇燃气管理条例》第十五条"),
    ("商品房|房地产", "《中华人民共和国城市房地产管理法》第四十五条"),
    ("医疗机构", "《医疗机构管理条例》第九条"),
    ("医师", "《中华人民共和国医师法》第十三条"),
    ("护士", "《护士条例》第七条"),
    ("母婴", "《中华人民共和国母婴保健法》第三十二条"),
    ("公共场所", "《公共场所卫生管理条例》第八条"),
    ("教师", "《中华人民共和国教师法》第十三条"),
    ("学校|教育|幼儿园|学生", "《中华人民共和国教育法》第二十八条"),
    ("演出", "《营业性演出管理条例》第六条"),
    ("娱乐场所", "《娱乐场所管理条例》第九条"),
    ("互联网上网", "《互联网上网服务营业场所管理条例》第十条"),
    ("出版物", "《出版管理条例》第三十七条"),
    ("文物", "《中华人民共和国文物保护法》第二十二条"),
    ("农药", "《农药管理条例》第二十五条"),
    ("兽药", "《兽药管理条例》第二十二条"),
    ("种子|蚕种", "《中华人民共和国种子法》第三十一条"),
    ("动物", "《中华人民共和国动物防疫法》第二十四条"),
    ("拖拉机|收割机", "《农业机械安全监督管理条例》第二十二条"),
    ("林木|采伐", "《中华人民共和国森林法》第五十六条"),
    ("植物检疫", "《植物检疫条例》第七条"),
    ("野生", "《中华人民共和国野生动物保护法》第二十八条"),
    ("取水", "《取水许可和水资源费征收管理条例》第二条"),
    ("河道", "《中华人民共和国河道管理条例》第十一条"),
    ("水土保持", "《中华人民共和国水土保持法》第二十五条"),
    ("危险废物", "《中华人民共和国固体废物污染环境防治法》第八十条"),
    ("排污", "《排污许可管理条例》第二条"),
    ("危险化学品", "《危险化学品安全管理条例》第六条"),
    ("烟花爆竹", "《烟花爆竹安全管理条例》第十九条"),
    ("社会保险|参保|养老保险|工伤|失业", "《中华人民共和国社会保险法》第五十八条"),
    ("就业|创业", "《中华人民共和国就业促进法》第五十五条"),
    ("劳务派遣", "《中华人民共和国劳动合同法》第五十七条"),
    ("医疗保障|医保|医疗保险", "《医疗保障基金使用监督管理条例》第十二条"),
    ("户口|户籍", "《中华人民共和国户口登记条例》第三条"),
    ("身份证", "《中华人民共和国居民身份证法》第八条"),
    ("税|发票", "《中华人民共和国税收征收管理法》第十五条"),
    ("律师", "《中华人民共和国律师法》第五条"),
    ("公证", "《中华人民共和国公证法》第十八条"),
    ("法律援助", "《中华人民共和国法律援助法》第三十八条"),
    ("最低生活保障|低保|救助|特困", "《社会救助暂行办法》第十一条"),
    ("社会团体", "《社会团体登记管理条例》第九条"),
    ("民办非企业", "《民办非企业单位登记管理暂行条例》第八条"),
    ("婚姻|结婚|离婚", "《婚姻登记条例》第四条"),
    ("殡葬|公墓", "《殡葬管理条例》第八条"),
    ("残疾", "《中华人民共和国残疾人保障法》第十五条"),
    ("退役|优抚|烈士", "《军人抚恤优待条例》第八条"),
    ("气象|雷电|防雷", "《气象灾害防御条例》第二十三条"),
    ("烟草", "《中华人民共和国烟草专卖法》第十六条"),
    ("采矿|矿产", "《中华人民共和国矿产资源法》第三条"),
    ("不动产", "《不动产登记暂行条例》第三条"),
    ("土地|用地", "《中华人民共和国土地管理法》第四十四条"),
    ("测绘", "《中华人民共和国测绘法》第二十七条"),
    ("消防", "《中华人民共和国消防法》第十一条"),
)
_BASIS_BY_TYPE: dict[str, str] = {
    "行政许可": "《中华人民共和国行政许可法》第十二条",
    "公共服务": "《优化营商环境条例》第三十五条",
}
_BASIS_DEFAULT = (
    "《国务院关于加快推进全国一体化在线政务服务平台建设的指导意见》（国发〔2018〕27号）"
)
_LOCAL_BASES = ("", "本级人民政府规范性文件", "《优化营商环境条例》第三十五条", "无")

# --- Places ----------------------------------------------------------------------------------
_CITIES: tuple[tuple[str, str], ...] = (
    ("511600", "广安市"),
    ("511300", "南充市"),
    ("511700", "达州市"),
    ("510900", "遂宁市"),
    ("511900", "巴中市"),
    ("510100", "成都市"),
    ("510300", "自贡市"),
    ("510400", "攀枝花市"),
    ("510500", "泸州市"),
    ("510600", "德阳市"),
    ("510700", "绵阳市"),
    ("510800", "广元市"),
    ("511000", "内江市"),
    ("511100", "乐山市"),
    ("511400", "眉山市"),
    ("511500", "宜宾市"),
    ("511800", "雅安市"),
    ("512000", "资阳市"),
    ("513200", "阿坝藏族羌族自治州"),
    ("513300", "甘孜藏族自治州"),
    ("513400", "凉山彝族自治州"),
)
_COUNTIES: tuple[tuple[str, str], ...] = (
    ("511602", "广安区"),
    ("511603", "前锋区"),
    ("511621", "岳池县"),
    ("511622", "武胜县"),
    ("511623", "邻水县"),
    ("511681", "华蓥市"),
    ("511302", "顺庆区"),
    ("511303", "高坪区"),
    ("511304", "嘉陵区"),
    ("511321", "南部县"),
    ("511322", "营山县"),
    ("511323", "蓬安县"),
    ("511324", "仪陇县"),
    ("511325", "西充县"),
    ("511381", "阆中市"),
    ("511702", "通川区"),
    ("511703", "达川区"),
    ("511722", "宣汉县"),
    ("511723", "开江县"),
    ("511724", "大竹县"),
    ("511725", "渠县"),
    ("511781", "万源市"),
    ("510903", "船山区"),
    ("510904", "安居区"),
    ("510921", "蓬溪县"),
    ("510923", "大英县"),
    ("510981", "射洪市"),
    ("511902", "巴州区"),
    ("511903", "恩阳区"),
    ("511921", "通江县"),
    ("511922", "南江县"),
    ("511923", "平昌县"),
    ("510104", "锦江区"),
    ("510105", "青羊区"),
    ("510106", "金牛区"),
    ("510107", "武侯区"),
    ("510108", "成华区"),
    ("510112", "龙泉驿区"),
    ("510113", "青白江区"),
    ("510114", "新都区"),
    ("510115", "温江区"),
    ("510116", "双流区"),
    ("510117", "郫都区"),
    ("510118", "新津区"),
    ("510121", "金堂县"),
    ("510129", "大邑县"),
    ("510131", "蒲江县"),
    ("510181", "都江堰市"),
    ("510182", "彭州市"),
    ("510183", "邛崃市"),
    ("510184", "崇州市"),
    ("510185", "简阳市"),
)
_GUANGAN_TOWNS: tuple[str, ...] = (
    "浓洄街道",
    "北辰街道",
    "协兴镇",
    "浓溪镇",
    "悦来镇",
    "兴平镇",
    "井河镇",
    "花桥镇",
    "龙台镇",
    "石笋镇",
    "白市镇",
    "大安镇",
    "恒升镇",
    "肖溪镇",
    "广福街道",
    "万盛街道",
    "中桥街道",
    "枣山街道",
)
_PLACE_CHARS = (
    "安平兴和龙凤清河永丰新华东南北金石桥花溪白马云山松林桂柳槐杨双水井田坪坝湾岭场庙寺堡"
    "坡观音乐福寿康宁明光远高升中太阳月星岩峰回春秋长青红旗胜利团结友谊先锋桃李荷梅竹"
)

# Self-built local items; {place} is the unit's own short name.
_LOCAL_TEMPLATES: tuple[str, ...] = (
    "{place}老年人助餐服务登记",
    "村级便民代办服务",
    "{place}红白喜事简办备案",
    "{place}农村厕所改造补助申请",
    "{place}城市书房借阅证办理",
    "{place}便民服务中心帮办代办",
    "农村建房选址踏勘服务",
    "{place}集体经济组织成员身份证明",
    "高龄津贴申请初审",
    "{place}困难群众临时救助初审",
    "农村土地承包经营权流转合同鉴证",
    "{place}自来水费代收服务",
    "{place}退役军人服务站帮扶申请",
    "新生儿落户代办服务",
    "{place}党群服务中心场地预约",
    "{place}农技咨询服务",
    "{place}矛盾纠纷调解申请",
    "居家养老服务需求登记",
    "{place}农村公益性公墓安葬登记",
    "{place}网格员上门代办",
    "社区志愿服务登记",
    "{place}留守儿童关爱服务登记",
    "{place}智慧停车月卡办理",
    "村民建房申请初审",
    "{place}综合文化站场地借用",
    "{place}农家书屋借阅服务",
    "农民工工资拖欠线索登记",
    "{place}残疾人辅具适配申请受理",
    "{place}居住情况证明开具",
    "{place}“一件事一次办”综合窗口代办",
    "{place}防返贫监测对象申报",
    "{place}人居环境整治积分兑换",
)

# --- Name helpers ----------------------------------------------------------------------------
_LEVEL_QUALIFIER_RE = re.compile(
    r"\s*[（(]\s*(?:省|市|县|区|镇|乡|乡镇|设区的市)级?"
    r"(?:\s*[/、]\s*(?:省|市|县|区|镇|乡)级?)*(?:权限|行使)?\s*[）)]"
)
_TRAILING_BRACKETS_RE = re.compile(r"(?:（[^（）]*）)+$")
_SITUATION_TAIL_RE = re.compile(r"(?:遗失补办|新办|新设|新增|变更|延续|延期|注销|补办|补发|换发)$")
_SITUATION_ANY_RE = re.compile(
    "新办|新设|新增|变更|延续|延期|注销|补办|补发|换发|换证|遗失|设立|终止|撤销|过户|转入|转出|"
    "更换|首次|申报|备案|登记|年检|校验|恢复|停业|歇业|复业|分立|合并|迁移|初领|增项"
)
_EXPANDABLE_END_RE = re.compile(r"(?:许可|审批|核发|核准|许可证)$")
_CONNECTOR_RE = re.compile(r"(?<!共)和|(?<![涉以普危])及|(?<![参给])与|的|、")
_DUPLICATE_BIGRAM_RE = re.compile(r"(..)\1")
_SITUATION_VERB_AFTER_RE = re.compile(r"(?:审批|登记|许可|申请|核准|备案)?")

_QUALIFIERS: dict[str, tuple[str, ...]] = {
    "province": ("（省级）", "（省级权限）", "(省级)"),
    "city": ("（市级）", "(市级)", "（设区的市级权限）", "（市级权限）"),
    "county": ("（县级）", "(县级)", "（县级权限）", "（县级行使）"),
    "township": ("（镇）", "（乡镇级）", "(镇级)"),
    "village": ("（村级）", "（村（社区）级）", "（社区）"),
}
_SITUATION_SYNONYMS: dict[str, tuple[str, ...]] = {
    "遗失补办": ("遗失补发", "补发"),
    "补办": ("补发", "遗失补办", "补证"),
    "新办": ("新设", "首次申请", "新申请"),
    "延续": ("换证", "到期换证", "延期"),
    "变更": ("变更申请", "信息变更"),
    "注销": ("注销申请", "注销登记"),
    "换发": ("换证", "到期换发"),
    "新设": ("新办", "首次申请"),
    "补发": ("补办", "遗失补发"),
    "延期": ("延续",),
}
_SYNONYM_MEANS: dict[str, tuple[str, ...]] = {
    "补发": ("补办", "补发"),
    "遗失补办": ("补办", "补发"),
    "遗失补发": ("补办", "补发"),
    "补证": ("补办", "补发"),
    "补办": ("补办", "补发"),
    "新设": ("新办", "新设", "新增"),
    "首次申请": ("新办", "新设", "新增"),
    "新申请": ("新办", "新设", "新增"),
    "新办": ("新办", "新设", "新增"),
    "换证": ("延续", "换发", "延期"),
    "到期换证": ("延续", "换发", "延期"),
    "到期换发": ("延续", "换发", "延期"),
    "延期": ("延续", "延期"),
    "延续": ("延续", "延期"),
    "变更申请": ("变更",),
    "信息变更": ("变更",),
    "注销申请": ("注销",),
    "注销登记": ("注销",),
}
_VERB_SYNONYMS: tuple[tuple[str, str], ...] = (
    ("核发", "颁发"),
    ("审批", "审核"),
    ("审核", "审批"),
    ("备案", "报备"),
    ("查询", "查阅"),
    ("认定", "确认"),
    ("申请", "申报"),
    ("核准", "批准"),
)
_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("城乡居民基本养老保险", "城乡居保"),
    ("基本医疗保险", "医保"),
    ("医疗保险", "医保"),
    ("社会保险", "社保"),
    ("住房公积金", "公积金"),
    ("最低生活保障", "低保"),
    ("个人所得税", "个税"),
    ("机动车驾驶证", "驾照"),
)
_DUIDE_VERBS = ("审批", "许可", "核准", "认定", "确认", "备案", "登记", "审核", "核发", "审查")
_REORDER_VERBS = (
    "核发",
    "审批",
    "登记",
    "备案",
    "认定",
    "核准",
    "审查",
    "确认",
    "换发",
    "补办",
    "查询",
    "办理",
    "审核",
    "发放",
    "注销",
    "变更",
)
_INSERT_VERBS = (*_REORDER_VERBS, "许可", "申请")
_INSERT_WORDS = ("企业", "单位", "个人", "申请")
_ANY_VERB_END_RE = re.compile(
    "(?:" + "|".join(sorted({*_INSERT_VERBS, "申报", "新办", "延续", "补发"}, key=len)[::-1]) + ")$"
)

_S2T = None
_PINYIN_CACHE: dict[str, str] = {}


def _s2t(text: str) -> str:
    global _S2T
    if _S2T is None:
        from opencc import OpenCC

        _S2T = OpenCC("s2t")
    return _S2T.convert(text)


def _pinyin(ch: str) -> str:
    p = _PINYIN_CACHE.get(ch)
    if p is None:
        from pypinyin import Style, lazy_pinyin

        p = lazy_pinyin(ch, style=Style.TONE3)[0]
        _PINYIN_CACHE[ch] = p
    return p


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff"


def name_key(text: str) -> str:
    """Comparison key used to keep variants from colliding with other catalogue names."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def clean_name(raw: str) -> str:
    """Catalogue form of a county name: level qualifiers removed, brackets full-width."""
    s = _LEVEL_QUALIFIER_RE.sub("", raw.strip())
    s = s.replace("(", "（").replace(")", "）")
    return "".join(s.split())


def _split_suffix(name: str) -> tuple[str, str]:
    m = _TRAILING_BRACKETS_RE.search(name)
    if m and m.start() > 0:
        return name[: m.start()], name[m.start() :]
    return name, ""


def _stem(name: str) -> str:
    base, _ = _split_suffix(name)
    stem = _SITUATION_TAIL_RE.sub("", base)
    return stem or base


def _infer_line_dept(name: str) -> str:
    for pattern, key in _LINE_KEYWORDS:
        if re.search(pattern, name):
            return key
    return "审批"


def _legal_basis(name: str, item_type: str, line_key: str) -> str:
    if line_key == "税务":
        return "《中华人民共和国税收征收管理法》第十五条"
    for pattern, citation in _BASIS_KEYWORDS:
        if re.search(pattern, name):
            return citation
    return _BASIS_BY_TYPE.get(item_type, _BASIS_DEFAULT)


# --- Catalogue model -------------------------------------------------------------------------
@dataclass
class _Model:
    """Everything derived from the reference list (cached per reference/seed/share)."""

    items: pd.DataFrame  # catalogue items, internal columns
    withheld: pd.DataFrame  # withheld real items and withheld siblings, internal columns
    variants: dict[str, list[list[list[str]]]] = field(default_factory=dict)  # level→item→cls


def _use_levels(rng: random.Random, item_type: str, name: str) -> int:
    grassroots = re.search(
        "社会保险|参保|养老|医保|医疗保险|低保|救助|残疾|就业|失业|退役|优抚|高龄|生育|户|居住|"
        "独生子女|农村|补贴|咨询|查询|特困|老年|宅基地|计划生育|临时",
        name,
    )
    p_prov = {"行政许可": 0.75, "公共服务": 0.55}.get(item_type, 0.6)
    mask = _BIT["county"]
    if rng.random() < 0.9:
        mask |= _BIT["city"]
        if rng.random() < p_prov:
            mask |= _BIT["province"]
    if item_type == "公共服务":
        p_town, p_village = (0.75, 0.5) if grassroots else (0.35, 0.15)
    elif item_type in ("行政确认", "行政给付", "其他行政权力"):
        p_town, p_village = (0.45, 0.0) if grassroots else (0.15, 0.0)
    elif item_type == "行政许可":
        p_town, p_village = (0.12, 0.0) if grassroots else (0.04, 0.0)
    else:
        p_town, p_village = 0.0, 0.0
    if rng.random() < p_town:
        mask |= _BIT["township"]
        if rng.random() < p_village:
            mask |= _BIT["village"]
    return mask


def _use_level_label(mask: int) -> str:
    return "、".join(USE_LEVEL_LABELS[lv] for lv in LEVELS if mask & _BIT[lv])


def _attributes(rng: random.Random, name: str, item_type: str, line_key: str) -> dict[str, object]:
    p_instant = {"公共服务": 0.7, "行政许可": 0.1, "行政裁决": 0.0, "行政奖励": 0.0}.get(
        item_type, 0.3
    )
    instant = rng.random() < p_instant
    if instant:
        legal = 1
    elif item_type == "行政许可":
        legal = rng.choice((20, 20, 20, 15, 10, 30, 45, 60))
    elif item_type == "行政裁决":
        legal = rng.choice((60, 30, 90))
    else:
        legal = rng.choice((5, 7, 10, 15, 20, 30))
    return {
        "levels": _use_levels(rng, item_type, name),
        "handling": "即办件" if instant else "承诺件",
        "legal": legal,
        "basis": _legal_basis(name, item_type, line_key),
    }


def _malform(rng: random.Random, code: str) -> str:
    kinds = ["drop", "letter_o", "space", "extra"]
    kind = rng.choice(kinds if "0" in code else ["drop", "space", "extra"])
    if kind == "drop":
        return code[:-1]
    if kind == "letter_o":
        pos = [i for i, c in enumerate(code) if c == "0"]
        i = rng.choice(pos)
        return code[:i] + "O" + code[i + 1 :]
    if kind == "space":
        i = rng.randrange(3, max(4, len(code) - 2))
        return code[:i] + " " + code[i:]
    return code + str(rng.randrange(10))


@lru_cache(maxsize=8)
def _build_model(reference: str, seed: int, withhold_share: float) -> _Model:
    rng = random.Random(seed)
    ref = pd.read_csv(reference, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    used_codes = set(ref["base_code"])

    rows: list[dict[str, object]] = []
    seen: set[str] = set()
    for rec in ref.itertuples(index=False):
        name = clean_name(rec.name)
        if not name or name in seen:
            continue
        seen.add(name)
        item_type = TYPE_BY_CODE.get(str(rec.task_type_code).strip(), "其他行政权力")
        base = str(rec.base_code).strip()
        if not base:
            while True:
                base = f"511{_TYPE_LETTER[item_type]}9{rng.randrange(10**9):09d}"
                if base not in used_codes:
                    break
            used_codes.add(base)
        main = clean_name(rec.main_item) if rec.main_item != "未分类" else ""
        dept_key = _DEPT_BY_REFERENCE.get(rec.department, "政府办")
        line_key = _infer_line_dept(name) if dept_key == "审批" else dept_key
        rows.append(
            {
                "raw_name": rec.name,
                "name": name,
                "main": main or name,
                "family": main or _stem(name),
                "base_code": base,
                "item_type": item_type,
                "dept_key": dept_key,
                "line_key": line_key,
                "department": _DEPTS[line_key][0],
                "situation": "",
                **_attributes(rng, name, item_type, line_key),
            }
        )

    # Withhold a share of the real items.
    n_withhold = round(withhold_share * len(rows))
    withheld_idx = set(rng.sample(range(len(rows)), n_withhold))
    kept = [r for i, r in enumerate(rows) if i not in withheld_idx]
    withheld = [
        dict(r, withheld_kind="withheld_item") for i, r in enumerate(rows) if i in withheld_idx
    ]

    # Split a share of 行政许可 items into situation siblings.
    all_names = [r["name"] for r in rows]
    n_licence = sum(1 for r in kept if r["item_type"] == "行政许可")
    candidates = [
        i
        for i, r in enumerate(kept)
        if r["item_type"] == "行政许可"
        and r["main"] == r["name"]
        and "（" not in r["name"]
        and _EXPANDABLE_END_RE.search(r["name"])
        and not _SITUATION_ANY_RE.search(r["name"])
        and not any(o != r["name"] and o.startswith(r["name"]) for o in all_names)
    ]
    n_expand = min(len(candidates), round(0.15 * n_licence))
    expand = set(rng.sample(candidates, n_expand))
    items: list[dict[str, object]] = []
    for i, r in enumerate(kept):
        if i not in expand:
            items.append(dict(r, business_code=f"{r['base_code']}01"))
            continue
        k = rng.choice((3, 4, 4, 5))
        sits = ["新办", *sorted(rng.sample(SITUATIONS[1:], k - 1), key=SITUATIONS.index)]
        drop = rng.choice(sits[1:]) if k >= 3 and rng.random() < 0.35 else None
        for serial, sit in enumerate(sits, start=1):
            sib = dict(
                r,
                name=f"{r['name']}（{sit}）",
                main=r["name"],
                family=r["name"],
                situation=sit,
                business_code=f"{r['base_code']}{serial:02d}",
            )
            if sit == drop:
                withheld.append(dict(sib, withheld_kind="withheld_sibling"))
            else:
                items.append(sib)

    cat = pd.DataFrame(items)
    cat = cat.drop_duplicates("name", keep="first").reset_index(drop=True)
    assert cat["business_code"].is_unique
    wh = pd.DataFrame(withheld).reset_index(drop=True)
    wh["business_code"] = wh.get("business_code", pd.Series(dtype=object))
    wh["business_code"] = wh["business_code"].fillna(wh["base_code"] + "01")

    # Claimed-code helpers: a related item's code and a malformed own code.
    fam_codes: dict[str, list[str]] = defaultdict(list)
    for fam, code in zip(cat["family"], cat["base_code"], strict=True):
        if code not in fam_codes[fam]:
            fam_codes[fam].append(code)
    sib_codes, bad_codes = [], []
    for i, (fam, code) in enumerate(zip(cat["family"], cat["base_code"], strict=True)):
        others = [c for c in fam_codes[fam] if c != code]
        if not others:
            j = i + 1 if i + 1 < len(cat) else i - 1
            while 0 <= j < len(cat) and cat.at[j, "base_code"] == code:
                j += 1 if j > i else -1
            others = [cat.at[j, "base_code"]] if 0 <= j < len(cat) else [code]
        sib_codes.append(rng.choice(others))
        bad_codes.append(_malform(rng, code))
    cat["sibling_code"] = sib_codes
    cat["malformed_code"] = bad_codes
    cat["popularity"] = [rng.lognormvariate(0.0, 1.3) for _ in range(len(cat))]

    model = _Model(items=cat, withheld=wh)
    model.variants = _build_variants(cat, wh, rng)
    return model


# --- Variants --------------------------------------------------------------------------------
def _variants_level_free(name: str, rng: random.Random, homophones: dict[str, list[str]]) -> dict:
    base, suffix = _split_suffix(name)
    out: dict[str, list[str]] = {c: [] for c in VARIATIONS}
    out["exact"] = [name]
    if "（" in name:
        out["halfwidth_brackets"] = [name.replace("（", "(").replace("）", ")")]
    out["traditional"] = [_s2t(name)]
    for v in _DUIDE_VERBS:
        if base.endswith(v) and len(base) > len(v) + 1 and not base.startswith("对"):
            out["duiDe_frame"] = [f"对{base[: -len(v)]}的{v}{suffix}"]
            break
    for v in _REORDER_VERBS:
        stem = base[: -len(v)]
        if base.endswith(v) and len(stem) >= 2 and not _ANY_VERB_END_RE.search(stem):
            if not stem.startswith("对") and not re.search(r"(?:的|和|及|与|、)$", stem):
                out["reorder"] = [f"{v}{stem}{suffix}"]
            break
    for v in _INSERT_VERBS:
        if base.endswith(v) and len(base) > len(v) + 1:
            stem = base[: -len(v)]
            out["inserted_object"] = [
                f"{stem}{w}{v}{suffix}"
                for w in _INSERT_WORDS
                if not stem.endswith(w) and not (w == "申请" and v in ("申请", "申报"))
            ]
            break
    for long, short in _ABBREVIATIONS:
        if long in name:
            out["abbreviation"] = [name.replace(long, short, 1)]
            break
    for src, dst in _VERB_SYNONYMS:
        pos = base.rfind(src)
        if pos >= 0 and dst not in base:
            out["verb_synonym"].append(base[:pos] + dst + base[pos + len(src) :] + suffix)
    positions = [m.start() for m in _CONNECTOR_RE.finditer(name) if 0 < m.start() < len(name) - 1]
    out["dropped_connector"] = [name[:p] + name[p + 1 :] for p in positions[:3]]
    # Homophones: up to three different positions.
    slots = [i for i, ch in enumerate(name) if _is_cjk(ch) and homophones.get(ch)]
    rng.shuffle(slots)
    out["homophone"] = [
        name[:i] + rng.choice(homophones[name[i]]) + name[i + 1 :] for i in slots[:3]
    ]
    # Stray spaces.
    noisy = []
    for kind in ("inner", "wide", "edge"):
        i = rng.randrange(1, len(name)) if len(name) > 1 else 1
        if kind == "inner":
            noisy.append(name[:i] + " " + name[i:])
        elif kind == "wide":
            noisy.append(name[:i] + "\u3000" + name[i:])
        else:
            noisy.append(rng.choice((" " + name, name + " ", name[:i] + "  " + name[i:])))
    out["space_noise"] = noisy
    return out


def _situation_synonyms(name: str, family_names: list[str]) -> list[str]:
    out: list[str] = []
    base, suffix = _split_suffix(name)
    for word, synonyms in _SITUATION_SYNONYMS.items():
        pos = name.rfind(word)
        if pos < 0:
            continue
        after = name[pos + len(word) :]
        in_suffix = pos >= len(base)
        if not in_suffix and not _SITUATION_VERB_AFTER_RE.fullmatch(
            after[: len(after) - len(suffix)]
        ):
            continue
        for syn in synonyms:
            blocked = any(
                other != name and any(m in other for m in (syn, *_SYNONYM_MEANS.get(syn, ())))
                for other in family_names
            )
            cand = name[:pos] + syn + name[pos + len(word) :]
            if not blocked and not _DUPLICATE_BIGRAM_RE.search(cand):
                out.append(cand)
        break  # only the longest/first situation word found
    return out


def _level_variants(name: str, level: str, dept_key: str) -> dict[str, list[str]]:
    base, suffix = _split_suffix(name)
    quals = _QUALIFIERS[level]
    lq = [name + q for q in quals]
    if suffix:
        lq.append(base + quals[0] + suffix)
    short = _DEPTS[dept_key][3]
    if level == "province":
        short_p = short.replace("局", "厅") if _DEPTS[dept_key][0].endswith("厅") else short
        prefixes = ["省级", f"省{short_p}", f"省{short_p}-"]
    elif level == "city":
        prefixes = ["市级", f"市{short}", f"市{short}-"]
    elif level == "county":
        # \x00 stands for the unit's own character (区/县/市), filled in per row.
        prefixes = ["\x00级", f"\x00{short}", f"\x00{short}-"]
    elif level == "township":
        prefixes = ["乡镇", "镇级", "乡镇便民服务中心-"]
    else:
        prefixes = ["村级", "村（社区）", "社区便民服务站-"]
    return {"level_qualifier": lq, "dept_prefix": [p + name for p in prefixes]}


def _build_variants(
    cat: pd.DataFrame, wh: pd.DataFrame, rng: random.Random
) -> dict[str, list[list[list[str]]]]:
    owners: dict[str, int] = {}
    for i, n in enumerate(cat["name"]):
        owners.setdefault(name_key(n), i)
    for n in list(wh["name"]) + list(cat["main"]):
        owners.setdefault(name_key(n), -1)

    chars = sorted({ch for n in cat["name"] for ch in n if _is_cjk(ch)})
    by_sound: dict[str, list[str]] = defaultdict(list)
    for ch in chars:
        by_sound[_pinyin(ch)].append(ch)
    homophones = {ch: [o for o in by_sound[_pinyin(ch)] if o != ch] for ch in chars}

    families: dict[str, list[str]] = defaultdict(list)
    for fam, n in zip(cat["family"], cat["name"], strict=True):
        families[fam].append(n)
    for fam, n in zip(wh["family"], wh["name"], strict=True):
        families[fam].append(n)

    def valid(i: int, name: str, cands: list[str]) -> list[str]:
        out = []
        for c in cands:
            if c == name or c in out:
                continue
            owner = owners.get(name_key(c))
            if owner is None or owner == i:
                out.append(c)
        return out

    free: list[dict[str, list[str]]] = []
    for i, (name, fam) in enumerate(zip(cat["name"], cat["family"], strict=True)):
        v = _variants_level_free(name, rng, homophones)
        v["situation_synonym"] = _situation_synonyms(name, families[fam])
        for c in VARIATIONS[1:]:
            v[c] = valid(i, name, v[c])
        free.append(v)

    result: dict[str, list[list[list[str]]]] = {}
    for level in LEVELS:
        per_item = []
        for i, (name, key) in enumerate(zip(cat["name"], cat["dept_key"], strict=True)):
            lv = _level_variants(name, level, key)
            row = []
            for c in VARIATIONS:
                row.append(valid(i, name, lv[c]) if c in lv else free[i][c])
            per_item.append(row)
        result[level] = per_item
    return result


def build_catalogue(
    reference_csv: Path | None = None, *, seed: int = 7, withhold_share: float = 0.04
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Build the general catalogue from the real item list.

    Returns ``(catalogue, withheld)``. ``catalogue`` has exactly the contract headers
    (:data:`CATALOGUE_HEADERS`), one row per business item, sorted by 业务办理项编码. ``withheld``
    has the same headers plus ``withheld_kind`` (``withheld_item`` or ``withheld_sibling``): the
    items that unit lists use but the catalogue lacks.
    """
    model = _build_model(str(reference_csv or DEFAULT_REFERENCE), seed, withhold_share)
    return _catalogue_frame(model.items), _catalogue_frame(model.withheld, extra=("withheld_kind",))


def _catalogue_frame(df: pd.DataFrame, extra: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "业务办理项编码": df["business_code"],
            "基本编码": df["base_code"],
            "主项名称": df["main"],
            "事项名称": df["name"],
            "事项类型": df["item_type"],
            "行使层级": [_use_level_label(m) for m in df["levels"]],
            "设定依据": df["basis"],
            "主管部门": df["department"],
            "办件类型": df["handling"],
            "法定办结时限": df["legal"].astype(int).astype(str),
        }
    )
    for col in extra:
        out[col] = df[col].to_numpy()
    return out.sort_values("业务办理项编码", kind="stable").reset_index(drop=True).astype(str)


# --- Units -----------------------------------------------------------------------------------
@dataclass
class _Unit:
    level: str
    code: str  # 12 digits
    name: str  # own short name (广安区, 协兴镇 …)
    city: str = ""
    county: str = ""
    town: str = ""
    char: str = ""  # 区/县/市 of a county
    agency: str = ""  # single agency of township/village units
    file: str = ""  # relative path without suffix
    parent: int = -1  # index of the county (townships) or township (villages)


# level: (units at s=1, unit exponent, unit cap, rows per unit at s=1, rows exponent)
_SIZES: dict[str, tuple[float, float, int | None, float, float]] = {
    "province": (1, 0.0, 1, 200, 0.6),
    "city": (3, 0.45, len(_CITIES), 90, 0.4),
    "county": (4, 0.55, 183, 75, 0.4),
    "township": (8, 0.75, None, 30, 0.25),
    "village": (15, 0.85, None, 15, 0.15),
}


def _plan(s: float, pools: dict[str, int]) -> dict[str, tuple[int, int]]:
    plan = {}
    for level, (u0, ue, cap, r0, re_) in _SIZES.items():
        units = max(1, round(u0 * s**ue))
        if cap is not None:
            units = min(units, cap)
        rows = max(3, min(round(r0 * s**re_), int(0.9 * pools[level])))
        plan[level] = (units, rows)
    return plan


def _plan_total(plan: dict[str, tuple[int, int]]) -> int:
    return sum(u * r for u, r in plan.values())


def _solve_scale(target: int, pools: dict[str, int]) -> float:
    lo, hi = 1e-3, 1e7
    for _ in range(80):
        mid = math.sqrt(lo * hi)
        if _plan_total(_plan(mid, pools)) < target:
            lo = mid
        else:
            hi = mid
    return hi


def _place_name(rng: random.Random, taken: set[str], suffix: str) -> str:
    while True:
        name = "".join(rng.sample(_PLACE_CHARS, 2)) + suffix
        if name not in taken:
            taken.add(name)
            return name


def _county_table(n: int, rng: random.Random) -> list[tuple[str, str, str]]:
    """(code6, county name, city name) for n counties, real ones first."""
    city_of = {c[:4]: name for c, name in _CITIES}
    out = [(code, name, city_of[code[:4]]) for code, name in _COUNTIES]
    taken = {name for _, name in _COUNTIES}
    serial = 21
    while len(out) < n:
        for c6, city in _CITIES[6:]:
            if len(out) >= n:
                break
            out.append((f"{c6[:4]}{serial:02d}", _place_name(rng, taken, "县"), city))
        serial += 1
    return out[:n]


def _build_units(
    plan: dict[str, tuple[int, int]], rng: random.Random, extra_counties: int = 0
) -> tuple[list[_Unit], list[tuple[str, str, str]]]:
    units: list[_Unit] = [_Unit("province", "510000000000", "四川省")]
    n_city = plan["city"][0]
    for code6, name in _CITIES[:n_city]:
        units.append(_Unit("city", f"{code6}000000", name, city=name))
    n_county = plan["county"][0]
    table = _county_table(n_county + extra_counties, rng)
    county_idx = []
    for code6, name, city in table[:n_county]:
        county_idx.append(len(units))
        units.append(_Unit("county", f"{code6}000000", name, city=city, county=name, char=name[-1]))

    n_town = plan["township"][0]
    block = max(4, math.ceil(n_town / n_county))
    town_idx = []
    per_county: dict[int, list[str]] = defaultdict(list)
    for j in range(n_town):
        ci = county_idx[min(j // block, n_county - 1)]
        per_county[ci].append("")
    for ci in county_idx:
        cu = units[ci]
        k = len(per_county.get(ci, []))
        if not k:
            continue
        taken: set[str] = set()
        real = list(_GUANGAN_TOWNS) if cu.code.startswith("511602") else []
        n_streets = 2 if cu.char == "区" else 1
        streets = towns = 0
        for _ in range(k):
            if real:
                name = real.pop(0)
                taken.add(name)
            elif streets < n_streets:
                name = _place_name(rng, taken, "街道")
            else:
                name = _place_name(rng, taken, rng.choice(("镇", "镇", "镇", "乡")))
            if name.endswith("街道"):
                streets += 1
                serial = streets
                agency = f"{cu.city}{cu.county}{name}办事处"
            else:
                towns += 1
                serial = 100 + towns
                agency = f"{cu.city}{cu.county}{name}人民政府"
            if rng.random() < 0.2:
                agency = f"{cu.county}{name}便民服务中心"
            town_idx.append(len(units))
            units.append(
                _Unit(
                    "township",
                    f"{cu.code[:6]}{serial:03d}000",
                    name,
                    city=cu.city,
                    county=cu.county,
                    town=name,
                    char=cu.char,
                    agency=agency,
                    parent=ci,
                )
            )
    n_village = plan["village"][0]
    vblock = max(4, math.ceil(n_village / len(town_idx)))
    taken_by_town: dict[int, set[str]] = defaultdict(set)
    for j in range(n_village):
        ti = town_idx[min(j // vblock, len(town_idx) - 1)]
        tu = units[ti]
        serial = len(taken_by_town[ti]) + 1
        community = tu.name.endswith("街道") or serial == 1
        name = _place_name(rng, taken_by_town[ti], "社区" if community else "村")
        if rng.random() < 0.2:
            agency = f"{tu.town}{name}便民服务站"
        elif community:
            agency = f"{tu.town}{name}居民委员会"
        else:
            agency = f"{tu.town}{name}村民委员会"
        units.append(
            _Unit(
                "village",
                f"{tu.code[:9]}{serial:03d}",
                name,
                city=tu.city,
                county=tu.county,
                town=tu.town,
                agency=agency,
                parent=ti,
            )
        )
    return units, table[n_county:]


def _agency(unit: _Unit, key: str) -> str:
    prov, city_t, county_t, _ = _DEPTS[key]
    if unit.level == "province":
        return prov
    if unit.level == "city":
        return city_t.format(city=unit.city)
    if unit.level == "county":
        if key == "公安" and unit.char != "区":
            return f"{unit.county}公安局"
        return county_t.format(city=unit.city, county=unit.county)
    return unit.agency


def _assign_files(units: list[_Unit]) -> None:
    n_town = sum(1 for u in units if u.level == "township")
    for u in units:
        if u.level == "province":
            u.file = "province/510000_四川省"
        elif u.level == "city":
            u.file = f"city/{u.code[:6]}_{u.name}_实施清单"
        elif u.level == "county":
            u.file = f"county/{u.code[:6]}_{u.name}_实施清单"
        elif u.level == "township":
            if n_town <= 12:
                u.file = f"township/{u.code[:9]}_{u.name}_实施清单"
            else:
                cu = units[u.parent]
                u.file = f"township/{cu.code[:6]}_{cu.name}_乡镇（街道）实施清单"
        else:
            tu = units[u.parent]
            u.file = f"village/{tu.code[:9]}_{tu.name}_村（社区）实施清单"


# --- Row generation --------------------------------------------------------------------------
def _top_k(rng: np.random.Generator, logw: np.ndarray, k: int) -> np.ndarray:
    """k distinct indices drawn with probability ∝ exp(logw) (Gumbel top-k)."""
    if k >= len(logw):
        return np.arange(len(logw))
    keys = logw + rng.gumbel(size=len(logw))
    return np.argpartition(-keys, k)[:k]


def _level_rows(
    level: str,
    level_units: list[int],
    units: list[_Unit],
    rows_per_unit: int,
    model: _Model,
    rng: np.random.Generator,
) -> pd.DataFrame:
    cat, wh = model.items, model.withheld
    bit = _BIT[level]
    cat_levels = cat["levels"].to_numpy()
    pool = np.flatnonzero(cat_levels & bit)
    pool_logw = np.log(cat["popularity"].to_numpy()[pool])
    wh_ok = (wh["levels"].to_numpy() & bit) > 0
    wh_item_pool = np.flatnonzero(wh_ok & (wh["withheld_kind"] == "withheld_item").to_numpy())
    wh_sib_pool = np.flatnonzero(wh_ok & (wh["withheld_kind"] == "withheld_sibling").to_numpy())
    p_wi, p_ws, p_loc = _NEGATIVE_SHARES[level]
    if not len(wh_item_pool):
        p_wi = 0.0
    if not len(wh_sib_pool):
        p_ws = 0.0

    pos_unit, pos_item = [], []
    neg: list[tuple[int, str, str, int]] = []  # unit, variation, name, withheld index or -1
    for ui in level_units:
        n = max(3, round(rows_per_unit * rng.uniform(0.8, 1.2)))
        n = min(n, len(pool))
        k_wi = min(int(rng.binomial(n, p_wi)), len(wh_item_pool))
        k_ws = min(int(rng.binomial(n, p_ws)), len(wh_sib_pool))
        k_loc = min(int(rng.binomial(n, p_loc)), len(_LOCAL_TEMPLATES))
        k_pos = max(1, n - k_wi - k_ws - k_loc)
        chosen = pool[_top_k(rng, pool_logw, k_pos)]
        pos_unit.append(np.full(len(chosen), ui))
        pos_item.append(chosen)
        for j in rng.choice(wh_item_pool, k_wi, replace=False) if k_wi else ():
            neg.append((ui, "withheld_item", wh.at[int(j), "name"], int(j)))
        for j in rng.choice(wh_sib_pool, k_ws, replace=False) if k_ws else ():
            neg.append((ui, "withheld_sibling", wh.at[int(j), "name"], int(j)))
        if k_loc:
            u = units[ui]
            place = u.name
            for t in rng.choice(len(_LOCAL_TEMPLATES), k_loc, replace=False):
                neg.append((ui, "local_item", _LOCAL_TEMPLATES[int(t)].format(place=place), -1))

    p_unit = np.concatenate(pos_unit) if pos_unit else np.zeros(0, int)
    p_item = np.concatenate(pos_item) if pos_item else np.zeros(0, int)
    n_pos = len(p_item)
    forced_exact = np.zeros(n_pos, bool)
    flags: list[list[str]] = [[] for _ in range(n_pos)]

    # A few items the level may not exercise.
    outside = np.flatnonzero((cat_levels & bit) == 0)
    k_out = min(len(outside), max(1, round(0.003 * n_pos))) if n_pos else 0
    if k_out:
        rows = rng.choice(n_pos, k_out, replace=False)
        p_item[rows] = rng.choice(outside, k_out, replace=False)
        forced_exact[rows] = True
        for r in rows:
            flags[r].append("level_not_allowed")

    # Variation class per row.
    variants = model.variants[level]
    applicable = np.array([[len(v) > 0 for v in row] for row in variants], dtype=bool)
    weights = np.array([_CLASS_WEIGHTS[c] for c in VARIATIONS])
    share = applicable[pool].mean(axis=0) if len(pool) else np.ones(len(VARIATIONS))
    eff = weights / np.maximum(share, 0.02)
    eff[0] = weights[0]
    probs = applicable[p_item] * eff
    probs[forced_exact] = 0.0
    probs[forced_exact, 0] = 1.0
    cum = probs.cumsum(axis=1)
    u = rng.random(n_pos) * cum[:, -1]
    cls = (cum < u[:, None]).sum(axis=1)
    cls = np.minimum(cls, len(VARIATIONS) - 1)
    n_var = np.array([len(variants[i][c]) for i, c in zip(p_item, cls, strict=True)])
    var = (rng.random(n_pos) * n_var).astype(int)
    names = [
        variants[i][c][v]
        for i, c, v in zip(p_item.tolist(), cls.tolist(), var.tolist(), strict=True)
    ]
    if level == "county":
        names = [
            n.replace("\x00", units[uu].char) if "\x00" in n else n
            for n, uu in zip(names, p_unit.tolist(), strict=True)
        ]

    # Elements of positive rows.
    types = cat["item_type"].to_numpy()[p_item].astype(object)
    handling = cat["handling"].to_numpy()[p_item].astype(object)
    legal = cat["legal"].to_numpy()[p_item].astype(int)
    instant = handling == "即办件"
    ratio = rng.choice([1.0, 0.5, 0.3, 0.2], size=n_pos, p=[0.3, 0.4, 0.2, 0.1])
    promised = np.where(instant, 1, np.maximum(1, np.ceil(legal * ratio))).astype(int)
    r = rng.random(n_pos)
    type_mm = r < 0.02
    if type_mm.any():
        shift = rng.integers(1, len(ITEM_TYPES), size=int(type_mm.sum()))
        idx = np.array([ITEM_TYPES.index(t) for t in types[type_mm]])
        types[type_mm] = np.array(ITEM_TYPES, dtype=object)[(idx + shift) % len(ITEM_TYPES)]
    exceed = (r >= 0.02) & (r < 0.04) & ~instant
    promised[exceed] = legal[exceed] + rng.integers(1, 11, size=int(exceed.sum()))
    inst_long = (r >= 0.04) & (r < 0.05)
    handling[inst_long] = "即办件"
    legal[inst_long] = np.where(legal[inst_long] > 1, legal[inst_long], 5)
    promised[inst_long] = np.minimum(promised[inst_long], legal[inst_long])
    # Element values outside the enumerations, and a legal basis that differs from the
    # catalogue's (a fresh draw, so the shares above are unchanged).
    r2 = rng.random(n_pos)
    bad_handling = (r2 < 0.004) & ~inst_long
    handling[bad_handling] = rng.choice(["上报件", "联办件"], size=int(bad_handling.sum()))
    bad_visits = (r2 >= 0.004) & (r2 < 0.008)
    basis = cat["basis"].to_numpy()[p_item].astype(object)
    basis_differs = (r2 >= 0.008) & (r2 < 0.014)
    basis[basis_differs] = "《中华人民共和国行政许可法》"
    visits = rng.choice(["0", "1", "2", "多次"], size=n_pos, p=[0.35, 0.45, 0.15, 0.05]).astype(
        object
    )
    visits[bad_visits] = rng.choice(["3次", "全程网办"], size=int(bad_visits.sum()))
    for mask, flag in (
        (type_mm, "type_mismatch"),
        (exceed, "promise_exceeds_legal"),
        (inst_long, "instant_with_limit"),
        (bad_handling, "handling_type_invalid"),
        (bad_visits, "visits_invalid"),
        (basis_differs, "legal_basis_differs"),
    ):
        for i in np.flatnonzero(mask):
            flags[i].append(flag)

    kind_draw = rng.random(n_pos)
    own = cat["base_code"].to_numpy()[p_item]
    claimed = np.where(
        kind_draw < 0.20,
        "",
        np.where(
            kind_draw < 0.22,
            cat["sibling_code"].to_numpy()[p_item],
            np.where(kind_draw < 0.23, cat["malformed_code"].to_numpy()[p_item], own),
        ),
    )
    claimed_kind = np.where(
        kind_draw < 0.20,
        "empty",
        np.where(kind_draw < 0.22, "sibling", np.where(kind_draw < 0.23, "malformed", "own")),
    )
    agency_keys = cat["dept_key"].to_numpy() if level == "county" else cat["line_key"].to_numpy()
    if level == "city":
        # Cities route about half of the 审批-局 items through their own 行政审批局.
        keep = np.array([zlib.crc32(n.encode()) % 2 == 0 for n in cat["name"]])
        agency_keys = np.where((cat["dept_key"].to_numpy() == "审批") & keep, "审批", agency_keys)
    cache: dict[tuple[int, str], str] = {}

    def agency_of(ui: int, key: str) -> str:
        got = cache.get((ui, key))
        if got is None:
            got = cache[(ui, key)] = _agency(units[ui], key)
        return got

    pos = pd.DataFrame(
        {
            "unit": p_unit,
            "行政区划代码": [units[i].code for i in p_unit.tolist()],
            "实施主体": [
                agency_of(ui, k) for ui, k in zip(p_unit.tolist(), agency_keys[p_item], strict=True)
            ],
            "事项名称": names,
            "基本编码": claimed,
            "事项类型": types,
            "设定依据": basis,
            "办件类型": handling,
            "法定办结时限": legal.astype(str),
            "承诺办结时限": promised.astype(str),
            "到办事现场次数": visits,
            "expected_business_code": cat["business_code"].to_numpy()[p_item],
            "expected_base_code": own,
            "variation": np.array(VARIATIONS, dtype=object)[cls],
            "expected_in_catalogue": True,
            "claimed_code_kind": claimed_kind,
            "qc_flags": [";".join(f) for f in flags],
            "broken_row": False,
        }
    )

    # Negative rows.
    wh_records = wh.to_dict("records") if neg else []
    neg_rows = []
    for ui, variation, name, j in neg:
        u = units[ui]
        if j >= 0:
            rec = wh_records[j]
            key = rec["dept_key"] if level == "county" else rec["line_key"]
            draw = rng.random()
            code = (
                "" if draw < (0.3 if variation == "withheld_sibling" else 0.4) else rec["base_code"]
            )
            kind = "empty" if not code else "own"
            item_type, basis, hand, leg = (
                rec["item_type"],
                rec["basis"],
                rec["handling"],
                rec["legal"],
            )
        else:
            key = "政府办"
            code = "" if rng.random() < 0.6 else f"{u.code[:6]}ZJ{int(rng.integers(1, 10000)):04d}"
            kind = "local" if code else "empty"
            item_type = "公共服务" if rng.random() < 0.8 else "其他行政权力"
            basis = _LOCAL_BASES[int(rng.integers(len(_LOCAL_BASES)))]
            hand = "即办件" if rng.random() < 0.7 else "承诺件"
            leg = 1 if hand == "即办件" else int(rng.choice([5, 7, 10]))
        prom = (
            1 if hand == "即办件" else max(1, math.ceil(int(leg) * float(rng.choice([1.0, 0.5]))))
        )
        neg_rows.append(
            {
                "unit": ui,
                "行政区划代码": u.code,
                "实施主体": agency_of(ui, key),
                "事项名称": name,
                "基本编码": code,
                "事项类型": item_type,
                "设定依据": basis,
                "办件类型": hand,
                "法定办结时限": str(int(leg)),
                "承诺办结时限": str(int(prom)),
                "到办事现场次数": str(
                    rng.choice(["0", "1", "2", "多次"], p=[0.35, 0.45, 0.15, 0.05])
                ),
                "expected_business_code": "",
                "expected_base_code": "",
                "variation": variation,
                "expected_in_catalogue": False,
                "claimed_code_kind": kind,
                "qc_flags": "",
                "broken_row": False,
            }
        )
    df = pd.concat([pos, pd.DataFrame(neg_rows, columns=pos.columns)], ignore_index=True)

    # A few duplicates of the same item within one unit.
    k_dup = max(1, round(0.004 * len(df))) if len(df) > 20 else 0
    if k_dup:
        dup = df.iloc[rng.choice(n_pos, k_dup, replace=False)].copy()
        dup["qc_flags"] = [f"{f};duplicate" if f else "duplicate" for f in dup["qc_flags"]]
        df = pd.concat([df, dup], ignore_index=True)
    df["level"] = level
    df["sort_key"] = rng.random(len(df))
    return df


# --- Writing ---------------------------------------------------------------------------------
_FORMATS = ("utf-8", "utf-8-sig", "gb18030", "xlsx")


def _write_rows(path: Path, headers: list[str], columns: list[list], fmt: str) -> None:
    """Write column lists as a CSV in encoding ``fmt`` (or as .xlsx when fmt is "xlsx")."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        pd.DataFrame(dict(zip(headers, columns, strict=True))).to_excel(
            path, index=False, engine="openpyxl"
        )
        return
    # The csv module writes the same minimal quoting as pandas, several times faster.
    with path.open("w", encoding=fmt, newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(zip(*columns, strict=True))


def _write_table(df: pd.DataFrame, path: Path, fmt: str) -> None:
    _write_rows(path, list(df.columns), [df[c].astype(str).tolist() for c in df.columns], fmt)


def _choose_formats(
    files: list[str], rng: np.random.Generator, xlsx_share: float
) -> dict[str, str]:
    csv_p = np.array([0.6, 0.2, 0.2]) * (1 - xlsx_share)
    p = np.append(csv_p, xlsx_share)
    draws = rng.choice(len(_FORMATS), size=len(files), p=p / p.sum())
    fmts = {f: _FORMATS[d] for f, d in zip(files, draws, strict=True)}
    wanted = [f for f in _FORMATS if f != "xlsx" or xlsx_share > 0]
    if len(files) >= 2 * len(wanted):
        for fmt in wanted:
            counts = Counter(fmts.values())
            if counts[fmt]:
                continue
            common = counts.most_common(1)[0][0]
            victim = next(f for f in files if fmts[f] == common)
            fmts[victim] = fmt
    return fmts


def generate_province(
    out_dir: Path,
    *,
    scale: float = 1.0,
    seed: int = 7,
    broken_files: bool = True,
    xlsx_share: float | None = None,
    reference_csv: Path | None = None,
    target_rows: int | None = None,
) -> dict:
    """Write a synthetic province (catalogue, five levels of unit lists, truth.csv) to out_dir.

    ``scale`` multiplies the number of unit-list rows of the demo (scale 1 ≈ 1,200 rows);
    ``target_rows`` (overrides ``scale``) asks for about that many rows. ``xlsx_share`` is the
    share of unit files written as .xlsx (default 0.2 up to 20,000 rows, then 0.01).

    Returns a dict: ``rows`` (per level), ``rows_total``, ``units`` and ``files`` (per level),
    ``formats`` (files per format), ``catalogue_items``, ``withheld_items``,
    ``withheld_siblings``, ``variations`` (rows per class), ``qc_flags`` (rows per flag),
    ``broken_files`` (relative paths), ``catalogue_files`` and ``seconds``.
    """
    t0 = time.perf_counter()
    out_dir = Path(out_dir)
    for sub in (CATALOGUE_FOLDER, *LEVELS):
        d = out_dir / sub
        if d.exists() and any(d.iterdir()):
            raise FileExistsError(f"{d} is not empty; generate into a fresh directory")
    model = _build_model(str(reference_csv or DEFAULT_REFERENCE), seed, 0.04)
    cat = model.items
    rng = np.random.default_rng(seed)
    prng = random.Random(seed + 1)

    pools = {lv: int(((cat["levels"].to_numpy() & _BIT[lv]) > 0).sum()) for lv in LEVELS}
    if target_rows is not None:
        s = _solve_scale(int(target_rows), pools)
    elif scale == 1.0:
        s = 1.0
    else:
        s = _solve_scale(round(scale * _plan_total(_plan(1.0, pools))), pools)
    plan = _plan(s, pools)
    units, spare_counties = _build_units(plan, prng, extra_counties=2)
    _assign_files(units)

    by_level: dict[str, list[int]] = defaultdict(list)
    for i, u in enumerate(units):
        by_level[u.level].append(i)
    frames = [
        _level_rows(lv, by_level[lv], units, plan[lv][1], model, rng)
        for lv in LEVELS
        if by_level[lv]
    ]
    rows = pd.concat(frames, ignore_index=True)
    rows["file"] = [units[i].file for i in rows["unit"].tolist()]

    # Province: the two biggest agencies get their own files.
    prov = rows["level"] == "province"
    top = (
        rows.loc[prov, "实施主体"]
        .value_counts()
        .sort_index()
        .sort_values(ascending=False, kind="stable")
    )
    for agency in top.index[:2]:
        sel = prov & (rows["实施主体"] == agency)
        rows.loc[sel, "file"] = f"province/510000_{agency}"
    rows.loc[prov & ~rows["实施主体"].isin(top.index[:2]), "file"] = (
        "province/510000_四川省_其他省级部门"
    )

    # One or two township rows filed in their county's folder.
    town_rows = np.flatnonzero(
        (rows["level"] == "township").to_numpy() & (rows["variation"] == "exact").to_numpy()
    )
    if len(town_rows) and by_level["county"]:
        for r in rng.choice(town_rows, min(2, len(town_rows)), replace=False):
            county = units[units[int(rows.at[r, "unit"])].parent]
            rows.at[r, "file"] = county.file
            rows.at[r, "qc_flags"] = (rows.at[r, "qc_flags"] + ";misfiled_level").lstrip(";")

    # Unparseable division codes and an empty name (demo robustness).
    if broken_files:
        # letter O for a zero, 11 digits, empty
        bad = (
            ("county", lambda c: c.replace("0", "O", 1) if "0" in c else c + "O"),
            ("county", lambda c: c[:-1]),
            ("township", lambda c: ""),
        )
        for lv, spoil in bad:
            cand = np.flatnonzero(
                (rows["level"] == lv).to_numpy()
                & (rows["qc_flags"] == "").to_numpy()
                & rows["expected_in_catalogue"].to_numpy(dtype=bool)
            )
            r = int(rng.choice(cand))
            rows.at[r, "行政区划代码"] = spoil(rows.at[r, "行政区划代码"])
            rows.at[r, "qc_flags"] = "bad_division_code"
            rows.at[r, "broken_row"] = True
        cand = np.flatnonzero(
            (rows["level"] == "city").to_numpy() & (rows["qc_flags"] == "").to_numpy()
        )
        r = int(rng.choice(cand))
        rows.loc[r, ["事项名称", "expected_business_code", "expected_base_code"]] = ""
        rows.loc[r, ["variation", "qc_flags"]] = ["empty_name", "empty_name"]
        rows.at[r, "expected_in_catalogue"] = False
        rows.at[r, "broken_row"] = True

    rows = rows.sort_values(["file", "行政区划代码", "实施主体", "sort_key"], kind="stable")
    rows["source_row"] = rows.groupby("file", sort=False).cumcount() + 1

    files = sorted(rows["file"].unique())
    if xlsx_share is None:
        xlsx_share = 0.2 if len(rows) <= 20000 else 0.01
    fmts = _choose_formats(files, rng, xlsx_share)
    suffix = {f: (".xlsx" if fmts[f] == "xlsx" else ".csv") for f in files}
    rows["source_file"] = rows["file"].map(lambda f: f + suffix[f])
    rows = rows.sort_values(["source_file", "source_row"], kind="stable").reset_index(drop=True)

    # Rows of one file are contiguous: write each range from plain lists.
    source_files = rows["source_file"].to_numpy()
    starts = [0, *(np.flatnonzero(source_files[1:] != source_files[:-1]) + 1).tolist()]
    ends = [*starts[1:], len(rows)]
    columns = [rows[c].astype(str).tolist() for c in LIST_HEADERS]
    for a, b in zip(starts, ends, strict=True):
        rel = str(source_files[a])
        fmt = fmts[rel.rsplit(".", 1)[0]]
        _write_rows(out_dir / rel, list(LIST_HEADERS), [c[a:b] for c in columns], fmt)

    # Catalogue: 行政许可 as CSV (UTF-8 with BOM), the rest as xlsx (CSV when xlsx is off).
    catalogue, withheld = build_catalogue(reference_csv, seed=seed)
    lic = catalogue["事项类型"] == "行政许可"
    cat_files = ["catalogue/四川省政务服务事项基本目录_行政许可.csv"]
    _write_table(catalogue[lic], out_dir / cat_files[0], "utf-8-sig")
    rest = (
        "catalogue/四川省政务服务事项基本目录_其他.xlsx"
        if xlsx_share > 0
        else "catalogue/四川省政务服务事项基本目录_其他.csv"
    )
    _write_table(catalogue[~lic], out_dir / rest, "xlsx" if rest.endswith("xlsx") else "utf-8")
    cat_files.append(rest)

    broken: list[tuple[str, str]] = []
    if broken_files:
        broken = _write_broken_files(out_dir, units, spare_counties, model, rng)

    truth = rows.assign(
        division_code=rows["行政区划代码"],
        item_name=rows["事项名称"],
        expected_in_catalogue=rows["expected_in_catalogue"].map({True: "true", False: "false"}),
        broken_row=rows["broken_row"].map({True: "true", False: "false"}),
    )
    _write_rows(
        out_dir / "truth.csv",
        list(TRUTH_COLUMNS),
        [truth[c].astype(str).tolist() for c in TRUTH_COLUMNS],
        "utf-8",
    )
    _write_rows(
        out_dir / "broken_files.csv",
        ["source_file", "problem"],
        [[b[0] for b in broken], [b[1] for b in broken]],
        "utf-8",
    )

    flag_counts: Counter[str] = Counter()
    for f in rows["qc_flags"]:
        if f:
            flag_counts.update(f.split(";"))
    level_files: Counter[str] = Counter(f.split("/")[0] for f in files)
    return {
        "rows": {lv: int((rows["level"] == lv).sum()) for lv in LEVELS},
        "rows_total": len(rows),
        "units": {lv: len(by_level[lv]) for lv in LEVELS},
        "files": {lv: level_files[lv] for lv in LEVELS},
        "formats": dict(sorted(Counter(fmts.values()).items())),
        "catalogue_items": len(catalogue),
        "catalogue_files": cat_files,
        "withheld_items": int((withheld["withheld_kind"] == "withheld_item").sum()),
        "withheld_siblings": int((withheld["withheld_kind"] == "withheld_sibling").sum()),
        "variations": {v: int(n) for v, n in rows["variation"].value_counts().sort_index().items()},
        "qc_flags": dict(sorted(flag_counts.items())),
        "broken_files": [b[0] for b in broken],
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _write_broken_files(
    out_dir: Path,
    units: list[_Unit],
    spare_counties: list[tuple[str, str, str]],
    model: _Model,
    rng: np.random.Generator,
) -> list[tuple[str, str]]:
    """Files no reader can use; their rows are not part of truth.csv."""
    cat = model.items
    sample = cat.iloc[rng.choice(len(cat), 8, replace=False)]

    def frame(code: str, agency: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "行政区划代码": code,
                "实施主体": agency,
                "事项名称": sample["name"].to_numpy(),
                "基本编码": sample["base_code"].to_numpy(),
                "事项类型": sample["item_type"].to_numpy(),
                "设定依据": sample["basis"].to_numpy(),
                "办件类型": sample["handling"].to_numpy(),
                "法定办结时限": sample["legal"].astype(str).to_numpy(),
                "承诺办结时限": sample["legal"].astype(str).to_numpy(),
                "到办事现场次数": "1",
            }
        )

    out: list[tuple[str, str]] = []
    code6, county, city = spare_counties[0]
    body = frame(f"{code6}000000", f"{city}{county}行政审批局").to_csv(
        index=False, lineterminator="\n"
    )
    raw = bytearray(body.encode("gb18030"))
    for pos in sorted(
        rng.choice(np.arange(200, len(raw)), 4, replace=False).tolist(), reverse=True
    ):
        raw[pos:pos] = b"\xff\xfe"
    rel = f"county/{code6}_{county}_实施清单（编码异常）.csv"
    (out_dir / rel).write_bytes(bytes(raw))
    out.append((rel, "undecodable: bytes invalid in UTF-8 and GB18030"))

    code6b, county_b, city_b = spare_counties[1]
    rel = f"township/{code6b}101_缺少区划代码列.csv"
    frame(f"{code6b}101000", f"{city_b}{county_b}某镇人民政府").drop(columns="行政区划代码").to_csv(
        out_dir / rel, index=False, encoding="utf-8", lineterminator="\n"
    )
    out.append((rel, "missing column 行政区划代码"))

    village = next(u for u in units if u.level == "village")
    rel = f"village/{village.code[:9]}_补充清单（空）.csv"
    (out_dir / rel).write_bytes(b"")
    out.append((rel, "empty file (0 bytes)"))

    city_u = next((u for u in units if u.level == "city"), None)
    name = city_u.name if city_u else "广安市"
    code = city_u.code[:6] if city_u else "511600"
    rel = f"city/{code}_{name}_补充清单（仅表头）.csv"
    (out_dir / rel).write_text(",".join(LIST_HEADERS) + "\n", encoding="utf-8")
    out.append((rel, "header only, no data rows"))

    rel = "province/510000_四川省_损坏文件.xlsx"
    (out_dir / rel).write_bytes(rng.integers(0, 256, size=4096, dtype=np.uint8).tobytes())
    out.append((rel, "corrupt .xlsx (random bytes)"))
    return sorted(out)

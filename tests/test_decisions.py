"""Steward decisions: latest wins, undo, scopes, and how runs apply them."""

import numpy as np
import pandas as pd
import pytest

from shixiang import decisions as dec

CATALOGUE = {"511A0131300001": "水产苗种生产审批", "511A0002000001": "建设工程规划许可证核发"}


def history(*rows: dict) -> pd.DataFrame:
    base = {
        "steward": "张三",
        "business_code": None,
        "reason": None,
        "decided_at": pd.Timestamp("2026-11-27T10:00Z"),
    }
    return pd.DataFrame([{**base, "id": i + 1, **r} for i, r in enumerate(rows)])


def decided(*rows: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "division_code": [d for d, _ in rows],
            "name_key": [k for _, k in rows],
            "status": "review",
            "business_code": np.nan,
            "catalogue_name": np.nan,
            "match_method": "none",
            "score": 80.0,
            "explanation": "待人工核对",
        }
    )


def test_latest_decision_per_key_wins_and_undo_withdraws_it() -> None:
    h = history(
        {"scope": "row", "division_code": "511602000000", "name_key": "甲", "decision": "local"},
        {
            "scope": "row",
            "division_code": "511602000000",
            "name_key": "甲",
            "decision": "confirm",
            "business_code": "511A0131300001",
        },
        {"scope": "row", "division_code": "511602000000", "name_key": "乙", "decision": "local"},
        {"scope": "row", "division_code": "511602000000", "name_key": "乙", "decision": "undo"},
    )
    in_force = dec.effective(h)
    assert in_force[["name_key", "decision"]].values.tolist() == [["甲", "confirm"]]


def test_row_scope_beats_all_scope_and_all_scope_feeds_aliases() -> None:
    h = history(
        {
            "scope": "all",
            "division_code": None,
            "name_key": "水产苗种生产审批",
            "decision": "confirm",
            "business_code": "511A0131300001",
        },
        {
            "scope": "row",
            "division_code": "511621000000",
            "name_key": "水产苗种生产审批",
            "decision": "local",
        },
    )
    in_force = dec.effective(h)
    assert dec.aliases(in_force) == {"水产苗种生产审批": "511A0131300001"}
    out = dec.apply(
        decided(("511602000000", "水产苗种生产审批"), ("511621000000", "水产苗种生产审批")),
        in_force,
        CATALOGUE,
    )
    assert out["status"].tolist() == ["confirmed", "local"]
    assert out["business_code"].tolist()[0] == "511A0131300001" and pd.isna(
        out["business_code"].iloc[1]
    )
    assert (out["match_method"] == "steward").all()
    assert "张三" in out["explanation"].iloc[0]


def test_reject_sends_the_row_to_the_unit_with_the_reason() -> None:
    h = history(
        {
            "scope": "row",
            "division_code": "511602000000",
            "name_key": "甲",
            "decision": "reject",
            "reason": "请按目录名称填报",
        }
    )
    out = dec.apply(decided(("511602000000", "甲")), dec.effective(h), CATALOGUE)
    assert out["status"].iloc[0] == "unmatched"
    assert out["steward_reason"].iloc[0] == "请按目录名称填报"


def test_a_confirmation_whose_code_left_the_catalogue_is_reviewed_again_not_applied() -> None:
    h = history(
        {
            "scope": "row",
            "division_code": "511602000000",
            "name_key": "甲",
            "decision": "confirm",
            "business_code": "511A9999999901",
        }
    )
    out = dec.apply(decided(("511602000000", "甲")), dec.effective(h), CATALOGUE)
    assert out["status"].iloc[0] == "review"
    assert pd.isna(out["business_code"].iloc[0])
    assert "已不在通用目录中" in out["explanation"].iloc[0]


def test_decisions_of_other_units_or_names_do_not_apply() -> None:
    h = history(
        {"scope": "row", "division_code": "511621000000", "name_key": "甲", "decision": "local"}
    )
    out = dec.apply(
        decided(("511602000000", "甲"), ("511621000000", "乙")), dec.effective(h), CATALOGUE
    )
    assert out["status"].tolist() == ["review", "review"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"decision": "confirm"}, "必须填写目录编码"),
        ({"decision": "confirm", "business_code": "X-1"}, "不在当前通用目录中"),
        ({"decision": "maybe"}, "未知的决定"),
        ({"decision": "local", "division_code": None}, "必须指明行政区划代码"),
        ({"decision": "local", "steward": " "}, "必须填写数据管理员姓名"),
    ],
)
def test_invalid_decisions_are_refused_with_a_reason(kwargs: dict, message: str) -> None:
    base = {"steward": "张三", "name_key": "甲", "division_code": "511602000000"}
    with pytest.raises(dec.DecisionError, match=message):
        dec.Decision(**{**base, **kwargs}).validate(CATALOGUE)


def test_catalogue_fingerprint_changes_with_a_renamed_item() -> None:
    cat = pd.DataFrame({"business_code": list(CATALOGUE), "item_name": list(CATALOGUE.values())})
    renamed = cat.assign(item_name=["水产苗种生产经营审批", cat["item_name"].iloc[1]])
    assert dec.catalogue_fingerprint(cat) == dec.catalogue_fingerprint(cat.iloc[::-1])
    assert dec.catalogue_fingerprint(cat) != dec.catalogue_fingerprint(renamed)


def test_a_decision_recorded_under_an_older_name_model_still_applies() -> None:
    # Recorded when 县级X was keyed as X; the name model now keeps a leading level word in
    # the key. The decision carries the name it was taken on, so it is re-keyed, not lost.
    from shixiang.names import parse_name

    name = "县级文物保护单位修缮许可"
    h = history(
        {
            "scope": "row",
            "division_code": "511602000000",
            "name_key": "文物保护单位修缮许可",
            "item_name": name,
            "decision": "local",
        },
        {"scope": "row", "division_code": "511602000000", "name_key": "甲", "decision": "local"},
    )
    in_force = dec.effective(h)
    assert in_force["name_key"].tolist() == [parse_name(name).key, "甲"]
    out = dec.apply(decided(("511602000000", parse_name(name).key)), in_force, CATALOGUE)
    assert out["status"].tolist() == ["local"]

"""What changed since the last publication, per unit, keyed like steward decisions."""

import pandas as pd

from shixiang import changes


def library(*rows: tuple) -> pd.DataFrame:
    cols = ["division_code", "agency", "item_name", "status", "business_code"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["level"] = "county"
    frame["name_key"] = frame["item_name"]
    frame["catalogue_name"] = frame["item_name"].where(frame["business_code"].notna())
    return frame


U, A = "511602000000", "广安区行政审批局"


def test_the_first_publication_has_no_changes() -> None:
    assert changes.library_changes(None, library((U, A, "户口恢复", "matched", "C1"))).empty


def test_added_removed_status_and_code_changes_per_unit() -> None:
    before = library(
        (U, A, "户口恢复", "matched", "C1"),
        (U, A, "户口注销", "review", None),
        (U, A, "社会保障卡挂失", "matched", "C3"),
        (U, A, "招聘会服务", "matched", "C9"),
    )
    after = library(
        (U, A, "招聘会服务", "matched", "C9"),  # re-ordered, unchanged
        (U, A, "户口注销", "confirmed", "C2"),  # a steward confirmed it: status and code
        (U, A, "社会保障卡挂失", "unmatched", None),  # the code left the catalogue
        (U, A, "公路超限运输许可", "matched", "C10"),
    )
    out = changes.library_changes(before, after)
    got = dict(zip(out["item_name"], out["change"], strict=True))
    assert got == {
        "公路超限运输许可": "added",
        "户口恢复": "removed",
        "户口注销": "code_changed",
        "社会保障卡挂失": "code_changed",
    }
    removed = out.loc[out["change"] == "removed"].iloc[0]
    assert removed["status_before"] == "matched" and pd.isna(removed["status"])
    assert changes.summary(out) == {
        "added": 1,
        "removed": 1,
        "status_changed": 0,
        "code_changed": 2,
    }
    per_unit = changes.by_unit(out)
    assert per_unit[["division_code", "total"]].values.tolist() == [[U, 4]]


def test_a_status_change_without_a_code_change() -> None:
    before = library((U, A, "户口注销", "unmatched", None))
    after = library((U, A, "户口注销", "review", None))
    out = changes.library_changes(before, after)
    assert out["change"].tolist() == ["status_changed"]
    assert (out.at[0, "status_before"], out.at[0, "status"]) == ("unmatched", "review")

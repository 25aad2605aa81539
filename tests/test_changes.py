"""What changed since the last publication, per unit, keyed like steward decisions."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from shixiang import changes
from shixiang.tables import CHANGE_COLUMNS


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


def _merged_changes(previous: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """The comparison written the obvious way (an outer merge of the two libraries): what
    library_changes computed before it compared integer keys."""
    cols, key = changes.COMPARED_COLUMNS, ["division_code", "agency", "name_key"]
    before, after = previous[cols].drop_duplicates(key), current[cols].drop_duplicates(key)
    both = after.merge(before, on=key, how="outer", suffixes=("", "_before"), indicator=True)
    kept = both["_merge"] == "both"
    same = changes._same
    code = kept & ~same(both["business_code"], both["business_code_before"])
    status = kept & ~code & ~same(both["status"], both["status_before"])
    change = np.select(
        [both["_merge"] == "left_only", both["_merge"] == "right_only", code, status],
        ["added", "removed", "code_changed", "status_changed"],
        "",
    )
    out = both.assign(change=change).loc[change != ""]
    for col in ("level", "item_name", "catalogue_name"):
        out[col] = out[col].fillna(out[f"{col}_before"])
    return out[CHANGE_COLUMNS]


_row = st.tuples(
    st.sampled_from(["511602000000", "511621000000"]),
    st.sampled_from([A, "岳池县民政局", None]),
    st.sampled_from(["户口恢复", "户口注销", "招聘会服务", None]),
    st.sampled_from(["matched", "review", "unmatched", "confirmed", None]),
    st.sampled_from(["C1", "C2", None]),
)


@settings(max_examples=300, deadline=None)
@given(before=st.lists(_row, min_size=1, max_size=12), after=st.lists(_row, max_size=12))
def test_the_changes_are_those_of_an_outer_merge(before, after) -> None:
    previous, current = library(*before), library(*after)
    current["level"] = np.where(np.arange(len(current)) % 2, "county", None)

    def rows(frame: pd.DataFrame) -> list[tuple]:
        cells = frame[CHANGE_COLUMNS].astype(object).where(frame[CHANGE_COLUMNS].notna(), "∅")
        return sorted(tuple(map(str, r)) for r in cells.itertuples(index=False))

    got = changes.library_changes(previous, current)
    assert list(got.columns) == CHANGE_COLUMNS
    assert rows(got) == rows(_merged_changes(previous, current))
    # Per unit (a missing agency last, as sort_values puts it), the kinds in their order.
    kind = got["change"].map(["added", "removed", "code_changed", "status_changed"].index)
    units = list(zip(got["division_code"], got["agency"].fillna("\uffff"), kind, strict=True))
    assert units == sorted(units)

"""Steward decisions: what they are, which is in force, and how they apply to rows. Pure:
recording and reading them is ``shixiang.store`` (``record_decisions``, ``read_decisions``).

A decision is keyed on what identifies the item, not on row numbers: the unit's division code
plus the normalised name (``name_key``) for scope ``row``, or the normalised name alone for
scope ``all`` (every unit's identical name; these also feed the matcher's alias table). So a
decision survives re-runs, reordered rows and re-submitted files.

Decisions: ``confirm`` (this is catalogue item ``business_code``), ``local`` (a local self-built
item, not in the catalogue), ``reject`` (the unit must fix the row), ``undo`` (withdraw the
latest decision for the key). Where both apply, a unit's ``row`` decision beats an ``all`` one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from shixiang.config import STATUS_CONFIRMED, STATUS_LOCAL, STATUS_REVIEW, STATUS_UNMATCHED

CONFIRM, LOCAL, REJECT, UNDO = "confirm", "local", "reject", "undo"
DECISIONS: tuple[str, ...] = (CONFIRM, LOCAL, REJECT, UNDO)
SCOPE_ROW, SCOPE_ALL = "row", "all"
SCOPES: tuple[str, ...] = (SCOPE_ROW, SCOPE_ALL)
METHOD_STEWARD = "steward"

DECISION_LABELS = {CONFIRM: "确认", LOCAL: "本地事项", REJECT: "退回整改", UNDO: "撤销"}


class DecisionError(ValueError):
    """A decision that cannot be recorded; the message says why (in Chinese)."""


@dataclass(frozen=True)
class Decision:
    steward: str
    name_key: str
    decision: str
    scope: str = SCOPE_ROW
    division_code: str | None = None
    item_name: str | None = None
    business_code: str | None = None
    reason: str | None = None
    source: str = "cli"
    catalogue_fingerprint: str | None = None
    decided_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def validate(self, catalogue_codes: Iterable[str] | None = None) -> None:
        if not self.steward or not self.steward.strip():
            raise DecisionError("必须填写数据管理员姓名")
        if self.decision not in DECISIONS:
            raise DecisionError(f"未知的决定“{self.decision}”，应为 {'、'.join(DECISIONS)}")
        if self.scope not in SCOPES:
            raise DecisionError(f"未知的适用范围“{self.scope}”，应为 row 或 all")
        if self.scope == SCOPE_ROW and not self.division_code:
            raise DecisionError("适用范围为 row 的决定必须指明行政区划代码")
        if self.decision == CONFIRM:
            if not self.business_code:
                raise DecisionError("选择“确认”时必须填写目录编码（通用目录中的业务办理项编码）")
            if catalogue_codes is not None and self.business_code not in set(catalogue_codes):
                raise DecisionError(f"编码“{self.business_code}”不在当前通用目录中")


def catalogue_fingerprint(catalogue: pd.DataFrame) -> str:
    """A digest of the catalogue's codes and names: changes when an item is added, removed or
    renamed (used to detect a review sheet exported against an older catalogue)."""
    pairs = sorted(
        zip(catalogue["business_code"].astype(str), catalogue["item_name"].astype(str), strict=True)
    )
    return hashlib.sha256("\n".join(f"{c}\t{n}" for c, n in pairs).encode()).hexdigest()[:16]


def history_for(
    decisions: pd.DataFrame, *, division_code: str | None = None, name_key: str | None = None
) -> pd.DataFrame:
    """The decisions (``store.read_decisions``) for one unit and/or one normalised name, oldest
    first; the unit filter also keeps scope-all decisions, which reach the unit's names."""
    frame = decisions
    if name_key is not None and len(frame):
        frame = frame.loc[current_keys(frame) == name_key]
    if division_code is not None:
        frame = frame.loc[frame["division_code"].isna() | (frame["division_code"] == division_code)]
    return frame.reset_index(drop=True)


def current_keys(decisions: pd.DataFrame) -> pd.Series:
    """Each decision's ``name_key`` under the current name model, recomputed from the item name
    it was recorded with (the recorded key where there is none): a decision taken before the
    name model changed still applies to the same names."""
    from shixiang.names import parse_name  # the name model, only where decisions are keyed

    names = decisions.get("item_name")
    if names is None or names.isna().all():
        return decisions["name_key"]
    keys = {n: parse_name(n).key for n in names.dropna().unique()}
    return names.map(keys).fillna(decisions["name_key"]).astype("str")


def effective(decisions: pd.DataFrame) -> pd.DataFrame:
    """The decision in force for each key: the latest one, unless that is an undo."""
    if decisions.empty:
        return decisions.assign(key_division=pd.Series(dtype="str"))
    d = decisions.sort_values("id", kind="stable").copy()
    d["name_key"] = current_keys(d)
    d["key_division"] = d["division_code"].where(d["scope"] == SCOPE_ROW, "*")
    latest = d.drop_duplicates(["scope", "key_division", "name_key"], keep="last")
    return latest.loc[latest["decision"] != UNDO].reset_index(drop=True)


def aliases(in_force: pd.DataFrame) -> dict[str, str]:
    """Scope-all confirmations: normalised name → business code (the matcher's alias table)."""
    if in_force.empty:
        return {}
    sel = in_force.loc[(in_force["scope"] == SCOPE_ALL) & (in_force["decision"] == CONFIRM)]
    return dict(zip(sel["name_key"], sel["business_code"], strict=True))


def apply(
    rows: pd.DataFrame, in_force: pd.DataFrame, catalogue_names: dict[str, str]
) -> pd.DataFrame:
    """Apply the decisions in force to decided rows (vectorised, by key).

    ``rows`` carries ``division_code``, ``name_key`` and the decision columns of
    :func:`shixiang.matching.decide_rows`. A confirmation whose code left the catalogue is not
    applied: the row goes (back) to review with that reason. Adds ``steward_reason`` (the
    reason of a ``reject``, which becomes quality issue ST-001) and ``decision_id``.
    """
    out = rows.copy()
    for col in ("business_code", "catalogue_name", "status", "match_method"):
        out[col] = out[col].astype("str")
    out["steward_reason"] = pd.Series(np.nan, index=out.index, dtype="str")
    out["decision_id"] = pd.Series(pd.NA, index=out.index, dtype="Int64")
    if in_force.empty or out.empty:
        return out
    cols = ["id", "decision", "business_code", "reason", "steward", "decided_at"]
    by_row = in_force.loc[in_force["scope"] == SCOPE_ROW].set_index(["division_code", "name_key"])[
        cols
    ]
    by_all = in_force.loc[in_force["scope"] == SCOPE_ALL].set_index("name_key")[cols]
    keys = pd.MultiIndex.from_arrays([out["division_code"], out["name_key"]])
    hit = by_row.reindex(keys)
    hit.index = out.index
    fallback = by_all.reindex(out["name_key"].to_numpy())
    fallback.index = out.index
    hit = hit.fillna(fallback) if len(by_all) else hit
    has = hit["id"].notna()
    if not has.any():
        return out

    when = pd.to_datetime(hit["decided_at"], utc=True, errors="coerce").dt.strftime(
        "%Y-%m-%d %H:%M"
    )
    who = "数据管理员" + hit["steward"].astype("str") + "于" + when.astype("str")
    why = np.where(hit["reason"].notna(), "，理由：" + hit["reason"].astype("str"), "")
    code = hit["business_code"].astype("str")
    known = code.isin(list(catalogue_names))

    confirm = has & (hit["decision"] == CONFIRM) & known
    stale = has & (hit["decision"] == CONFIRM) & ~known
    local = has & (hit["decision"] == LOCAL)
    reject = has & (hit["decision"] == REJECT)

    out.loc[confirm, "status"] = STATUS_CONFIRMED
    out.loc[confirm, "business_code"] = code[confirm]
    out.loc[confirm, "catalogue_name"] = code[confirm].map(catalogue_names)
    out.loc[confirm, "score"] = 100.0
    out.loc[local, "status"] = STATUS_LOCAL
    out.loc[reject, "status"] = STATUS_UNMATCHED
    out.loc[stale, "status"] = STATUS_REVIEW
    for mask in (local, reject, stale):
        out.loc[mask, "business_code"] = np.nan
        out.loc[mask, "catalogue_name"] = np.nan
    applied = confirm | local | reject
    out.loc[applied, "match_method"] = METHOD_STEWARD
    out.loc[reject, "steward_reason"] = hit.loc[reject, "reason"].fillna("（未说明理由）")
    out.loc[has, "decision_id"] = hit.loc[has, "id"].astype("int64")

    text = pd.Series("", index=out.index, dtype="str")
    text[confirm] = who[confirm] + "确认为目录事项 " + code[confirm] + why[confirm]
    text[local] = who[local] + "认定为本地自建事项" + why[local]
    text[reject] = who[reject] + "退回，要求单位整改" + why[reject]
    text[stale] = who[stale] + "确认的编码 " + code[stale] + " 已不在通用目录中，请重新核对"
    explained = text[has] + "（原匹配：" + out.loc[has, "explanation"].astype("str") + "）"
    out["explanation"] = _replaced(out["explanation"], has, explained)
    return out


def _replaced(column: pd.Series, where: pd.Series, values: pd.Series) -> pd.Series:
    """``column`` with the rows ``where`` set to ``values``. A categorical column (the
    matcher's explanations, see ``matching.SHARED_TEXT_COLUMNS``) stays one, with the new
    texts added to its categories; another column becomes text."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        new = pd.Index(values.dropna().unique(), dtype="str")
        column = column.cat.add_categories(new.difference(column.cat.categories))
    else:
        column = column.astype("str")
    column = column.copy()
    column.loc[where] = values
    return column

"""What a steward does at the desk, as steward decisions (the same store and rules as the CLI).

Every function checks the row against the user's scope first and raises
:class:`~shixiang.scope.ScopeError` for a row outside it. "Every identical name within
my scope" is one ``all`` decision for the province role; for a unit steward it is one ``row``
decision per unit of the scope that wrote the name, so it never reaches another unit.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from shixiang import candidates
from shixiang import decisions as dec
from shixiang.desk.accounts import User
from shixiang.desk.queue import STATE_PENDING, Snapshot
from shixiang.scope import ScopeError, in_scope

SOURCE = "desk"
ACTIONS: dict[str, str] = {
    dec.CONFIRM: "确认为目录事项",
    dec.LOCAL: "认定为本地事项",
    dec.REJECT: "退回整改",
}
SCOPE_LABELS = {dec.SCOPE_ROW: "仅本单位此行", dec.SCOPE_ALL: "我的范围内所有同名事项"}


def scoped_row(snap: Snapshot, user: User, row_id: str) -> pd.Series:
    """The row, if the user may see it: ``KeyError`` when there is no such row,
    ``ScopeError`` when it belongs to a unit outside the user's scope."""
    row = snap.row(row_id)
    if row is None:
        raise KeyError(row_id)
    if not in_scope(user.prefix, row["division_code"]):
        raise ScopeError(f"{user.username} 无权访问 {row_id}（{row['division_code']}）")
    return row


def decisions_for(
    snap: Snapshot,
    user: User,
    row_id: str,
    decision: str,
    scope: str,
    business_code: str | None = None,
    reason: str | None = None,
) -> list[dec.Decision]:
    """The decisions that carry out one action on a row; validated, not yet recorded."""
    row = scoped_row(snap, user, row_id)
    if decision not in ACTIONS:
        raise dec.DecisionError(f"未知的操作“{decision}”")
    if scope not in SCOPE_LABELS:
        raise dec.DecisionError(f"未知的适用范围“{scope}”")
    business_code = (business_code or "").strip() or None
    reason = (reason or "").strip() or None
    if decision == dec.REJECT and not reason:
        raise dec.DecisionError("退回整改必须写明理由，单位才知道改什么")
    common = {
        "steward": user.username,
        "name_key": row["name_key"],
        "decision": decision,
        "item_name": row["item_name"],
        "business_code": business_code if decision == dec.CONFIRM else None,
        "reason": reason,
        "source": SOURCE,
    }
    if scope == dec.SCOPE_ALL and user.is_province:
        out = [dec.Decision(scope=dec.SCOPE_ALL, **common)]
    elif scope == dec.SCOPE_ALL:
        units = sorted(set(snap.same_name(user.prefix, row["name_key"])["division_code"]))
        out = [dec.Decision(scope=dec.SCOPE_ROW, division_code=u, **common) for u in units]
    else:
        out = [dec.Decision(scope=dec.SCOPE_ROW, division_code=row["division_code"], **common)]
    for d in out:
        d.validate(snap.catalogue.index)
    return [d for d in out if not _in_force_already(snap, d)]


def _in_force_already(snap: Snapshot, d: dec.Decision) -> bool:
    """The same decision is already in force for the same key (a second click, a reload)."""
    f = snap.in_force
    if f.empty:
        return False
    division = d.division_code if d.scope == dec.SCOPE_ROW else "*"
    same = f.loc[
        (f["scope"] == d.scope)
        & (f["key_division"] == division)
        & (f["name_key"] == d.name_key)
        & (f["decision"] == d.decision)
    ]
    if same.empty:
        return False
    code = same["business_code"].iloc[-1]
    return d.decision != dec.CONFIRM or code == d.business_code


def undo_for(snap: Snapshot, user: User, row_id: str) -> dec.Decision:
    """The undo of the decision in force on the row. A unit steward cannot withdraw a
    province-wide decision (it applies outside their scope)."""
    row = scoped_row(snap, user, row_id)
    current = snap.effective_for(row)
    if current is None:
        raise dec.DecisionError("这一行没有可撤销的决定")
    if current["scope"] == dec.SCOPE_ALL and not user.is_province:
        raise ScopeError(f"{user.username} 试图撤销全省范围的决定 {current['id']}")
    return dec.Decision(
        steward=user.username,
        name_key=row["name_key"],
        decision=dec.UNDO,
        scope=current["scope"],
        division_code=row["division_code"] if current["scope"] == dec.SCOPE_ROW else None,
        item_name=row["item_name"],
        reason=f"撤销决定 {current['id']}",
        source=SOURCE,
    )


def bulk_targets(snap: Snapshot, user: User, filters: Mapping[str, str]) -> pd.DataFrame:
    """The rows a bulk confirmation of the filtered slice would change: rows in review within
    the scope, not already decided, whose first candidate is in the catalogue."""
    f = snap.filtered(user.prefix, {**filters, "status": "review"})
    f = f.loc[(f["state"] != STATE_PENDING) & f["eff_id"].isna()]
    first = candidates.spread(f["candidates"], n=1)["candidate_1_code"]
    f = f.assign(first_code=first)
    return f.loc[f["first_code"].isin(snap.catalogue.index)]


def bulk_decisions(snap: Snapshot, user: User, targets: pd.DataFrame) -> list[dec.Decision]:
    out = []
    for division, key, name, code in targets[
        ["division_code", "name_key", "item_name", "first_code"]
    ].itertuples(index=False):
        if not in_scope(user.prefix, division):  # targets come from a scoped query; belt and braces
            raise ScopeError(f"{user.username} 批量确认越权：{division}")
        out.append(
            dec.Decision(
                steward=user.username,
                name_key=key,
                decision=dec.CONFIRM,
                scope=dec.SCOPE_ROW,
                division_code=division,
                item_name=name,
                business_code=code,
                reason="批量确认第一候选",
                source=SOURCE,
            )
        )
    return out


def unit_history(snap: Snapshot, user: User, name_key: str | None = None) -> pd.DataFrame:
    """Decisions the user may see, newest first: row decisions on units in scope, and
    province-wide decisions on names written in the scope (from the snapshot, which holds
    every decision it laid over: no query of its own)."""
    h = snap.decided
    if h.empty:
        return h
    if name_key is not None:
        h = h.loc[dec.current_keys(h) == name_key]
    if not user.is_province:
        names = set(snap.scoped(user.prefix)["name_key"])
        row_ok = h["division_code"].fillna("").str.startswith(user.prefix) & (
            h["scope"] == dec.SCOPE_ROW
        )
        all_ok = (h["scope"] == dec.SCOPE_ALL) & h["name_key"].isin(names)
        h = h.loc[row_ok | all_ok]
    return h.sort_values("id", ascending=False)

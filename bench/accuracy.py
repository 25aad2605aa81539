"""Accuracy benchmark: this matcher against two baselines a steward would otherwise use.

    python bench/accuracy.py                          # synth.py's province, ~30,000 rows (seed 29)
    python bench/accuracy.py --model independent      # bench/noise_model.py's province (~7,000 rows)
    python bench/accuracy.py --model independent --hard   # the same with harder rewrites
    python bench/accuracy.py --model unseen           # bench/unseen_noise.py's held-out province
    python bench/accuracy.py --small                  # the CI-sized version
    python bench/accuracy.py --data-dir DIR           # any directory with a truth.csv

Three noise models, each with its own catalogue, units, codes and ``truth.csv``:

* ``synth`` — :mod:`dev.synth`, the demo generator. It speaks the matcher's vocabulary
  (its variations are the ones :mod:`shixiang.names` undoes), so its figures are a smoke test,
  not evidence.
* ``independent`` — ``bench/noise_model.py``, written without reading the matcher: noise by
  Unicode class (every format character, space, bracket pair, quote, separator), owners and
  level markers composed by structure, numbering, generic words, qualifiers left out; with
  ``--hard`` also verb order, 的-insertion, verb expansions, abbreviations, dropped connectors,
  a missing character, homophones and a sibling's claimed code. Negatives include object
  siblings (市级… where the catalogue has 县级…).
* ``unseen`` — ``bench/unseen_noise.py``, written without reading the matcher or the
  independent model, from kinds of noise neither names (export escapes, HTML, truncation,
  look-alike characters, key bounce, codes pasted into the name …): held out, not tuned on.

Metrics (rows whose division code was rejected are left out, as the pipeline rejects them):
  precision      correct automatic matches / automatic matches
  recall         correct automatic matches / rows whose item is in the catalogue
  unmatched_in   in-catalogue rows left unmatched / in-catalogue rows
  review         rows sent to review / all rows
  false_accept   negatives of a kind auto-matched / negatives of that kind (withheld siblings,
                 object siblings, all negatives)

Per noise family: the share of its rows matched correctly (recall), wrongly, sent to review
and left unmatched; and "leave one family out": the recall of all other positive rows with
that family's rows removed, so a family that carries the overall figure is visible.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rapidfuzz import fuzz, process  # noqa: E402

from dev import synth  # noqa: E402
from shixiang import ingest, matching  # noqa: E402
from shixiang.config import LEVELS  # noqa: E402

TARGETS = {
    "precision": 0.999,
    "recall": 0.98,
    "unmatched_in": 0.01,
    "review": 0.04,
    "false_accept_sibling": 0.005,
    "false_accept_object": 0.01,
}
MODELS = ("synth", "independent", "unseen")


def load(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    cat = ingest.load_catalogue(data_dir).rows
    rows = ingest.combine({lv: ingest.load_level(data_dir, lv) for lv in LEVELS}).rows
    truth = pd.read_csv(data_dir / "truth.csv", dtype=str, keep_default_na=False)
    truth["source_row"] = truth["source_row"].astype(int)
    rows = rows.merge(
        truth[
            [
                "source_file",
                "source_row",
                "expected_business_code",
                "variation",
                "expected_in_catalogue",
            ]
        ],
        on=["source_file", "source_row"],
        how="left",
        validate="one_to_one",
    )
    if rows["variation"].isna().any():
        raise SystemExit(f"{rows['variation'].isna().sum()} rows have no label in truth.csv")
    return cat, rows


def exact_baseline(rows: pd.DataFrame, cat: pd.DataFrame) -> pd.DataFrame:
    """VLOOKUP on the exact name: a match when exactly one catalogue item has the name."""
    counts = cat["item_name"].value_counts()
    unique = cat.loc[cat["item_name"].map(counts) == 1].set_index("item_name")["business_code"]
    code = rows["item_name"].map(unique)
    return pd.DataFrame(
        {"status": np.where(code.notna(), "matched", "unmatched"), "business_code": code}
    )


def extractone_baseline(
    rows: pd.DataFrame, cat: pd.DataFrame, accept: float = 90, review: float = 70
) -> pd.DataFrame:
    """``process.extractOne(name, catalogue, scorer=WRatio)`` per distinct name: ≥ accept matches,
    ≥ review goes to review, else unmatched (a typical spreadsheet-side script)."""
    choices = cat["item_name"].tolist()
    codes = cat["business_code"].tolist()
    best: dict[str, tuple[float, str]] = {}
    for name in rows["item_name"].unique():
        hit = process.extractOne(name, choices, scorer=fuzz.WRatio)
        best[name] = (hit[1], codes[hit[2]]) if hit else (0.0, None)
    score = rows["item_name"].map(lambda n: best[n][0])
    code = rows["item_name"].map(lambda n: best[n][1])
    status = np.where(score >= accept, "matched", np.where(score >= review, "review", "unmatched"))
    return pd.DataFrame({"status": status, "business_code": code.where(status == "matched")})


def metrics(decided: pd.DataFrame, rows: pd.DataFrame) -> dict[str, float]:
    auto = decided["status"].to_numpy() == "matched"
    expected = rows["expected_business_code"].to_numpy()
    in_cat = rows["expected_in_catalogue"].str.lower().eq("true").to_numpy()
    correct = auto & (decided["business_code"].fillna("").to_numpy() == expected) & in_cat
    sibling = rows["variation"].eq("withheld_sibling").to_numpy()
    objects = rows["variation"].eq("object_sibling").to_numpy()
    negative = ~in_cat
    return {
        "precision": correct.sum() / max(auto.sum(), 1),
        "recall": correct.sum() / max(in_cat.sum(), 1),
        "unmatched_in": ((decided["status"].to_numpy() == "unmatched") & in_cat).sum()
        / max(in_cat.sum(), 1),
        "review": (decided["status"].to_numpy() == "review").mean(),
        "false_accept_sibling": (auto & sibling).sum() / max(sibling.sum(), 1),
        "false_accept_object": (auto & objects).sum() / max(objects.sum(), 1),
        "false_accept_negative": (auto & negative).sum() / max(negative.sum(), 1),
    }


NEGATIVE_KINDS = ("withheld_item", "withheld_sibling", "object_sibling", "local_item")


def by_class(decided: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    # A negative that carries a positive family's noise is reported apart from the family,
    # so a family's figures are its positives' (its auto_correct is its recall).
    negative = ~rows["expected_in_catalogue"].str.lower().eq("true")
    noisy_negative = negative & ~rows["variation"].isin(NEGATIVE_KINDS)
    variation = rows["variation"].where(~noisy_negative, rows["variation"] + " (negative)")
    frame = pd.DataFrame(
        {
            "variation": variation.to_numpy(),
            "auto_correct": (
                (decided["status"] == "matched")
                & (decided["business_code"].fillna("") == rows["expected_business_code"])
            ).to_numpy(),
            "auto_wrong": (
                (decided["status"] == "matched")
                & (decided["business_code"].fillna("") != rows["expected_business_code"])
            ).to_numpy(),
            "review": (decided["status"] == "review").to_numpy(),
            "unmatched": (decided["status"] == "unmatched").to_numpy(),
        }
    )
    out = frame.groupby("variation").agg(
        rows=("auto_correct", "size"),
        auto_correct=("auto_correct", "mean"),
        auto_wrong=("auto_wrong", "mean"),
        review=("review", "mean"),
        unmatched=("unmatched", "mean"),
    )
    # Leave one family out: recall of the other positive rows.
    positive = rows["expected_in_catalogue"].str.lower().eq("true").to_numpy()
    correct = frame["auto_correct"].to_numpy()
    variation = frame["variation"].to_numpy()
    out["recall_without"] = [
        correct[positive & (variation != v)].sum() / max((positive & (variation != v)).sum(), 1)
        for v in out.index
    ]
    return out.sort_values("rows", ascending=False)


def generate(model: str, out: Path, *, rows: int, seed: int, hard: bool) -> None:
    """Write a labelled province of ``model`` into ``out``."""
    if model == "synth":
        synth.generate_province(
            out, target_rows=rows, seed=seed, broken_files=False, xlsx_share=0.0
        )
        return
    sys.path.insert(0, str(REPO / "bench"))
    if model == "independent":
        import noise_model

        noise_model.generate_province(out, seed=seed, rows=rows, hard=hard)
    else:
        import unseen_noise

        unseen_noise.generate_province(out, seed=seed, rows=rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--model", choices=MODELS, default="synth", help="noise model (see above)")
    ap.add_argument("--hard", action="store_true", help="independent model: harder rewrites")
    ap.add_argument("--rows", type=int, default=None, help="30,000 for synth, else 7,000")
    ap.add_argument("--seed", type=int, default=None, help="29 for synth, else 1")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--show-errors",
        type=int,
        default=15,
        help="print this many wrong automatic matches and unmatched reuses",
    )
    args = ap.parse_args(argv)
    synthetic = args.model == "synth"
    if args.rows is None:
        args.rows = 4000 if args.small else (30_000 if synthetic else 7000)
    if args.seed is None:
        args.seed = 29 if synthetic else 1

    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = Path(tempfile.mkdtemp(prefix="shixiang-acc-"))
        generate(args.model, tmp, rows=args.rows, seed=args.seed, hard=args.hard)
        data_dir = tmp
    try:
        cat, rows = load(data_dir)
        print(
            f"evaluation set: {data_dir} — {len(rows):,} rows, {len(cat):,} catalogue items, "
            f"{rows['expected_in_catalogue'].str.lower().eq('true').sum():,} rows whose item is in the catalogue"
        )
        results = {}
        timings = {}
        for name, fn in (
            ("exact name (VLOOKUP)", lambda: exact_baseline(rows, cat)),
            ("extractOne(WRatio) ≥90 / ≥70", lambda: extractone_baseline(rows, cat)),
            ("shixiang", lambda: matching.decide(rows, cat)),
        ):
            t = time.perf_counter()
            decided = fn()
            timings[name] = time.perf_counter() - t
            results[name] = metrics(decided.reset_index(drop=True), rows.reset_index(drop=True))
            if name == "shixiang":
                ours = decided.reset_index(drop=True)
        table = pd.DataFrame(results).T
        table["seconds"] = pd.Series(timings)
        pd.set_option("display.width", 200)
        print("\n" + table.to_string(float_format=lambda v: f"{v:.4f}"))
        print(
            "\ntargets: "
            + ", ".join(
                f"{k} {'≥' if k in ('precision', 'recall') else '≤'} {v}"
                for k, v in TARGETS.items()
            )
        )
        r = rows.reset_index(drop=True)
        classes = by_class(ours, r)
        print("\nshixiang by noise family (shares of the family's rows; recall_without: the")
        print("recall of all other positive rows, the family left out):")
        print(classes.to_string(float_format=lambda v: f"{v:.3f}"))
        if args.show_errors:
            wrong = ours.loc[
                (ours["status"] == "matched")
                & (ours["business_code"].fillna("") != r["expected_business_code"])
            ]
            print(f"\nwrong automatic matches ({len(wrong)}):")
            for i in wrong.index[: args.show_errors]:
                print(
                    f"  [{r.at[i, 'variation']}] {r.at[i, 'item_name']} → {ours.at[i, 'catalogue_name']} ({ours.at[i, 'match_method']})"
                )
            missed = ours.loc[
                (ours["status"] == "unmatched") & r["expected_in_catalogue"].str.lower().eq("true")
            ]
            print(f"in-catalogue rows left unmatched ({len(missed)}):")
            for i in missed.index[: args.show_errors]:
                print(f"  [{r.at[i, 'variation']}] {r.at[i, 'item_name']}")
        if args.json:
            report = {
                "model": args.model,
                "hard": args.hard,
                "seed": args.seed,
                "metrics": {k: {m: float(x) for m, x in v.items()} for k, v in results.items()},
                "seconds": timings,
                "families": json.loads(classes.to_json(orient="index")),
            }
            args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2), "utf-8")
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

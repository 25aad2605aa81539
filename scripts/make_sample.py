"""Regenerate a synthetic province (default: the demo in data/sample/).

    python scripts/make_sample.py                      # demo, scale 1, into data/sample
    python scripts/make_sample.py --target-rows 500000 --out /tmp/prov500k --no-broken

The output directory is deleted and rewritten. See dev/synth/ for what is generated.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from dev.synth import generate_province  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "data" / "sample", help="output dir")
    parser.add_argument("--scale", type=float, default=1.0, help="row multiplier (1 = demo)")
    parser.add_argument("--target-rows", type=int, default=None, help="ask for about N rows")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-broken", action="store_true", help="no deliberately broken files")
    parser.add_argument(
        "--xlsx-share", type=float, default=None, help="share of unit files as .xlsx (auto)"
    )
    args = parser.parse_args(argv)

    out: Path = args.out.resolve()
    if out in (REPO, REPO.parent, Path(out.anchor)) or out == Path.home():
        parser.error(f"refusing to delete {out}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)

    stats = generate_province(
        out,
        scale=args.scale,
        seed=args.seed,
        broken_files=not args.no_broken,
        xlsx_share=args.xlsx_share,
        target_rows=args.target_rows,
    )

    print(f"wrote {out} in {stats['seconds']} s")
    print(
        f"catalogue: {stats['catalogue_items']} business items in "
        f"{', '.join(stats['catalogue_files'])}; withheld {stats['withheld_items']} items and "
        f"{stats['withheld_siblings']} situation siblings"
    )
    print(f"unit rows: {stats['rows_total']}")
    for level, n in stats["rows"].items():
        print(
            f"  {level:9s} {n:>8d} rows  {stats['units'][level]:>6d} units  "
            f"{stats['files'][level]:>5d} files"
        )
    print("file formats: " + ", ".join(f"{k} {v}" for k, v in stats["formats"].items()))
    print("variations:")
    total = max(1, stats["rows_total"])
    for name, n in sorted(stats["variations"].items(), key=lambda kv: -kv[1]):
        print(f"  {name:20s} {n:>8d}  {100 * n / total:5.1f} %")
    print("qc flags: " + ", ".join(f"{k} {v}" for k, v in stats["qc_flags"].items()))
    if stats["broken_files"]:
        print("broken files (not in truth.csv, listed in broken_files.csv):")
        for f in stats["broken_files"]:
            print(f"  {f}")
    print(f"ground truth: {out / 'truth.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

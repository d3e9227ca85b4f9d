"""`make bench`, part 2: BPE training measured to the end (chapter 05 only estimates the naive time).

Trains 768 merges on the first 1 MB of the Wikipedia text with the naive algorithm (recount every
pair after every merge; several minutes), the incremental one, and Hugging Face `tokenizers`,
in one run, and checks the issue's targets: identical merges, incremental >= 50x faster than naive,
incremental within 10x of Hugging Face. Writes build/BENCHMARKS-bpe.md; exit status 1 on a miss.

    python tests/benchmarks/bench_bpe.py [--merges 768] [--megabytes 1]
"""
from __future__ import annotations

import argparse
import sys
import time

from course_utils import bpe, data

import report  # noqa: E402  (tests/benchmarks/report.py, next to this script)

def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--merges", type=int, default=768)
    parser.add_argument("--megabytes", type=float, default=1.0)
    args = parser.parse_args()
    text = data.wiki_text().encode("utf-8")[: int(args.megabytes * 1e6)].decode("utf-8", errors="ignore")

    print(f"[bench-bpe] {args.merges} merges on {len(text.encode()):,} bytes", flush=True)
    naive, naive_s = timed(bpe.train_naive, text, args.merges, progress=True)
    incremental, incremental_s = timed(bpe.train, text, args.merges)
    _hf, hf_s = timed(bpe.train_hf, text, 256 + args.merges)

    identical = naive == incremental
    speedup, vs_hf = naive_s / incremental_s, incremental_s / hf_s
    checks = [("identical merges", identical), ("incremental >= 50x faster than naive", speedup >= 50),
              ("incremental within 10x of Hugging Face", vs_hf <= 10)]
    lines = ["# BPE training benchmark", "",
             f"{args.merges} merges on {len(text.encode()):,} bytes of the Wikipedia text, "
             f"written by `make bench` on {time.strftime('%Y-%m-%d %H:%M')}.", "",
             "| trainer | seconds |", "|---|---|",
             f"| naive (recount every pair after every merge) | {naive_s:.1f} |",
             f"| incremental (`bpe.train`) | {incremental_s:.2f} |",
             f"| Hugging Face `tokenizers` | {hf_s:.2f} |", "",
             f"Speed-up incremental vs naive: **{speedup:.0f}x** (target >= 50); incremental / Hugging Face: "
             f"**{vs_hf:.1f}x** (target <= 10); identical merges: **{identical}**.", ""]
    return report.finish("bpe", lines, checks)


if __name__ == "__main__":
    sys.exit(main())

"""Writing a benchmark's markdown report (build/BENCHMARKS-<name>.md) and its exit status."""
from __future__ import annotations

from pathlib import Path

BUILD = Path(__file__).resolve().parents[2] / "build"


def finish(name: str, lines: list[str], checks: list[tuple[str, bool]]) -> int:
    """Append the checks to ``lines``, write and print the report; 0 if every check passed, else 1."""
    lines = lines + [f"- {check}: {'ok' if ok else 'MISSED'}" for check, ok in checks]
    BUILD.mkdir(exist_ok=True)
    (BUILD / f"BENCHMARKS-{name}.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 0 if all(ok for _, ok in checks) else 1

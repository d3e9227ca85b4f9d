"""Run mode (FAST or full), seeding, threads and device choice.

FAST mode is switched on by the environment variable ``COURSE_FAST=1`` (the test command
sets it). The same notebook code runs in both modes; only sizes differ, chosen with
:func:`pick`.
"""
from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

FAST_ENV = "COURSE_FAST"
SEED_ENV = "COURSE_SEED"
SEED = 1337  # the course's seed; COURSE_SEED replaces it for one run (see run_seed)
DEVICE_ORDER = ("cuda", "mps", "cpu")


def is_fast() -> bool:
    """True when ``COURSE_FAST`` is set to 1/true/yes (case-insensitive)."""
    value = os.environ.get(FAST_ENV, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return False
    if value in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{FAST_ENV}={value!r} is not understood; use 1 (FAST) or 0 (full).")


def pick(*, fast, full):
    """Return ``fast`` in FAST mode and ``full`` otherwise.

    Keyword-only so a call reads as what it means: ``steps = pick(fast=50, full=2000)``.
    """
    return fast if is_fast() else full


def run_seed() -> int:
    """The seed of this run: ``COURSE_SEED`` if set, else :data:`SEED`.

    The trainings that give chapters 06-09 their results (pretraining, SFT, the reward model, PPO,
    DPO, LoRA) take their seed from here, so ``make bench`` can run a chapter at several seeds and
    report how far its numbers move; data sets keep fixed seeds, so every run sees the same examples.
    """
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return SEED
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{SEED_ENV}={value!r} is not an integer seed") from None


def seed_everything(seed: int = SEED) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def best_device() -> torch.device:
    """The fastest device present, in the order cuda > mps > cpu."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def setup(seed: int | None = None, threads: int | None = None, quiet: bool = False) -> torch.device:
    """Prepare a notebook: seed everything (with :func:`run_seed` unless ``seed`` is given), set
    CPU threads, apply the plot style, pick a device.

    Returns the device to use. Prints one line with the versions and the mode, so a
    screenshot of a problem tells us what the learner was running.
    """
    seed = run_seed() if seed is None else seed
    seed_everything(seed)
    if threads is None:
        threads = max(1, min(os.cpu_count() or 1, 8))
    if not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be a positive int, got {threads!r}")
    torch.set_num_threads(threads)
    from .plots import use_style  # local import: matplotlib is slow to import

    use_style()
    device = best_device()
    if not quiet:
        mode = "FAST (CI sizes)" if is_fast() else "full"
        print(
            f"python {platform.python_version()} | torch {torch.__version__} | numpy {np.__version__}"
            f" | device {device} | threads {threads} | seed {seed} | mode {mode}"
        )
    return device

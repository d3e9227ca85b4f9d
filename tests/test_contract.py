"""The contract every chapter keeps (README, "Writing a chapter"), checked on the notebook files.

1. A chapter writes the code it is about in its own cells: each name in TAUGHT is defined there
   (``def`` or ``class``), and when the chapter's own package module is imported, a cell that
   uses it also asserts (the package gives the same numbers as the cells). No cell prints package source (``inspect.getsource``) instead.
2. A code cell does one job: at most MAX_LINES lines.
3. A notebook imports from ``course_utils`` only what earlier chapters built (or its own module,
   to compare with) plus plumbing.
Each check is a function of a notebook's code cells, so the tests below can also show that it
fails on a notebook that breaks the rule.
"""
import ast
import json
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_LINES = 40

# The chapter that builds each package module; a notebook may import modules of its chapter or earlier.
MODULE_CHAPTER = {"train": 0, "monitor": 1, "charlm": 1, "word2vec": 4, "bpe": 5, "gpt": 6, "pretrain": 6,
                  "sft": 7, "rlhf": 8, "lora": 9, "llama": 10, "smollm": 10, "calculator": 10, "grpo": 10}
PLUMBING = {"config", "data", "artifacts", "plots", "widgets", "results", "exercises", "glossary", "colab"}

# What each chapter is about, written in its own cells (at least these names).
TAUGHT = {
    0: ["Value", "backward", "train_linear", "SGD", "Momentum", "RMSprop", "Adam"],
    1: ["make_mlp", "train_chars", "BatchNorm1dScratch", "MiniMonitor"],
    2: ["conv2d_loops", "conv2d_im2col", "pool2d", "make_cnn", "DeepCNN"],
    3: ["rnn_forward", "lstm_forward", "gru_forward", "CharLM", "train_lm"],
    4: ["ns_update", "sg_ns_step", "cbow_ns_step", "sg_hs_step", "train_one_thread"],
    5: ["pair_counts", "merge", "train_simple", "encode_simple", "decode_simple"],
    6: ["attention", "multi_head_attention", "layer_norm", "block_forward", "gpt_forward", "generate"],
    7: ["encode_example", "collate", "masked_loss", "finetune"],
    8: ["gold", "MyRewardModel", "bradley_terry_loss", "rollout", "gae_one_answer", "ppo_loss", "ppo_step",
        "dpo_loss", "dpo_steps"],
    9: ["MyLoRALinear", "inject", "merge", "quantize_absmax"],
    10: ["rms_norm", "rope", "swiglu", "gqa_attention", "dequant_q8_0", "dequant_q4_1", "block_forward",
         "advantages", "grpo_objective", "grpo_step"],
}
OWN_MODULE = {0: "train", 1: "monitor", 4: "word2vec", 5: "bpe", 6: "gpt", 7: "sft", 8: "rlhf", 9: "lora",
              10: "llama"}


def code_cells(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _tree(src: str) -> ast.Module:
    # IPython magics and shell lines are not Python; blank them before parsing
    return ast.parse("\n".join("" if ln.lstrip().startswith(("%", "!")) else ln for ln in src.splitlines()))


def imported_modules(cells: list[str]) -> dict[str, set[str]]:
    """course_utils module -> how the notebook refers to it: ``{"w2v."}`` for ``from course_utils
    import word2vec as w2v``, ``{"Monitor"}`` for ``from course_utils.monitor import Monitor``."""
    out: dict[str, set[str]] = {}
    for src in cells:
        for node in ast.walk(_tree(src)):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("course_utils"):
                if node.module == "course_utils":
                    for a in node.names:
                        out.setdefault(a.name, set()).add((a.asname or a.name) + ".")
                else:
                    out.setdefault(node.module.split(".")[1], set()).update(a.asname or a.name for a in node.names)
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name.startswith("course_utils."):
                        out.setdefault(a.name.split(".")[1], set()).add((a.asname or a.name) + ".")
    return out


def defined_names(cells: list[str]) -> set[str]:
    return {node.name for src in cells for node in ast.walk(_tree(src))
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))}


def violations(chapter: int, cells: list[str]) -> list[str]:
    """Every way these code cells break the contract for ``chapter`` (empty: none)."""
    found = []
    for k, src in enumerate(cells):
        if re.search(r"\bgetsource\b", src):
            found.append(f"code cell {k} prints package source (inspect.getsource): write the code in the cell")
        n = len(src.splitlines())
        if n > MAX_LINES:
            found.append(f"code cell {k} has {n} lines (at most {MAX_LINES}): split it")
    modules = imported_modules(cells)
    for module in modules:
        if module in PLUMBING:
            continue
        if module not in MODULE_CHAPTER:
            found.append(f"imports course_utils.{module}, which is neither a chapter's module nor plumbing")
        elif MODULE_CHAPTER[module] > chapter:
            found.append(f"imports course_utils.{module}, built only in chapter {MODULE_CHAPTER[module]:02d}")
    missing = [n for n in TAUGHT.get(chapter, []) if n not in defined_names(cells)]
    if missing:
        found.append(f"does not define in its cells what it teaches: {missing}")
    own = OWN_MODULE.get(chapter)
    if own in modules:
        used = re.compile(r"\b(" + "|".join(re.escape(name) for name in modules[own]) + ")")
        if not any(used.search(src) and re.search(r"^\s*assert\b", src, re.M) for src in cells):
            found.append(f"imports its own module course_utils.{own} but no assert compares against it")
    return found


def _chapter(path: pathlib.Path) -> int:
    return int(path.name[:2])


def test_every_chapter_is_covered():
    assert sorted(_chapter(p) for p in NOTEBOOKS) == sorted(TAUGHT)


def test_every_package_module_is_classified_and_listed():
    modules = {p.stem for p in (ROOT / "course_utils").glob("*.py") if p.stem != "__init__"}
    assert modules == set(MODULE_CHAPTER) | PLUMBING
    index = (ROOT / "course_utils" / "__init__.py").read_text(encoding="utf-8")   # the package's table of contents
    assert {m for m in modules if f"- ``{m}``" not in index} == set()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_keeps_the_contract(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert violations(_chapter(path), code_cells(nb)) == []


def _chapter_cells(chapter: int) -> list[str]:
    path = next(p for p in NOTEBOOKS if _chapter(p) == chapter)
    return code_cells(json.loads(path.read_text(encoding="utf-8")))


def test_contract_rejects_printed_source_instead_of_code():
    cells = _chapter_cells(9)
    # replace the cell that defines LoRALinear by one that prints the package's version
    k = next(i for i, src in enumerate(cells) if "class MyLoRALinear" in src)
    broken = cells[:k] + ["import inspect\nprint(inspect.getsource(lora.LoRALinear))"] + cells[k + 1:]
    found = violations(9, broken)
    assert any("getsource" in v for v in found) and any("MyLoRALinear" in v for v in found)


def test_contract_rejects_long_cells_later_modules_and_unchecked_imports():
    cells = _chapter_cells(4)
    assert any("lines (at most" in v for v in violations(4, cells + ["x = 1\n" * (MAX_LINES + 1)]))
    assert any("chapter 06" in v for v in violations(4, cells + ["from course_utils import gpt"]))
    no_asserts = [re.sub(r"^(\s*)assert\b.*$", r"\1pass", src, flags=re.M) for src in cells]
    assert any("no assert" in v for v in violations(4, no_asserts))

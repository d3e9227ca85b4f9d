"""Supervised fine-tuning (chapter 07): instruction data, the chat template, loss masks, the SFT run.

The instruction data is built from the Wikipedia text, so nothing is downloaded. Six task types
turn one sentence into an (instruction, answer) pair; five have exactly one right answer and are
graded by exact match, the sixth (finish a sentence) is open. They were chosen for what a
0.9M-parameter model can learn in two minutes: finding a year or a comma, judging a length or a
word order; copying a word it has to locate first (the first word, a repeat) needs "induction heads"
that this small model does not form in that time (chapter 07 measures it). Test inputs come from the 10 articles
that pretraining held out, so no test sentence is in any training example (pretraining included).

A conversation is laid out with three special tokens added to the chapter 05 tokenizer::

    <|endoftext|><|user|>Repeat this sentence: The cat sat.<|assistant|>The cat sat.<|end|>

Training uses only the answer tokens and ``<|end|>`` as targets (the prompt's targets are -100,
which ``cross_entropy`` ignores). :func:`get_sft_model` loads the fine-tuned GPT from the artifact
cache or trains it from the chapter 06 checkpoint; chapters 08 and 09 start from it.
"""
from __future__ import annotations

import dataclasses
import random
import re
import time
from dataclasses import dataclass
from typing import Callable, NamedTuple

import torch

from . import artifacts, bpe, data, pretrain
from .config import pick, run_seed
from .gpt import GPT, GPTConfig
from .train import TrainConfig, fit, lr_schedule, make_optimizer

USER, ASSISTANT, END = "<|user|>", "<|assistant|>", "<|end|>"
CHAT_TOKENS = (USER, ASSISTANT, END)
IGNORE = -100                      # the target value F.cross_entropy skips (ignore_index)
MAX_ANSWER_TOKENS = 48             # generation limit: an answer that has not ended by then fails

_CLEAN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ,'-]*\.")       # plain prose ending with a full stop
_YEAR = re.compile(r"\b(1[0-9]{3}|20[0-2][0-9])\b")
_NUMBER = re.compile(r"\d+")
_DANGLING = re.compile(r"\b(as|or|and|of|the|a|to|in),|\b(or|and|of|the|a|to|in)\.$")   # words lost in cleaning


@dataclass(frozen=True)
class Example:
    """One instruction: ``task`` name, the user's ``instruction``, the expected ``answer``, and the
    ``source`` sentence it was made from (used to prove test inputs are not in training)."""

    task: str
    instruction: str
    answer: str
    source: str


def _year(s, rng):
    years = _YEAR.findall(s)
    if len(years) != 1 or len(_NUMBER.findall(s)) != 1:
        return None
    return rng.choice(["Which year does this sentence mention? {s}", "Year in: {s}"]).format(s=s), years[0]


def _has_year(s, rng):
    if not _YEAR.search(s) and (_NUMBER.search(s) or rng.random() < 0.8):
        return None    # other numbers are ambiguous; most sentences have no year: keep 1 in 5 for balance
    template = rng.choice(["Does this sentence mention a year? {s}", "Any year in: {s}"])
    return template.format(s=s), "yes" if _YEAR.search(s) else "no"


def _word_order(s, rng):
    words = s[:-1].split()
    if rng.random() < 0.5:
        shuffled = words[:]
        while shuffled == words:
            rng.shuffle(shuffled)
        s, answer = " ".join(shuffled) + ".", "no"
    else:
        answer = "yes"
    return rng.choice(["Is this sentence in its original word order? {s}", "Word order ok? {s}"]).format(s=s), answer


def _long(s, rng):
    n = len(s.split())
    if n == 10:
        return None                             # keep a margin between the two answers
    template = rng.choice(["Is this sentence longer than 10 words? {s}", "More than 10 words? {s}"])
    return template.format(s=s), "yes" if n > 10 else "no"


def _comma(s, rng):
    template = rng.choice(["Does this sentence contain a comma? {s}", "Any comma in: {s}"])
    return template.format(s=s), "yes" if "," in s else "no"


def _complete(s, rng):
    words = s.split()
    if len(words) < 8:
        return None
    half = max(len(words) // 2, len(words) - 6)          # the answer is the last 4-6 words
    template = rng.choice(["Complete the sentence: {s}", "Finish this: {s}"])
    return template.format(s=" ".join(words[:half])), " ".join(words[half:])


class Task(NamedTuple):
    make: Callable      # make(sentence, rng) -> (instruction, answer), or None if it does not apply
    exact: bool         # graded by exact match (a checkable task)?


TASKS: dict[str, Task] = {
    "year": Task(_year, exact=True),
    "has year": Task(_has_year, exact=True),
    "word order": Task(_word_order, exact=True),
    "long": Task(_long, exact=True),
    "comma": Task(_comma, exact=True),
    "complete": Task(_complete, exact=False),
}
CHECKABLE = [name for name, task in TASKS.items() if task.exact]


def sentences(articles: list[tuple[str, str]]) -> list[str]:
    """Plain sentences (letters, digits, commas, hyphens, apostrophes; a final full stop) of 4-30
    words from ``articles``; the year task may use up to 30 words, the others up to 16."""
    out = []
    for _title, body in articles:
        for s in data.split_sentences(body):
            if _CLEAN.fullmatch(s) and not _DANGLING.search(s) and 4 <= len(s.split()) <= 30:
                out.append(s)
    return list(dict.fromkeys(out))   # each sentence once


def make_examples(pool: list[str], per_task: int, seed: int, replace: bool = True) -> list[Example]:
    """Up to ``per_task`` examples of every task from sentences of ``pool`` drawn at random (the year
    task takes sentences of up to 30 words, the others up to 16). With ``replace=False`` a sentence
    is used at most once per task, so a small pool gives fewer examples."""
    rng = random.Random(seed)
    out = []
    for name, task in TASKS.items():
        candidates = [s for s in pool if name == "year" or len(s.split()) <= 16]
        order = rng.sample(candidates, len(candidates))
        made = 0
        while made < per_task and (order or replace):
            sentence = order.pop() if order else rng.choice(candidates)
            pair = task.make(sentence, rng)
            if pair is not None:
                out.append(Example(name, *pair, sentence))
                made += 1
    return out


def build_dataset(train_per_task: int, val_per_task: int, test_per_task: int,
                  seed: int = 1337) -> dict[str, list[Example]]:
    """{"train", "val", "test"}: examples made from disjoint sentences.

    Test sentences come from the pretraining validation articles (the last 10); train and val from
    the other articles, every 10th sentence kept for val. A sentence that also occurs in a training
    article is not used for testing, and a test set never repeats a sentence within a task.
    """
    articles = data.wiki_articles()
    pool = sentences(articles[:-data.VAL_ARTICLES])
    val_pool, train_pool = pool[::10], [s for i, s in enumerate(pool) if i % 10]
    seen = set(pool)
    test_pool = [s for s in sentences(articles[-data.VAL_ARTICLES:]) if s not in seen]
    return {"train": make_examples(train_pool, train_per_task, seed),
            "val": make_examples(val_pool, val_per_task, seed + 1),
            "test": make_examples(test_pool, test_per_task, seed + 2, replace=False)}


# ---- the chat template -------------------------------------------------------------------------
def chat_tokenizer(tok: bpe.Tokenizer | None = None) -> bpe.Tokenizer:
    """A copy of the course tokenizer with the chat tokens appended (ids 2048, 2049, 2050)."""
    base = tok or bpe.get_tokenizer()
    chat = bpe.Tokenizer(base.merges, base.pattern, base.special_tokens)
    chat.add_special_tokens(list(CHAT_TOKENS))
    return chat


def encode_prompt(tok: bpe.Tokenizer, instruction: str) -> list[int]:
    """Token ids of what the model sees before it answers: ``<|endoftext|><|user|>`` instruction
    ``<|assistant|>``. The instruction is encoded as ordinary text, so a user who types "<|end|>"
    gets the characters, not the special token."""
    s = tok.special_tokens
    return [s[bpe.ENDOFTEXT], s[USER]] + tok.encode(instruction) + [s[ASSISTANT]]


def encode_answer(tok: bpe.Tokenizer, text: str, stopped: bool = True) -> list[int]:
    """An answer's token ids in the chat template: " " + text, then ``<|end|>`` if the answer stopped.
    The leading space makes a word copied from the instruction (where a space precedes it) the
    same tokens in the answer: " Paris", not "Paris"."""
    return tok.encode(" " + text) + ([tok.special_tokens[END]] if stopped else [])


def decode_answer(tok: bpe.Tokenizer, ids: list[int]) -> str:
    """The inverse of :func:`encode_answer` for the ids before ``<|end|>``: the text, leading space removed."""
    return tok.decode(ids).removeprefix(" ")


def encode_example(tok: bpe.Tokenizer, ex: Example, mask_prompt: bool = True) -> tuple[list[int], list[int]]:
    """(input ids, target ids) of one conversation, both of length L.

    targets[t] is the token that follows inputs[t]. With ``mask_prompt`` the targets inside the
    prompt are -100, so only the answer and ``<|end|>`` are learned (the answer as
    :func:`encode_answer` writes it, with its leading space).
    """
    prompt = encode_prompt(tok, ex.instruction)
    full = prompt + encode_answer(tok, ex.answer)
    inputs, targets = full[:-1], full[1:]
    if mask_prompt:
        targets = [IGNORE] * (len(prompt) - 1) + targets[len(prompt) - 1:]
    return inputs, targets


def collate(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence: x (B, L) padded with ``pad_id``, y (B, L) padded with -100.

    Right padding needs no attention mask in a causal model: a real token only attends to the
    tokens before it, and the pads come after every real token.
    """
    if not pairs:
        raise ValueError("collate needs at least one (inputs, targets) pair")
    L = max(len(i) for i, _t in pairs)
    x = torch.full((len(pairs), L), pad_id, dtype=torch.long)
    y = torch.full((len(pairs), L), IGNORE, dtype=torch.long)
    for row, (inputs, targets) in enumerate(pairs):
        if len(inputs) != len(targets):
            raise ValueError(f"row {row}: {len(inputs)} inputs but {len(targets)} targets")
        x[row, :len(inputs)] = torch.tensor(inputs)
        y[row, :len(targets)] = torch.tensor(targets)
    return x, y


def grow_vocab(model: GPT, vocab_size: int, seed: int = 0) -> GPT:
    """A copy of ``model`` with ``vocab_size`` token rows: the old rows unchanged, each new row the
    mean of the old ones plus a little noise (so the new tokens start as "an average token" and
    differ from each other). The output layer shares the matrix, so it grows with it."""
    old = model.wte.weight.data                                   # (V_old, C)
    if vocab_size < old.size(0):
        raise ValueError(f"vocab_size {vocab_size} is smaller than the model's {old.size(0)}")
    bigger = GPT(dataclasses.replace(model.config, vocab_size=vocab_size))
    state = {k: v for k, v in model.state_dict().items() if k not in ("wte.weight", "lm_head.weight")}
    g = torch.Generator().manual_seed(seed)
    new_rows = old.mean(0) + 0.02 * torch.randn(vocab_size - old.size(0), old.size(1), generator=g)
    state["wte.weight"] = torch.cat([old, new_rows])
    state["lm_head.weight"] = state["wte.weight"]
    bigger.load_state_dict(state)
    return bigger.train(model.training)


# ---- training ----------------------------------------------------------------------------------
def batches(encoded: list[tuple[list[int], list[int]]], batch_size: int, pad_id: int,
            seed: int) -> Callable[[int], tuple[torch.Tensor, torch.Tensor]]:
    """step -> a padded batch. Each epoch shuffles the examples, sorts each run of 20 batches'
    worth by length (so a batch holds similar lengths and little padding), then shuffles the batches."""
    rng = random.Random(seed)
    queue: list[list[int]] = []

    def next_batch(_step):
        if not queue:
            order = rng.sample(range(len(encoded)), len(encoded))
            for i in range(0, len(order), 20 * batch_size):
                run = sorted(order[i:i + 20 * batch_size], key=lambda j: len(encoded[j][0]))
                queue.extend(run[k:k + batch_size] for k in range(0, len(run), batch_size))
            rng.shuffle(queue)
        return collate([encoded[i] for i in queue.pop()], pad_id)
    return next_batch


@torch.no_grad()
def answer_loss(model: GPT, encoded: list[tuple[list[int], list[int]]], pad_id: int, batch_size: int = 64) -> float:
    """Mean loss per target token (nats) over examples encoded with their masks."""
    total, count = 0.0, 0
    for i in range(0, len(encoded), batch_size):
        x, y = collate(encoded[i:i + batch_size], pad_id)
        n = (y != IGNORE).sum().item()
        total += model(x, y)[1].item() * n
        count += n
    return total / count


def finetune(model: GPT, tok: bpe.Tokenizer, train: list[Example], val: list[Example],
             cfg: TrainConfig, mask_prompt: bool = True, plot: bool = True,
             desc: str = "SFT") -> tuple[GPT, dict]:
    """Fine-tune ``model`` in place on ``train``; every ``cfg.eval_every`` steps record the loss on
    the answers of ``val`` (always measured with the prompt masked, so masked and unmasked runs
    compare). Returns (model, info)."""
    pad = tok.special_tokens[END]
    train_enc = [encode_example(tok, ex, mask_prompt) for ex in train]
    val_enc = [encode_example(tok, ex, True) for ex in val]
    torch.manual_seed(cfg.seed)
    optimizer = make_optimizer(model, cfg)
    start = time.perf_counter()
    history = fit(model, optimizer, batches(train_enc, cfg.batch_size, pad, cfg.seed),
                  lambda m, b: m(*b)[1], cfg.steps,
                  eval_fn=lambda m: {"val (answers)": answer_loss(m, val_enc, pad)},
                  eval_every=cfg.eval_every, clip_grad_norm=cfg.grad_clip,
                  lr_schedule=lambda s: lr_schedule(s, cfg), plot=plot, desc=desc)
    info = {"seconds": time.perf_counter() - start, "mask_prompt": mask_prompt,
            "steps": history.steps, "train_loss": history.train_loss,
            "eval_steps": history.eval_steps, "val_loss": history.evals["val (answers)"]}
    return model.eval(), info


# ---- generation and grading --------------------------------------------------------------------
@torch.no_grad()
def generate_answers(model: GPT, tok: bpe.Tokenizer, instructions: list[str], max_new_tokens: int = MAX_ANSWER_TOKENS,
                     temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
                     generator: torch.Generator | None = None) -> list[tuple[list[int], bool]]:
    """The answer token ids to each instruction, as (ids, stopped): the ids before ``<|end|>``, and
    whether ``<|end|>`` came within ``max_new_tokens``. Prompts of equal token length are generated
    together in one batch (no padding needed), with the KV cache."""
    end = tok.special_tokens[END]
    prompts = [encode_prompt(tok, s) for s in instructions]
    groups: dict[int, list[int]] = {}
    for i, p in enumerate(prompts):
        groups.setdefault(len(p), []).append(i)
    out: list[tuple[list[int], bool]] = [([], False)] * len(prompts)
    for length, rows in groups.items():
        limit = min(max_new_tokens, model.config.block_size - length)
        idx = torch.tensor([prompts[i] for i in rows])
        gen = model.generate(idx, limit, temperature=temperature, top_k=top_k, top_p=top_p,
                             stop_token=end, generator=generator)[:, length:]
        for row, i in enumerate(rows):
            ids = gen[row].tolist()
            stopped = end in ids
            out[i] = (ids[:ids.index(end)] if stopped else ids, stopped)
    return out


def respond(model: GPT, tok: bpe.Tokenizer, instructions: list[str], max_new_tokens: int = MAX_ANSWER_TOKENS,
            temperature: float = 0.0, top_k: int | None = None, top_p: float | None = None,
            generator: torch.Generator | None = None) -> list[tuple[str, bool]]:
    """The model's answer to each instruction, as (text, stopped): the text before ``<|end|>``, and
    whether ``<|end|>`` came within ``max_new_tokens`` (see :func:`generate_answers`)."""
    answers = generate_answers(model, tok, instructions, max_new_tokens, temperature, top_k, top_p, generator)
    return [(decode_answer(tok, ids), stopped) for ids, stopped in answers]


def grade(model: GPT, tok: bpe.Tokenizer, examples: list[Example]) -> dict:
    """Greedy answers to ``examples`` and their scores: per task exact-match rate (checkable tasks)
    and stop rate; "exact match" = mean over the checkable tasks, "stop rate" over all examples."""
    answers = respond(model, tok, [ex.instruction for ex in examples])
    per_task: dict[str, dict] = {}
    for ex, (text, stopped) in zip(examples, answers):
        t = per_task.setdefault(ex.task, {"n": 0, "correct": 0, "stopped": 0})
        t["n"] += 1
        t["correct"] += int(stopped and text.strip() == ex.answer)
        t["stopped"] += int(stopped)
    for t in per_task.values():
        t["exact match"] = t["correct"] / t["n"]
        t["stop rate"] = t["stopped"] / t["n"]
    checkable = [per_task[name]["exact match"] for name in CHECKABLE if name in per_task]
    return {"tasks": per_task, "answers": [a for a, _s in answers], "stopped": [s for _a, s in answers],
            "exact match": sum(checkable) / len(checkable),
            "stop rate": sum(t["stopped"] for t in per_task.values()) / len(examples)}


# ---- the course artifact -----------------------------------------------------------------------
def configs() -> tuple[dict, TrainConfig]:
    """Dataset sizes and the SFT run (FAST: a few steps, to test the code path)."""
    sizes = {"train_per_task": pick(fast=200, full=2000), "val_per_task": pick(fast=10, full=40),
             "test_per_task": pick(fast=15, full=100)}
    cfg = TrainConfig(steps=pick(fast=30, full=900), batch_size=32, lr=3e-3, warmup=pick(fast=3, full=30),
                               weight_decay=0.1, eval_every=pick(fast=15, full=50), seed=run_seed())
    return sizes, cfg


def get_sft_model(plot: bool = True) -> tuple[GPT, bpe.Tokenizer, dict]:
    """(SFT model, chat tokenizer, info): loaded from the artifact cache, or fine-tuned now from the
    chapter 06 checkpoint (:func:`course_utils.pretrain.get_pretrained`) and saved."""
    sizes, cfg = configs()
    tok = chat_tokenizer()
    base, base_info = pretrain.get_pretrained(plot=plot)
    key = {"sizes": sizes, "train": dataclasses.asdict(cfg), "base": base_info["val_loss"][-1],
           "chat_tokens": CHAT_TOKENS, "version": 1}

    def build():
        ds = build_dataset(**sizes)
        model = grow_vocab(base, tok.vocab_size)
        model, info = finetune(model, tok, ds["train"], ds["val"], cfg, plot=plot)
        return {"config": dataclasses.asdict(model.config), "state_dict": model.state_dict(), "info": info}

    saved = artifacts.get_or_build("gpt-sft", key, build)
    model = GPT(GPTConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval(), tok, saved["info"]

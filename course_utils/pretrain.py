"""Pretraining the course GPT on the Wikipedia text (chapter 06), and the cached result for 07-09.

Data: every article tokenized by the chapter 05 tokenizer and followed by ``<|endoftext|>``;
the last ``data.VAL_ARTICLES`` (10) articles are the validation set. Training: random windows of ``block_size``
tokens, AdamW, linear warmup then cosine decay, gradient clipping (``train.TrainConfig``,
``train.make_optimizer``, ``train.lr_schedule``), the loop of :func:`course_utils.train.fit`. :func:`get_pretrained` loads the checkpoint from the artifact
cache or trains it (a few minutes in full mode) and saves it.
"""
from __future__ import annotations

import dataclasses
import math
import time

import torch

from . import artifacts, bpe, data
from .config import pick
from .gpt import GPT, GPTConfig, flops_per_token
from .train import TrainConfig, fit, lr_schedule, make_optimizer

def token_data(tokenizer: bpe.Tokenizer | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(train ids, val ids) as 1-D long tensors; each article ends with <|endoftext|>."""
    tok = tokenizer or bpe.get_tokenizer()
    eot = tok.special_tokens[bpe.ENDOFTEXT]
    articles = data.wiki_articles()
    ids = [tok.encode(body) + [eot] for _title, body in articles]
    train = [i for doc in ids[:-data.VAL_ARTICLES] for i in doc]
    val = [i for doc in ids[-data.VAL_ARTICLES:] for i in doc]
    return torch.tensor(train, dtype=torch.long), torch.tensor(val, dtype=torch.long)


def random_batch(ids: torch.Tensor, batch_size: int, block_size: int,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows: x (B, T) and the same windows shifted by one token, y (B, T)."""
    if ids.numel() <= block_size:
        raise ValueError(f"need more than block_size={block_size} tokens, got {ids.numel()}")
    starts = torch.randint(0, ids.numel() - block_size, (batch_size,), generator=generator)
    x = torch.stack([ids[s:s + block_size] for s in starts.tolist()])
    y = torch.stack([ids[s + 1:s + 1 + block_size] for s in starts.tolist()])
    return x, y


def pretrain(model_cfg: GPTConfig, train_cfg: TrainConfig, train_ids: torch.Tensor, val_ids: torch.Tensor,
             plot: bool = True, desc: str = "pretraining") -> tuple[GPT, dict]:
    """Train a fresh GPT; returns (model, info) with the history, tokens/second and seconds."""
    torch.manual_seed(train_cfg.seed)
    model = GPT(model_cfg)
    optimizer = make_optimizer(model, train_cfg)
    g = torch.Generator().manual_seed(train_cfg.seed)
    g_val = torch.Generator().manual_seed(train_cfg.seed + 1)
    val_batches = [random_batch(val_ids, train_cfg.batch_size, model_cfg.block_size, g_val)
                   for _ in range(train_cfg.eval_batches)]

    def loss_fn(m, batch):
        return m(*batch)[1]

    def eval_fn(m):
        return {"val": sum(m(x, y)[1].item() for x, y in val_batches) / len(val_batches)}

    start = time.perf_counter()
    history = fit(model, optimizer, lambda _s: random_batch(train_ids, train_cfg.batch_size, model_cfg.block_size, g),
                  loss_fn, train_cfg.steps, eval_fn=eval_fn, eval_every=train_cfg.eval_every,
                  clip_grad_norm=train_cfg.grad_clip, lr_schedule=lambda s: lr_schedule(s, train_cfg),
                  plot=plot, desc=desc)
    seconds = time.perf_counter() - start
    tokens = train_cfg.steps * train_cfg.batch_size * model_cfg.block_size
    info = {"seconds": seconds, "tokens": tokens, "tokens_per_s": tokens / seconds,
            "model_flops_per_s": tokens * flops_per_token(model_cfg) / seconds,
            "steps": history.steps, "train_loss": history.train_loss,
            "eval_steps": history.eval_steps, "val_loss": history.evals["val"]}
    return model, info


@torch.no_grad()
def evaluate(model: GPT, ids: torch.Tensor, batch_size: int = 16) -> float:
    """Mean loss (nats per token) over all of ``ids``, cut into windows of block_size tokens."""
    T = model.config.block_size
    n = (ids.numel() - 1) // T
    if n < 1:
        raise ValueError(f"need more than block_size={T} tokens to evaluate, got {ids.numel()}")
    x_all = ids[: n * T].view(n, T)
    y_all = ids[1: n * T + 1].view(n, T)
    was_training = model.training
    model.eval()
    total = 0.0
    for i in range(0, n, batch_size):
        total += model(x_all[i:i + batch_size], y_all[i:i + batch_size])[1].item() * x_all[i:i + batch_size].numel()
    model.train(was_training)
    return total / (n * T)


def bits_per_char(loss_nats: float, n_tokens: int, n_chars: int) -> float:
    """Convert a loss in nats per token into bits per character, so tokenizers can be compared."""
    return loss_nats * n_tokens / n_chars / math.log(2)


def matmul_flops(n: int = 1024, repeats: int = 10) -> float:
    """This machine's fp32 matrix-multiply speed in FLOP/s (an n x n by n x n product: 2n^3 FLOPs)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def configs() -> tuple[GPTConfig, TrainConfig]:
    """The course GPT and its pretraining run (FAST: a few steps, to test the code path)."""
    # Small on purpose: with ~2.5 minutes of CPU, a narrow model that sees more tokens ends lower
    # than a wider one that sees fewer (chapter 06 shows the numbers).
    model_cfg = GPTConfig(vocab_size=bpe.VOCAB_SIZE, block_size=256, n_layer=3, n_head=4, n_embd=128)
    train_cfg = TrainConfig(steps=pick(fast=40, full=1100), batch_size=8, lr=4e-3, warmup=pick(fast=5, full=50),
                            eval_every=pick(fast=20, full=100), eval_batches=pick(fast=2, full=8))
    return model_cfg, train_cfg


def get_pretrained(plot: bool = True) -> tuple[GPT, dict]:
    """The pretrained course GPT: loaded from the artifact cache, or trained now and saved."""
    model_cfg, train_cfg = configs()
    tok = bpe.get_tokenizer()
    key = {"model": dataclasses.asdict(model_cfg), "train": dataclasses.asdict(train_cfg),
           "tokenizer": [len(tok.merges), tok.merges[-1]], "val_articles": data.VAL_ARTICLES, "version": 1}

    def build():
        train_ids, val_ids = token_data(tok)
        model, info = pretrain(model_cfg, train_cfg, train_ids, val_ids, plot=plot)
        return {"config": dataclasses.asdict(model_cfg), "state_dict": model.state_dict(), "info": info}

    saved = artifacts.get_or_build("gpt-pretrained", key, build)
    model = GPT(GPTConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval(), saved["info"]

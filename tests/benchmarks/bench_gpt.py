"""`make bench`, part 3: the chapter 06 GPT against a character-level GPT, side by side.

Trains the course GPT (chapter 05 tokenizer, the configuration of `pretrain.configs()` in full
mode) and a byte-level GPT (256 byte values + end of text) whose width is chosen so that it has
the same parameter count (within 3%), for the same wall time, on the same articles, and compares
validation bits per character on the same 10 held-out articles. Also reports training throughput
as a fraction of this machine's matmul FLOP/s. Writes build/BENCHMARKS-gpt.md; exit 1 on a miss.

    python tests/benchmarks/bench_gpt.py
"""
from __future__ import annotations

import dataclasses
import os
import sys
import time

import torch

os.environ["COURSE_FAST"] = "0"  # the full-mode configuration, whatever the caller's environment says

from course_utils import bpe, data, gpt, pretrain, train  # noqa: E402

import report  # noqa: E402  (tests/benchmarks/report.py, next to this script)

def byte_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The articles as UTF-8 bytes, each followed by an end-of-text id 256; the same split."""
    docs = [list(body.encode("utf-8")) + [256] for _t, body in data.wiki_articles()]

    def flat(ds):
        return torch.tensor([b for d in ds for b in d], dtype=torch.long)

    return flat(docs[:-data.VAL_ARTICLES]), flat(docs[-data.VAL_ARTICLES:])


def matching_width(target: int, base: gpt.GPTConfig) -> gpt.GPTConfig:
    """The byte-level config (vocabulary 257) whose parameter count is closest to ``target``."""
    options = [dataclasses.replace(base, vocab_size=257, n_embd=c) for c in range(base.n_head, 1024, base.n_head)]
    return min(options, key=lambda cfg: abs(gpt.count_params(cfg) - target))


def median_step_s(model: gpt.GPT, ids: torch.Tensor, cfg: train.TrainConfig, steps: int = 8) -> float:
    """Median seconds of one training step (forward, backward, AdamW) of ``model``'s configuration."""
    probe = gpt.GPT(model.config)
    opt = train.make_optimizer(probe, cfg)
    times = []
    for _ in range(steps):
        x, y = pretrain.random_batch(ids, cfg.batch_size, model.config.block_size)
        start = time.perf_counter()
        loss = probe(x, y)[1]
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return sorted(times[1:])[len(times[1:]) // 2]


def main() -> int:
    torch.set_num_threads(max(1, min(os.cpu_count() or 1, 8)))
    model_cfg, train_cfg = pretrain.configs()
    tok = bpe.get_tokenizer()
    val_chars = sum(len(body) for _t, body in data.wiki_articles()[-data.VAL_ARTICLES:])
    peak = pretrain.matmul_flops()

    train_ids, val_ids = pretrain.token_data(tok)
    print(f"[bench-gpt] BPE GPT: {gpt.count_params(model_cfg):,} parameters", flush=True)
    bpe_model, bpe_info = pretrain.pretrain(model_cfg, train_cfg, train_ids, val_ids, plot=False, desc="BPE GPT")
    bpe_bpc = pretrain.bits_per_char(pretrain.evaluate(bpe_model, val_ids), val_ids.numel(), val_chars)

    byte_train, byte_val = byte_data()
    char_cfg = matching_width(gpt.count_params(model_cfg), model_cfg)
    step_s = median_step_s(gpt.GPT(char_cfg), byte_train, train_cfg)
    char_steps = max(1, round(bpe_info["seconds"] / step_s))
    char_train_cfg = dataclasses.replace(train_cfg, steps=char_steps,
                                         warmup=max(1, round(train_cfg.warmup * char_steps / train_cfg.steps)),
                                         eval_every=max(1, char_steps // 10))
    print(f"[bench-gpt] char GPT: {gpt.count_params(char_cfg):,} parameters (n_embd {char_cfg.n_embd}), "
          f"{char_steps} steps to match {bpe_info['seconds']:.0f} s", flush=True)
    char_model, char_info = pretrain.pretrain(char_cfg, char_train_cfg, byte_train, byte_val, plot=False,
                                              desc="char GPT")
    char_bpc = pretrain.bits_per_char(pretrain.evaluate(char_model, byte_val), byte_val.numel(), val_chars)

    step_flops = train_cfg.batch_size * model_cfg.block_size * gpt.flops_per_token(model_cfg) / median_step_s(
        bpe_model, train_ids, train_cfg)
    utilisation, run_utilisation = step_flops / peak, bpe_info["model_flops_per_s"] / peak
    checks = [("BPE GPT below the char GPT in val bits per character", bpe_bpc < char_bpc),
              ("training step utilisation >= 40% of matmul FLOP/s", utilisation >= 0.4),
              ("pretraining within 5 minutes", bpe_info["seconds"] <= 300)]
    lines = ["# GPT pretraining benchmark", "",
             f"Written by `make bench` on {time.strftime('%Y-%m-%d %H:%M')}; {os.cpu_count()} CPU cores; "
             f"matmul {peak / 1e9:.0f} GFLOP/s.", "",
             "| model | parameters | train seconds | tokens/s | val bits per character |", "|---|---|---|---|---|",
             f"| BPE GPT (2,048 tokens, n_embd {model_cfg.n_embd}) | {gpt.count_params(model_cfg):,} | "
             f"{bpe_info['seconds']:.0f} | {bpe_info['tokens_per_s']:,.0f} | {bpe_bpc:.3f} |",
             f"| byte-level GPT (257 tokens, n_embd {char_cfg.n_embd}) | {gpt.count_params(char_cfg):,} | "
             f"{char_info['seconds']:.0f} | {char_info['tokens_per_s']:,.0f} | {char_bpc:.3f} |", "",
             f"Training step utilisation (6N FLOPs per token / matmul FLOP/s, median of timed steps): "
             f"**{utilisation:.0%}**; over the whole run, evaluations and data included: {run_utilisation:.0%}.", ""]
    return report.finish("gpt", lines, checks)


if __name__ == "__main__":
    sys.exit(main())

"""Chapter 06 exercises: causal multi-head attention, the GPT parameter count, top-k filtering."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..exercises import exercise, require


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """q, k, v (B, nh, T, hs) -> (B, nh, T, hs); position t sees positions 0..t."""
    T = q.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))              # (B, nh, T, T)
    future = torch.ones(T, T, dtype=torch.bool).triu(diagonal=1)
    return scores.masked_fill(future, float("-inf")).softmax(dim=-1) @ v


# Planted mistake: forgets the causal mask.
def _wrong_attention(q, k, v):
    return F.scaled_dot_product_attention(q, k, v)


@exercise("06.1", "causal multi-head attention", solution=causal_attention, wrong=_wrong_attention)
def _check_causal_attention(fn) -> None:
    torch.manual_seed(0)
    for shape in [(1, 1, 1, 4), (2, 3, 7, 8), (4, 2, 16, 32)]:
        q, k, v = torch.randn(3, *shape).unbind(0)
        want = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        got = fn(q, k, v)
        require(torch.is_tensor(got) and got.shape == want.shape, f"return a tensor of shape {tuple(want.shape)}")
        gap = (got - want).abs().max().item()
        hint = ("the last position is right but earlier ones are not: mask the future"
                if torch.allclose(got[..., -1, :], want[..., -1, :], atol=1e-5) else
                "check the 1/sqrt(hs) scale and the softmax over the last dimension")
        require(gap < 1e-5, f"for (B, nh, T, hs) = {shape} you differ from F.scaled_dot_product_attention by "
                f"{gap:.2g}: {hint}")


def gpt_params(vocab_size: int, block_size: int, n_layer: int, n_embd: int) -> int:
    """Parameters of the pre-LN GPT with learned positions and a tied output layer."""
    C = n_embd
    attention = 3 * C * C + 3 * C + C * C + C          # query/key/value maps, output map W_O
    mlp = 4 * C * C + 4 * C + 4 * C * C + C            # widen to 4C and back
    layer_norms = 2 * 2 * C                            # two per block, a gain and a shift each
    return vocab_size * C + block_size * C + n_layer * (attention + mlp + layer_norms) + 2 * C


# Planted mistake: no biases or LayerNorms.
def _wrong_gpt_params(vocab_size, block_size, n_layer, n_embd):
    return vocab_size * n_embd + block_size * n_embd + n_layer * 12 * n_embd**2


@exercise("06.2", "the GPT parameter count", solution=gpt_params, wrong=_wrong_gpt_params)
def _check_gpt_params(fn) -> None:
    from ..gpt import GPTConfig, count_params

    for v, t, n, c in [(2048, 256, 4, 192), (50257, 1024, 12, 768), (10, 4, 1, 8), (257, 64, 3, 16)]:
        want = count_params(GPTConfig(vocab_size=v, block_size=t, n_layer=n, n_head=4 if c % 4 == 0 else 1, n_embd=c))
        got = fn(v, t, n, c)
        require(isinstance(got, int), f"return an int, got {type(got).__name__}")
        require(got == want, f"for vocab {v}, context {t}, {n} layers, width {c}: {want:,} parameters, you "
                f"said {got:,} (off by {got - want:+,}; biases, two LayerNorms per block and a final one count)")


def top_k_logits(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the k largest logits of each row (B, V); the rest become -inf."""
    kth = logits.topk(k, dim=-1).values[:, -1:]                 # (B, 1): the k-th largest per row
    return logits.masked_fill(logits < kth, float("-inf"))


# Planted mistake: keeps the wrong side.
def _wrong_top_k(logits, k):
    return logits.masked_fill(logits <= logits.topk(k, dim=-1).values[:, -1:], float("-inf"))


@exercise("06.3", "top-k filtering", solution=top_k_logits, wrong=_wrong_top_k)
def _check_top_k(fn) -> None:
    torch.manual_seed(0)
    for b, v, k in [(1, 10, 3), (4, 50, 1), (3, 20, 20)]:
        logits = torch.randn(b, v)
        original = logits.clone()
        got = fn(logits, k)
        require(torch.is_tensor(got) and got.shape == logits.shape, f"return a tensor of shape {(b, v)}")
        require(torch.equal(logits, original), "do not change the input tensor in place; return a copy")
        kept = torch.isfinite(got)
        require(bool((kept.sum(-1) == k).all()), f"keep exactly k={k} logits per row, got {kept.sum(-1).tolist()}")
        top = logits.topk(k, dim=-1).indices
        require(bool(kept.gather(-1, top).all()), "the kept logits must be the k largest of each row")
        require(torch.equal(got[kept], logits[kept]), "kept logits must keep their values")
        require(bool((got[~kept] == float("-inf")).all()), "the others must be -inf")

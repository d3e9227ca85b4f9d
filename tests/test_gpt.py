"""The GPT: parameter formula, Hugging Face equivalence, causality, KV cache, sampling, bad input."""
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from course_utils.gpt import (GPT, GPTConfig, count_params, flops_per_token, kv_cache_bytes, sample_next,
                              sinusoidal_positions, to_hf, top_p_filter)

SMALL = GPTConfig(vocab_size=97, block_size=32, n_layer=2, n_head=4, n_embd=32)


@pytest.mark.parametrize("pre_ln", [True, False])
@pytest.mark.parametrize("position", ["learned", "sinusoidal", "none"])
def test_parameter_formula(pre_ln, position):
    cfg = GPTConfig(vocab_size=50, block_size=16, n_layer=3, n_head=2, n_embd=24, pre_ln=pre_ln, position=position)
    assert count_params(cfg) == GPT(cfg).num_params()


def test_gpt2_small_is_124m_without_allocating():
    cfg = GPTConfig(vocab_size=50257, block_size=1024, n_layer=12, n_head=12, n_embd=768)
    assert count_params(cfg) == 124_439_808
    with torch.device("meta"):
        model = GPT(cfg)
    assert model.num_params() == 124_439_808 and model.wte.weight.is_meta
    assert flops_per_token(cfg) == 6 * (124_439_808 - 1024 * 768)
    assert kv_cache_bytes(cfg, tokens=1024, bytes_per_value=2) == 2 * 12 * 1024 * 768 * 2


def test_logits_equal_hugging_face_gpt2(make_tiny_gpt):
    model = make_tiny_gpt(SMALL)
    hf = to_hf(model)
    idx = torch.randint(0, SMALL.vocab_size, (3, SMALL.block_size))
    ours, _ = model(idx)
    with torch.no_grad():
        theirs = hf(idx).logits
    assert (ours - theirs).abs().max().item() < 1e-4
    assert hf.transformer.wte.weight.data_ptr() == hf.lm_head.weight.data_ptr()  # tied there too


def test_hf_refuses_layouts_it_does_not_have(make_tiny_gpt):
    with pytest.raises(ValueError, match="GPT-2 layout"):
        to_hf(make_tiny_gpt(vocab_size=10, block_size=8, n_head=1, n_embd=8, pre_ln=False))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, SMALL.block_size), st.data())
def test_causal_future_tokens_do_not_change_the_past(make_tiny_gpt, T, draw):
    model = make_tiny_gpt(SMALL)
    cut = draw.draw(st.integers(1, T - 1))
    idx = torch.randint(0, SMALL.vocab_size, (2, T))
    other = idx.clone()
    other[:, cut:] = torch.randint(0, SMALL.vocab_size, (2, T - cut))
    a, _ = model(idx)
    b, _ = model(other)
    assert torch.allclose(a[:, :cut], b[:, :cut], atol=1e-5)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 10), st.integers(1, 20), st.integers(0, 2**16))
def test_kv_cache_gives_the_same_greedy_tokens(make_tiny_gpt, prompt_len, new, seed):
    model = make_tiny_gpt(SMALL, seed=seed % 7)
    g = torch.Generator().manual_seed(seed)
    prompt = torch.randint(0, SMALL.vocab_size, (2, prompt_len), generator=g)
    with_cache = model.generate(prompt, new, temperature=0, use_cache=True)
    without = model.generate(prompt, new, temperature=0, use_cache=False)
    assert torch.equal(with_cache, without)


def test_cached_forward_in_pieces_equals_full_forward(make_tiny_gpt):
    model = make_tiny_gpt(SMALL)
    idx = torch.randint(0, SMALL.vocab_size, (2, 20))
    full, _ = model(idx)
    caches = model.new_caches()
    parts = [model(idx[:, a:b], caches=caches)[0] for a, b in [(0, 7), (7, 8), (8, 20)]]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


def test_stored_attention_weights_path_matches_fused_path(make_tiny_gpt):
    model = make_tiny_gpt(SMALL)
    idx = torch.randint(0, SMALL.vocab_size, (2, 12))
    fused, _ = model(idx)
    for block in model.h:
        block.attn.keep_weights = True
    manual, _ = model(idx)
    assert torch.allclose(fused, manual, atol=1e-5)
    w = model.h[0].attn.weights
    assert w.shape == (2, SMALL.n_head, 12, 12)
    assert torch.allclose(w.sum(-1), torch.ones(2, SMALL.n_head, 12))
    assert w.triu(diagonal=1).abs().max() == 0  # nothing from the future


def test_post_ln_and_position_variants_run_and_train_shapes():
    for cfg in [GPTConfig(vocab_size=20, block_size=8, n_layer=2, n_head=2, n_embd=8, pre_ln=False),
                GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=1, n_embd=8, position="sinusoidal")]:
        model = GPT(cfg)
        idx = torch.randint(0, 20, (4, 8))
        logits, loss = model(idx, targets=idx)
        assert logits.shape == (4, 8, 20) and loss.dim() == 0
        loss.backward()


def test_without_positions_one_layer_cannot_see_order(make_tiny_gpt):
    # one causal layer without positions sees its prefix as a bag of tokens (deeper stacks can
    # recover some order from the causal mask itself)
    model = make_tiny_gpt(vocab_size=20, block_size=8, position="none")         # 1 layer, 2 heads, n_embd 16
    idx = torch.tensor([[1, 2, 3, 4, 5]])
    swapped = torch.tensor([[3, 1, 2, 4, 5]])  # earlier tokens permuted, last two kept
    assert torch.allclose(model(idx)[0][0, -1], model(swapped)[0][0, -1], atol=1e-5)


def test_sinusoidal_formula():
    pe = sinusoidal_positions(50, 16)
    pos, i = 7, 3
    angle = torch.tensor(pos / 10000 ** (2 * i / 16))
    assert torch.isclose(pe[pos, 2 * i], torch.sin(angle)) and torch.isclose(pe[pos, 2 * i + 1], torch.cos(angle))


def test_sampling_rules():
    logits = torch.tensor([[0.0, 3.0, 1.0, 2.0]])
    assert sample_next(logits, temperature=0).item() == 1
    assert sample_next(logits, top_k=1).item() == 1
    assert sample_next(logits, top_p=1e-6).item() == 1
    g = torch.Generator().manual_seed(0)
    picks = {sample_next(logits, top_k=2, generator=g).item() for _ in range(200)}
    assert picks == {1, 3}
    kept = top_p_filter(logits, 0.9).isfinite()
    probs = logits.softmax(-1)[0]
    assert kept.sum() == 3 and probs[[1, 3]].sum() < 0.9 <= probs[[1, 3, 2]].sum()
    for bad in [dict(temperature=-1), dict(top_k=0), dict(top_p=0.0), dict(top_p=1.5)]:
        with pytest.raises(ValueError):
            sample_next(logits, **bad)


def test_bad_configs_and_inputs(make_tiny_gpt):
    with pytest.raises(ValueError, match="divisible"):
        GPTConfig(n_embd=10, n_head=3)
    with pytest.raises(ValueError, match="position"):
        GPTConfig(position="rotary")
    with pytest.raises(ValueError, match="positive int"):
        GPTConfig(n_layer=0)
    model = make_tiny_gpt(SMALL)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(5, dtype=torch.long))
    with pytest.raises(ValueError, match="longer than block_size"):
        model(torch.zeros(1, SMALL.block_size + 1, dtype=torch.long))
    with pytest.raises(ValueError, match="exceed block_size"):
        model.generate(torch.zeros(1, 30, dtype=torch.long), 5)


def test_generate_stops_at_stop_token(make_tiny_gpt):
    model = make_tiny_gpt(SMALL)
    prompt = torch.zeros(1, 1, dtype=torch.long)
    first = model.generate(prompt, 1, temperature=0)[0, -1].item()
    out = model.generate(prompt, 10, temperature=0, stop_token=first)
    assert out.shape == (1, 2)


def test_features_are_what_the_lm_head_reads(make_tiny_gpt):
    model = make_tiny_gpt(n_layer=2)                    # vocab 50, block 16, 2 heads, n_embd 16
    x = torch.randint(0, 50, (2, 9))
    h = model.features(x)
    assert h.shape == (2, 9, 16)
    assert torch.allclose(model(x)[0], model.lm_head(h))
    with pytest.raises(ValueError, match="shape"):
        model.features(x[0])

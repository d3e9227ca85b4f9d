"""LoRA from scratch (chapter 09): injection, merging, adapters, peft agreement, int8 weights."""
import copy

import pytest
import torch

from course_utils import lora

TARGETS = ("attn.c_attn", "attn.c_proj", "mlp.c_fc")


@pytest.fixture
def base(make_tiny_gpt):
    """The base model: a fresh tiny GPT, vocab 61, block 16, 2 layers, 2 heads, n_embd 16 (seed 0)."""
    return make_tiny_gpt(vocab_size=61, n_layer=2)


def randomise_b(model, std=0.05, seed=1):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in lora.lora_layers(model).values():
            layer.lora_B.copy_(std * torch.randn(layer.lora_B.shape, generator=g))
    return model


def tokens(seed=2, shape=(3, 12)):
    return torch.randint(0, 61, shape, generator=torch.Generator().manual_seed(seed))


def test_inject_starts_at_the_base_and_trains_only_a_and_b(base):
    model = lora.inject(base, r=4, alpha=8, targets=TARGETS)
    x = tokens()
    assert torch.equal(model(x)[0], base(x)[0])
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(n.endswith(("lora_A", "lora_B")) for n in trainable)
    shapes = [(3 * 16, 16), (16, 16), (64, 16)] * 2
    assert lora.count_trainable(model) == lora.lora_params(shapes, 4) == 2 * 4 * ((16 + 48) + (16 + 16) + (16 + 64))
    assert all(p.requires_grad for p in base.parameters()), "inject must not freeze the original model"
    model.train()
    randomise_b(model)(x, x)[1].backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == name.endswith(("lora_A", "lora_B")), name


def test_layer_matches_the_formula():
    base = torch.nn.Linear(10, 7)
    layer = lora.LoRALinear(copy.deepcopy(base), r=3, alpha=6.0)
    with torch.no_grad():
        layer.lora_B.normal_()
    x = torch.randn(5, 10)
    want = x @ base.weight.T + base.bias + 2.0 * x @ layer.lora_A.T @ layer.lora_B.T
    assert torch.allclose(layer(x), want, atol=1e-5)
    assert torch.allclose(layer.delta_weight(), 2.0 * layer.lora_B @ layer.lora_A)


def test_merge_gives_the_same_outputs_and_plain_layers(base):
    model = randomise_b(lora.inject(base, r=4, alpha=8, targets=lora.ALL_LINEAR))
    merged = lora.merge(model)
    assert not lora.lora_layers(merged) and isinstance(merged.h[0].attn.c_attn, torch.nn.Linear)
    assert lora.lora_layers(model), "merge must not change the adapted model"
    x = tokens()
    with torch.no_grad():
        assert (merged(x)[0] - model(x)[0]).abs().max() < 1e-5


def test_adapter_save_and_swap(base):
    a = randomise_b(lora.inject(base, r=2, alpha=4, targets=TARGETS), seed=3)
    b = randomise_b(lora.inject(base, r=2, alpha=4, targets=TARGETS, seed=5), seed=4)
    shared = lora.inject(base, r=2, alpha=4, targets=TARGETS)
    x = tokens()
    for adapted in (a, b, a):
        lora.load_adapter(shared, lora.adapter_state(adapted))
        assert torch.equal(shared(x)[0], adapted(x)[0])
    state = lora.adapter_state(a)
    assert set(state) and all(k.endswith(("lora_A", "lora_B")) for k in state)
    with pytest.raises(ValueError, match="adapter keys"):
        lora.load_adapter(lora.inject(base, r=2, alpha=4, targets=("attn.c_attn",)), state)


def test_agrees_with_peft(base):
    peft = pytest.importorskip("peft")
    ours = randomise_b(lora.inject(base, r=4, alpha=8, targets=TARGETS), std=0.5)
    theirs = peft.get_peft_model(copy.deepcopy(base), peft.LoraConfig(r=4, lora_alpha=8, target_modules=list(TARGETS),
                                                                       lora_dropout=0.0))
    layers, copied = lora.lora_layers(ours), 0
    for name, module in theirs.named_modules():
        key = name.removeprefix("base_model.model.")
        if key in layers and hasattr(module, "lora_A"):
            with torch.no_grad():
                module.lora_A["default"].weight.copy_(layers[key].lora_A)
                module.lora_B["default"].weight.copy_(layers[key].lora_B)
            copied += 1
    assert copied == len(layers) == 6
    x = tokens()
    with torch.no_grad():
        assert (theirs(x)[0] - ours(x)[0]).abs().max() < 1e-5


def test_absmax_quantisation():
    w = torch.randn(8, 20) * torch.logspace(-3, 1, 8)[:, None]
    q, scale = lora.quantize_absmax(w)
    assert q.dtype == torch.int8 and scale.shape == (8, 1)
    assert (q.abs().amax(dim=1) == 127).all()
    assert ((q.float() * scale - w).abs() <= scale / 2 + 1e-7).all()
    zero_q, _ = lora.quantize_absmax(torch.zeros(2, 3))
    assert (zero_q == 0).all()


def test_lora_on_an_int8_base(base):
    q_base = lora.quantize(base)
    layer = q_base.h[0].attn.c_attn
    assert isinstance(layer, lora.Int8Linear) and layer.q.dtype == torch.int8
    x = torch.randn(2, 16)
    assert torch.allclose(layer(x), x @ layer.dequantize().T + layer.bias)
    assert (layer.dequantize() - base.h[0].attn.c_attn.weight).abs().max() <= layer.scale.max() / 2 + 1e-7
    model = randomise_b(lora.inject(q_base, r=2, alpha=4, targets=TARGETS))
    assert lora.count_trainable(model) == lora.lora_params([(48, 16), (16, 16), (64, 16)] * 2, 2)
    with torch.no_grad():
        assert (lora.merge(model)(tokens())[0] - model(tokens())[0]).abs().max() < 1e-5


def test_clear_errors(base):
    with pytest.raises(ValueError, match="no module"):
        lora.inject(base, targets=("attn.query",))
    with pytest.raises(ValueError, match="rank"):
        lora.inject(base, r=0)
    with pytest.raises(ValueError, match="already"):
        lora.inject(lora.inject(base, targets=TARGETS), targets=TARGETS)

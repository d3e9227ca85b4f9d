"""Pretraining helpers: data windows, evaluation, and the cached checkpoint."""
import math

import pytest
import torch

from course_utils import bpe, data, pretrain
from course_utils.gpt import GPT
from course_utils.train import TrainConfig

VOCAB = 300   # the tiny GPT (block 16, 1 layer, 2 heads, n_embd 16) over 300 ids


def test_random_batch_is_shifted_by_one():
    ids = torch.arange(100)
    x, y = pretrain.random_batch(ids, 4, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y, x + 1)
    with pytest.raises(ValueError, match="more than block_size"):
        pretrain.random_batch(torch.arange(10), 2, 10)


def test_evaluate_is_the_mean_loss_over_windows(make_tiny_gpt):
    model = make_tiny_gpt(vocab_size=VOCAB)
    ids = torch.randint(0, 300, (16 * 5 + 3,))
    x, y = ids[:80].view(5, 16), ids[1:81].view(5, 16)
    with torch.no_grad():
        want = torch.nn.functional.cross_entropy(model(x)[0].reshape(-1, 300), y.reshape(-1)).item()
    assert pretrain.evaluate(model, ids, batch_size=2) == pytest.approx(want, rel=1e-5)
    with pytest.raises(ValueError, match="evaluate"):
        pretrain.evaluate(model, torch.arange(10))


def test_bits_per_char():
    assert pretrain.bits_per_char(math.log(2), n_tokens=10, n_chars=10) == pytest.approx(1.0)
    assert pretrain.bits_per_char(math.log(2), n_tokens=10, n_chars=30) == pytest.approx(1 / 3)


def test_pretrain_lowers_the_loss(tiny_gpt_config):
    ids = torch.tensor([1, 2, 3, 4, 5, 6, 7, 8] * 60)
    cfg = TrainConfig(steps=40, batch_size=8, lr=3e-3, warmup=5, eval_every=20, eval_batches=2)
    model, info = pretrain.pretrain(tiny_gpt_config(vocab_size=VOCAB), cfg, ids, ids, plot=False)
    assert info["val_loss"][-1] < info["val_loss"][0] - 1.0
    assert info["tokens"] == 40 * 8 * 16 and info["tokens_per_s"] > 0


def test_token_data_ends_each_article_with_endoftext(monkeypatch, make_bpe_tokenizer):
    articles = [("a", "Hello world."), ("b", "Second one."), ("c", "Third.")]
    monkeypatch.setattr(data, "wiki_articles", lambda: articles)
    monkeypatch.setattr(data, "VAL_ARTICLES", 1)
    tok = make_bpe_tokenizer("Hello world. Second one. Third.", 5)      # <|endoftext|> = 256 + 5
    train, val = pretrain.token_data(tok)
    assert train.tolist() == tok.encode("Hello world.") + [261] + tok.encode("Second one.") + [261]
    assert val.tolist() == tok.encode("Third.") + [261]


def test_get_pretrained_trains_once_then_loads(monkeypatch, make_bpe_tokenizer, tiny_gpt_config):
    tok = make_bpe_tokenizer("abc abd abe " * 20, 20)
    V = tok.vocab_size
    cfg = TrainConfig(steps=3, batch_size=2, warmup=1, eval_every=2, eval_batches=1)
    monkeypatch.setattr(bpe, "get_tokenizer", lambda: tok)
    model_cfg = tiny_gpt_config(vocab_size=V, block_size=8, n_layer=1, n_head=1, n_embd=8)
    monkeypatch.setattr(pretrain, "configs", lambda: (model_cfg, cfg))
    monkeypatch.setattr(pretrain, "token_data", lambda _tok: (torch.randint(0, V, (200,)), torch.randint(0, V, (50,))))
    model, info = pretrain.get_pretrained(plot=False)
    assert isinstance(model, GPT) and not model.training and len(info["train_loss"]) == 3
    monkeypatch.setattr(pretrain, "pretrain", lambda *a, **k: pytest.fail("should load from the cache"))
    again, _ = pretrain.get_pretrained(plot=False)
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert again.lm_head.weight.data_ptr() == again.wte.weight.data_ptr()  # tying survives loading

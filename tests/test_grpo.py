"""GRPO (chapter 10): group-relative advantages, the clipped objective with its KL term, log-probs on
answer positions only, and the loop raising a checkable reward on a tiny model."""
import pytest
import torch

from course_utils import grpo


def test_group_advantages():
    r = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0], [3.0, 1.0, 2.0, 2.0]])
    a = grpo.group_advantages(r)
    assert torch.allclose(a[0], torch.tensor([1.0, -1.0, -1.0, 1.0]) * 0.5 / 0.57735, atol=1e-3)
    assert torch.equal(a[1], torch.zeros(4))                               # all the same: no signal
    assert torch.allclose(a.mean(dim=1), torch.zeros(3), atol=1e-6)        # centred per group, not per batch
    with pytest.raises(ValueError, match="answers per prompt"):
        grpo.group_advantages(torch.ones(4))


def test_loss_at_the_start_is_minus_the_mean_advantage():
    logp = torch.randn(3, 5, requires_grad=True)
    adv, mask = torch.tensor([1.0, -2.0, 0.5]), torch.ones(3, 5, dtype=torch.bool)
    loss, stats = grpo.grpo_loss(logp, logp.detach(), logp.detach(), adv, mask)
    assert torch.allclose(loss, -adv.mean()) and stats["kl"] == 0.0
    loss.backward()                                                        # pushes log p up where A > 0
    assert (logp.grad[0] < 0).all() and (logp.grad[1] > 0).all()


def test_clipping_stops_the_push_and_kl_is_never_negative():
    old = torch.zeros(2, 3)
    logp = torch.full((2, 3), 0.5, requires_grad=True)                     # ratio e^0.5 = 1.65 > 1.2
    loss, stats = grpo.grpo_loss(logp, old, logp.detach(), torch.tensor([1.0, 1.0]), torch.ones(2, 3, dtype=torch.bool), kl_coef=0.0)
    loss.backward()
    assert torch.equal(logp.grad, torch.zeros(2, 3)) and stats["clipped"] == 1.0
    d = torch.linspace(-5, 5, 101)
    assert ((d.exp() - d - 1) >= 0).all()
    _, stats = grpo.grpo_loss(torch.zeros(1, 4), torch.zeros(1, 4), torch.ones(1, 4), torch.ones(1), torch.ones(1, 4, dtype=torch.bool))
    assert stats["kl"] == pytest.approx(torch.e - 2, rel=1e-5)


def test_mask_averages_each_answer_over_its_own_tokens():
    logp = torch.zeros(2, 4)
    mask = torch.tensor([[True, False, False, False], [True, True, True, True]])
    loss, _ = grpo.grpo_loss(logp, logp, logp, torch.tensor([2.0, 0.0]), mask)
    assert torch.allclose(loss, torch.tensor(-1.0))                        # (-2 + 0) / 2 answers


def _small_logits(model):
    """The tiny Llama (vocab 13, one layer) with small embeddings: every token gets sampled at first."""
    torch.nn.init.normal_(model.embed_tokens.weight, std=0.02)
    return model


def test_answer_logprobs_equal_a_full_log_softmax(make_tiny_llama):
    model = _small_logits(make_tiny_llama())
    x = torch.randint(0, 13, (3, 7))
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[:, 3:] = True
    got = grpo.answer_logprobs(model, x, mask)
    full = model(x)[0][:, :-1].log_softmax(-1).gather(-1, x[:, 1:, None])[..., 0]
    assert torch.allclose(got[mask], full[mask], atol=1e-6) and torch.equal(got[~mask], torch.zeros_like(got[~mask]))


def test_the_loop_raises_a_checkable_reward(make_tiny_llama):
    """Reward 1 when the one sampled token is 7: after a few steps the policy samples 7 more often."""
    policy, ref = _small_logits(make_tiny_llama()), _small_logits(make_tiny_llama())
    prompt = [1, 2, 3]

    def sample(prompts, g):
        x = policy.generate(torch.tensor([prompt] * len(prompts)), 1, temperature=1.0, generator=g)
        mask = torch.zeros(len(prompts), 3, dtype=torch.bool)
        mask[:, -1] = True
        return x, mask, [str(t) for t in x[:, -1].tolist()]

    def p7(m):
        with torch.no_grad():
            return m(torch.tensor([prompt]))[0][0, -1].softmax(-1)[7].item()

    before = p7(policy)
    cfg = grpo.GRPOConfig(steps=25, prompts=2, group=8, lr=0.05, kl_coef=0.0)
    hist = grpo.train(policy, sample, lambda p, text: float(text == "7"), lambda x, m: grpo.answer_logprobs(ref, x, m),
                      torch.optim.Adam(policy.parameters(), lr=cfg.lr), [prompt], cfg, evaluate=lambda: p7(policy))
    assert p7(policy) > before + 0.3 and hist.sequences == 25 * 16 and hist.evals[25] == pytest.approx(p7(policy))

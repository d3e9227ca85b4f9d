"""RLHF from scratch (chapter 08): gold score and raters, padding, reward model, GAE, PPO and DPO losses."""
import copy

import pytest
import torch
import torch.nn.functional as F

from course_utils import rlhf, sft
from course_utils.train import TrainConfig

WORDS = {"the", "city", "was", "built", "river"}


def ex(task="complete", answer="was built in the city."):
    return sft.Example(task, "Complete the sentence: The old", answer, "The old city was built in the city.")


def test_gold_follows_its_three_parts():
    e = ex()
    assert rlhf.gold(e, "the city was built.", True, WORDS) == 1.0
    assert rlhf.gold(e, "the city was built.", False, WORDS) == -1.0                  # never ended
    assert rlhf.gold(e, "the city was f built.", True, WORDS) == pytest.approx(0.8 - 1)   # fragment
    assert rlhf.gold(e, "no", True, WORDS | {"no"}) == pytest.approx(1 - 1 - 0.5)                   # a stray "no", too short
    assert rlhf.gold(e, "the city was built the river the city.", True, WORDS) == pytest.approx(1 - 0.25 * 2)
    assert rlhf.gold(e, "the war was built.", True, WORDS) == pytest.approx(0.75 - 1)       # harmful word
    year = sft.Example("year", "Year in: Built in 1850.", "1850", "Built in 1850.")
    assert rlhf.gold(year, "1850", True, WORDS) == 1.0
    assert rlhf.gold(year, "1850 1851", True, WORDS) == pytest.approx(-0.1)
    assert rlhf.vocabulary([ex()] * 3) == {"complete", "the", "sentence", "old"}


def test_raters_skip_near_ties_prefer_the_better_answer_and_flip_at_the_noise_rate():
    examples = [ex()] * 4000
    good, bad, close = ("the city was built.", True), ("f g h.", True), ("the city was built river.", True)
    def score(e, t, s):
        return rlhf.gold(e, t, s, WORDS)

    pairs = rlhf.rate(examples, [good] * 2000 + [good] * 2000, [bad] * 2000 + [close] * 2000, score, noise=0.1)
    assert len(pairs) == 2000, "the near-tie (margin 0) must be skipped"
    assert all((p.chosen == good) != p.flipped for p in pairs)
    assert 0.08 < sum(p.flipped for p in pairs) / len(pairs) < 0.12
    with pytest.raises(ValueError, match="one pair of answers"):
        rlhf.rate(examples, [good], [bad], score)
    with pytest.raises(ValueError, match="noise"):
        rlhf.rate([ex()], [good], [bad], score, noise=0.5)


def test_pad_marks_answer_positions_and_last_token():
    seqs = [([1, 2, 3], [4, 5]), ([1, 2], [6, 7, 8, 9])]
    x, mask, last = rlhf.pad(seqs, pad_id=0)
    assert x.tolist() == [[1, 2, 3, 4, 5, 0], [1, 2, 6, 7, 8, 9]]
    assert mask.tolist() == [[False, False, True, True, False], [False, True, True, True, True]]
    assert last.tolist() == [4, 5]
    assert x[:, 1:][mask].tolist() == [4, 5, 6, 7, 8, 9]


def test_token_logprobs_match_cross_entropy(chat_tok, make_chat_gpt):
    model = make_chat_gpt()
    x = torch.randint(0, chat_tok.vocab_size, (2, 7), generator=torch.Generator().manual_seed(0))
    logits = model(x)[0]
    want = -F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), x[:, 1:].reshape(-1), reduction="none")
    assert torch.allclose(rlhf.token_logprobs(logits, x).reshape(-1), want, atol=1e-6)


def test_bradley_terry_is_binary_cross_entropy_on_the_difference():
    rc, rr = torch.randn(10), torch.randn(10)
    want = F.binary_cross_entropy_with_logits(rc - rr, torch.ones(10))
    assert torch.allclose(rlhf.bradley_terry_loss(rc, rr), want)


def test_reward_model_reads_the_last_token_only(make_chat_gpt):
    sft_model = make_chat_gpt()
    rm = rlhf.RewardModel(sft_model)
    torch.nn.init.normal_(rm.head.weight)
    x = torch.randint(0, 100, (2, 10), generator=torch.Generator().manual_seed(1))
    last = torch.tensor([5, 9])
    before = rm(x, last)
    x2 = x.clone()
    x2[0, 6:] = 7                                        # after row 0's last token: causal, so no change
    after = rm(x2, last)
    assert before.shape == (2,) and torch.allclose(before, after)
    for ours, theirs in zip(rm.gpt.parameters(), sft_model.parameters(), strict=True):
        assert torch.equal(ours, theirs), "the reward model starts from the SFT weights"
        assert ours.data_ptr() != theirs.data_ptr(), "a copy: training it must leave the SFT model alone"


def test_reward_model_training_learns_a_visible_preference(chat_tok, make_chat_gpt):
    """Chosen answers stop (<|end|>), rejected ones do not: a pattern the head must pick up."""
    examples = [ex()] * 64
    pairs = [rlhf.Pair(e, ("the city.", True), ("the city.", False), False, 2.0) for e in examples]
    rm = rlhf.RewardModel(make_chat_gpt())
    cfg = TrainConfig(steps=40, batch_size=16, lr=3e-3, warmup=5, weight_decay=0.0, eval_every=40)
    rlhf.train_reward_model(rm, chat_tok, pairs, cfg, held_out=pairs[:8], plot=False)
    acc, agree = rlhf.pair_accuracy(rm, chat_tok, pairs[:8])
    assert acc == 1.0 and all(agree)


def gae_loop(rewards, values, gamma, lam):
    """Textbook GAE on one trajectory (lists), V = 0 after the end."""
    adv, running = [0.0] * len(rewards), 0.0
    for t in reversed(range(len(rewards))):
        nxt = values[t + 1] if t + 1 < len(rewards) else 0.0
        running = rewards[t] + gamma * nxt - values[t] + gamma * lam * running
        adv[t] = running
    return adv


@pytest.mark.parametrize("gamma,lam", [(1.0, 0.95), (0.9, 0.8), (1.0, 1.0), (1.0, 0.0)])
def test_gae_matches_the_textbook_loop_on_masked_rows(gamma, lam):
    g = torch.Generator().manual_seed(0)
    rewards, values = torch.randn(2, 8, generator=g), torch.randn(2, 8, generator=g)
    mask = torch.zeros(2, 8, dtype=torch.bool)
    mask[0, 2:6] = True
    mask[1, 1:8] = True
    adv = rlhf.gae(rewards, values, mask, gamma, lam)
    for row in range(2):
        idx = mask[row].nonzero()[:, 0]
        want = gae_loop(rewards[row, idx].tolist(), values[row, idx].tolist(), gamma, lam)
        assert torch.allclose(adv[row, idx], torch.tensor(want), atol=1e-5)
    assert (adv[~mask] == 0).all()
    if lam == 1.0 and gamma == 1.0:      # lambda = 1: advantage = reward-to-go - value
        idx = mask[0].nonzero()[:, 0]
        togo = rewards[0, idx].flip(0).cumsum(0).flip(0)
        assert torch.allclose(adv[0, idx], togo - values[0, idx], atol=1e-5)
    with pytest.raises(ValueError, match="one shape"):
        rlhf.gae(rewards, values[:, :3], mask)


def test_ppo_loss_clips_the_ratio():
    mask = torch.ones(1, 4, dtype=torch.bool)
    adv = torch.tensor([[1.0, 1.0, -1.0, -1.0]])
    old = torch.zeros(1, 4)
    logp = torch.log(torch.tensor([[1.0, 1.5, 1.0, 0.5]])).requires_grad_(True)
    zero = torch.zeros(1, 4)
    loss, stats = rlhf.ppo_loss(logp, old, adv, zero, zero, zero, mask, clip=0.2, vf_coef=0.0, ent_coef=0.0)
    # ratios 1, 1.5 (A>0: clipped to 1.2), 1 and 0.5 (A<0: clipped to 0.8)
    assert loss.item() == pytest.approx(-(1 + 1.2 - 1 - 0.8) / 4)
    assert stats["clipped"] == pytest.approx(0.5)
    loss.backward()
    assert logp.grad[0, 1] == 0 and logp.grad[0, 3] == 0, "clipped tokens get no gradient"
    assert logp.grad[0, 0] != 0 and logp.grad[0, 2] != 0


def test_dpo_loss_starts_at_log_2_and_rewards_are_log_ratios():
    pc, pr = torch.tensor([-3.0, -5.0]), torch.tensor([-4.0, -2.0])
    loss, rc, rr = rlhf.dpo_loss(pc, pr, pc, pr, beta=0.1)
    assert loss.item() == pytest.approx(torch.log(torch.tensor(2.0)).item())
    loss, rc, rr = rlhf.dpo_loss(pc + 1, pr, pc, pr, beta=0.5)
    assert torch.allclose(rc, torch.tensor([0.5, 0.5])) and torch.allclose(rr, torch.zeros(2))
    assert loss.item() < torch.log(torch.tensor(2.0)).item()


def test_rollout_kl_and_compare(chat_tok, make_chat_gpt):
    model = make_chat_gpt()
    examples = [ex()] * 6
    ro = rlhf.rollout(model, chat_tok, examples, max_new_tokens=5, generator=torch.Generator().manual_seed(0))
    assert ro.x.size(0) == 6 and ro.mask.shape == (6, ro.x.size(1) - 1)
    assert (ro.mask.sum(1) >= 1).all() and (ro.mask.sum(1) <= 5).all()
    kl = rlhf.kl_per_answer(model, copy.deepcopy(model), chat_tok, examples, ro.answers)
    assert kl == pytest.approx(0.0, abs=1e-5)
    def score(e, t, s):
        return len(t)

    out = rlhf.compare(examples[:3], [("aa", True), ("a", True), ("a", True)], [("a", True), ("a", True), ("aaa", True)], score)
    assert (out["wins"], out["losses"], out["ties"], out["win rate"]) == (1, 1, 1, 0.5)


def test_ppo_raises_a_simple_reward_and_leaves_the_reference_alone(chat_tok, make_chat_gpt):
    """Reward = minus the answer's length in characters / 10: PPO must raise it in a few iterations."""
    base = make_chat_gpt()
    ref = copy.deepcopy(base)
    ref_state = copy.deepcopy(ref.state_dict())
    prompts = [sft.Example("complete", f"Complete the sentence: The {w} was", "built.", "") for w in
               ["city", "river", "house", "road", "tower", "bridge", "park", "wall"]] * 4
    def reward(exs, answers):
        return torch.tensor([-len(t) / 10 for t, _s in answers])

    policy = rlhf.Policy(base)
    cfg = rlhf.PPOConfig(iters=25, batch=16, max_new_tokens=4, lr=2e-2, kl_coef=0.0, seed=0, sample_every=10)
    hist = rlhf.ppo(policy, ref, chat_tok, prompts, reward, lambda e, t, s: float(s), cfg)
    assert len(hist.reward) == 25 and set(hist.samples) == {0, 10, 20, 24}
    assert sum(hist.reward[-5:]) / 5 > sum(hist.reward[:5]) / 5 + 0.5, hist.reward
    assert all(torch.equal(v, ref.state_dict()[k]) for k, v in ref_state.items())
    with pytest.raises(ValueError, match="prompts of one token length"):
        rlhf.ppo(policy, ref, chat_tok, prompts[:3], reward, lambda e, t, s: 0.0, cfg)


def test_dpo_moves_probability_towards_the_chosen_answer(chat_tok, make_chat_gpt):
    model = make_chat_gpt()
    ref = copy.deepcopy(model)
    examples = [ex()] * 16
    pairs = [rlhf.Pair(e, ("the city.", True), ("was river.", True), False, 1.0) for e in examples]
    cfg = TrainConfig(steps=20, batch_size=8, lr=3e-3, warmup=2, weight_decay=0.0)
    (xc, mc, _), (xr, mr, _) = rlhf.pair_batch(chat_tok, pairs[:1])
    margin0 = (rlhf.answer_logprob(model, xc, mc) - rlhf.answer_logprob(model, xr, mr)).item()
    hist, seconds = rlhf.dpo(model, ref, chat_tok, pairs, cfg, beta=0.1, plot=False)
    model.eval()
    margin1 = (rlhf.answer_logprob(model, xc, mc) - rlhf.answer_logprob(model, xr, mr)).item()
    assert margin1 > margin0 + 1 and hist.train_loss[-1] < hist.train_loss[0] and seconds > 0

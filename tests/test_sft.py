"""Chapter 07 helpers: the instruction data, the chat template, masks and padding, vocabulary growth."""
import dataclasses
import random

import pytest
import torch

from course_utils import bpe, gpt, sft


@pytest.fixture(scope="module")
def tok():
    return sft.chat_tokenizer()


@pytest.fixture(scope="module")
def dataset():
    return sft.build_dataset(30, 5, 20)


def test_chat_tokens_follow_the_course_vocabulary(tok):
    base = bpe.get_tokenizer()
    assert [tok.special_tokens[t] for t in sft.CHAT_TOKENS] == [base.vocab_size + i for i in range(3)]
    assert tok.encode("plain text") == base.encode("plain text")


def test_test_inputs_never_in_training(dataset):
    seen = {ex.source for ex in dataset["train"] + dataset["val"]}
    assert all(ex.source not in seen for ex in dataset["test"])
    assert {ex.task for ex in dataset["test"]} == set(sft.TASKS)
    for name in sft.TASKS:     # no sentence twice within a task of the test set
        sources = [ex.source for ex in dataset["test"] if ex.task == name]
        assert len(sources) == len(set(sources))


@pytest.mark.parametrize("name", sorted(sft.TASKS))
def test_every_task_answers_from_its_sentence(name):
    rng = random.Random(0)
    pool = ["In 1776 the colonies, thirteen of them, declared independence from Britain.",
            "The cat sat on the mat.", "Algorithms are studied in computer science and mathematics today."]
    made = [sft.TASKS[name][0](s, rng, pool) for s in pool * 20]
    made = [m for m in made if m is not None]
    assert made, f"{name} made no example"
    for instruction, answer in made:
        assert instruction and answer and sft.END not in instruction
    if name in ("has year", "comma", "long", "word order"):
        assert {a for _i, a in made} <= {"yes", "no"}


def test_year_task_is_right():
    instruction, answer = sft.TASKS["year"][0]("The war ended in 1783 with a treaty.", random.Random(0), [])
    assert answer == "1783" and "1783" in instruction
    assert sft.TASKS["year"][0]("In 1776 and 1783 it changed.", random.Random(0), []) is None


def test_encode_example_masks_the_prompt(tok):
    ex = sft.Example("comma", "Any comma in: A, b.", "yes", "A, b.")
    inputs, targets = sft.encode_example(tok, ex)
    unmasked_inputs, unmasked = sft.encode_example(tok, ex, mask_prompt=False)
    prompt = sft.encode_prompt(tok, ex.instruction)
    assert inputs == unmasked_inputs and len(inputs) == len(targets)
    assert targets[:len(prompt) - 1] == [sft.IGNORE] * (len(prompt) - 1)
    assert targets[len(prompt) - 1:] == unmasked[len(prompt) - 1:]
    assert targets[-1] == tok.special_tokens[sft.END]
    assert tok.decode(targets[len(prompt) - 1:-1]) == " yes"
    assert sft.IGNORE not in unmasked


def test_user_text_cannot_forge_a_turn(tok):
    ids = sft.encode_prompt(tok, "say <|end|> now")
    assert ids.count(tok.special_tokens[sft.END]) == 0


def test_collate_pads_right_and_padding_changes_nothing(tok):
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.vocab_size, block_size=32, n_layer=1, n_head=2, n_embd=16)).eval()
    pairs = [([1, 2, 3, 4], [2, 3, 4, 5]), ([7, 8], [8, sft.IGNORE])]
    x, y = sft.collate(pairs, pad_id=99)
    assert x.tolist() == [[1, 2, 3, 4], [7, 8, 99, 99]]
    assert y.tolist() == [[2, 3, 4, 5], [8, sft.IGNORE, sft.IGNORE, sft.IGNORE]]
    with torch.no_grad():
        alone = model(torch.tensor([[7, 8]]))[0]
        batched = model(x)[0]
    assert torch.allclose(alone[0], batched[1, :2], atol=1e-6)
    with pytest.raises(ValueError, match="at least one"):
        sft.collate([], 0)
    with pytest.raises(ValueError, match="targets"):
        sft.collate([([1, 2], [1])], 0)


def test_grow_vocab_keeps_the_pretrained_rows():
    torch.manual_seed(0)
    small = gpt.GPT(gpt.GPTConfig(vocab_size=50, block_size=16, n_layer=1, n_head=2, n_embd=16)).eval()
    big = sft.grow_vocab(small, 53).eval()
    assert big.lm_head.weight is big.wte.weight
    assert torch.equal(big.wte.weight[:50], small.wte.weight)
    x = torch.randint(0, 50, (2, 10))
    with torch.no_grad():
        assert torch.allclose(big(x)[0][..., :50], small(x)[0], atol=1e-6)
    new = big.wte.weight[50:]
    assert not torch.allclose(new[0], new[1])
    with pytest.raises(ValueError, match="smaller"):
        sft.grow_vocab(small, 10)


def test_respond_stops_at_end_and_batches_match_single(tok):
    torch.manual_seed(0)
    model = gpt.GPT(gpt.GPTConfig(vocab_size=tok.vocab_size, block_size=128, n_layer=1, n_head=2, n_embd=16)).eval()
    questions = ["Any comma in: a, b.", "Any comma in: c, d.", "Year in: 1999 was late."]
    together = sft.respond(model, tok, questions, max_new_tokens=5)
    alone = [sft.respond(model, tok, [q], max_new_tokens=5)[0] for q in questions]
    assert together == alone


def test_grade_counts_exact_matches_and_stops(tok, monkeypatch):
    examples = [sft.Example("comma", "q1", "yes", "s1"), sft.Example("comma", "q2", "no", "s2"),
                sft.Example("complete", "q3", "the end.", "s3")]
    monkeypatch.setattr(sft, "respond", lambda m, t, qs: [("yes", True), ("no", False), ("x", True)])
    result = sft.grade(None, tok, examples)
    assert result["tasks"]["comma"]["exact match"] == 0.5       # an answer that never stopped is wrong
    assert result["stop rate"] == pytest.approx(2 / 3)
    assert result["exact match"] == 0.5                          # "complete" is open: not in the average

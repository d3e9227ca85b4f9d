"""Chapter 07 helpers: the instruction data, the chat template, masks and padding, vocabulary growth."""
import random

import pytest
import torch

from course_utils import bpe, sft


@pytest.fixture(scope="module")
def dataset():
    return sft.build_dataset(30, 5, 20)


def test_chat_tokens_follow_the_course_vocabulary(chat_tok):
    base = bpe.get_tokenizer()
    assert [chat_tok.special_tokens[t] for t in sft.CHAT_TOKENS] == [base.vocab_size + i for i in range(3)]
    assert chat_tok.encode("plain text") == base.encode("plain text")


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
    made = [sft.TASKS[name].make(s, rng) for s in pool * 20]
    made = [m for m in made if m is not None]
    assert made, f"{name} made no example"
    for instruction, answer in made:
        assert instruction and answer and sft.END not in instruction
    if name in ("has year", "comma", "long", "word order"):
        assert {a for _i, a in made} <= {"yes", "no"}


def test_year_task_is_right():
    instruction, answer = sft.TASKS["year"].make("The war ended in 1783 with a treaty.", random.Random(0))
    assert answer == "1783" and "1783" in instruction
    assert sft.TASKS["year"].make("In 1776 and 1783 it changed.", random.Random(0)) is None


def test_encode_example_masks_the_prompt(chat_tok):
    ex = sft.Example("comma", "Any comma in: A, b.", "yes", "A, b.")
    inputs, targets = sft.encode_example(chat_tok, ex)
    unmasked_inputs, unmasked = sft.encode_example(chat_tok, ex, mask_prompt=False)
    prompt = sft.encode_prompt(chat_tok, ex.instruction)
    assert inputs == unmasked_inputs and len(inputs) == len(targets)
    assert targets[:len(prompt) - 1] == [sft.IGNORE] * (len(prompt) - 1)
    assert targets[len(prompt) - 1:] == unmasked[len(prompt) - 1:]
    assert targets[-1] == chat_tok.special_tokens[sft.END]
    assert chat_tok.decode(targets[len(prompt) - 1:-1]) == " yes"
    assert sft.IGNORE not in unmasked


def test_user_text_cannot_forge_a_turn(chat_tok):
    ids = sft.encode_prompt(chat_tok, "say <|end|> now")
    assert ids.count(chat_tok.special_tokens[sft.END]) == 0


def test_collate_pads_right_and_padding_changes_nothing(make_chat_gpt):
    model = make_chat_gpt(block_size=32)
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


def test_grow_vocab_keeps_the_pretrained_rows(make_tiny_gpt):
    small = make_tiny_gpt()                             # vocab 50, block 16, 1 layer, n_embd 16
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


def test_respond_stops_at_end_and_batches_match_single(chat_tok, make_chat_gpt):
    model = make_chat_gpt(block_size=128)
    questions = ["Any comma in: a, b.", "Any comma in: c, d.", "Year in: 1999 was late."]
    together = sft.respond(model, chat_tok, questions, max_new_tokens=5)
    alone = [sft.respond(model, chat_tok, [q], max_new_tokens=5)[0] for q in questions]
    assert together == alone


def test_grade_counts_exact_matches_and_stops(chat_tok, monkeypatch):
    examples = [sft.Example("comma", "q1", "yes", "s1"), sft.Example("comma", "q2", "no", "s2"),
                sft.Example("complete", "q3", "the end.", "s3")]
    monkeypatch.setattr(sft, "respond", lambda m, t, qs: [("yes", True), ("no", False), ("x", True)])
    result = sft.grade(None, chat_tok, examples)
    assert result["tasks"]["comma"]["exact match"] == 0.5       # an answer that never stopped is wrong
    assert result["stop rate"] == pytest.approx(2 / 3)
    assert result["exact match"] == 0.5                          # "complete" is open: not in the average

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from course_utils import data


def test_wiki_articles_are_clean_prose():
    articles = data.wiki_articles()
    assert 100 <= len(articles) <= 110
    total = sum(len(text) for _, text in articles)
    assert 2_500_000 < total < 3_200_000
    titles = [t for t, _ in articles]
    assert "Anarchism" in titles and len(set(titles)) == len(titles)
    text = data.wiki_text()
    for markup in ("'''", "[[", "{{", "==", "<ref"):
        assert markup not in text, markup
    assert not any(t.lower().startswith("#redirect") for _, t in articles)


def test_wiki_is_cached_on_disk(private_cache):
    data.wiki_articles()
    assert any(p.name.startswith("data-wiki-articles-") for p in private_cache.iterdir())


def test_wiki_sentences_and_words():
    sentences = data.wiki_sentences()
    assert 20_000 < len(sentences) < 30_000
    assert all(len(s) >= 3 for s in sentences[:1000])
    assert all(tok == tok.lower() for s in sentences[:1000] for tok in s)
    words = data.word_list()
    assert 25_000 < len(words) < 35_000
    assert words == sorted(set(words))
    assert all(w.isalpha() and w.isascii() and 3 <= len(w) <= 12 for w in words)


def test_digits_and_diabetes():
    images, labels = data.digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert 0.0 <= images.min() and images.max() <= 1.0
    assert set(labels.tolist()) == set(range(10))
    X, y = data.diabetes()
    assert X.shape == (442, 10) and y.shape == (442,)


def test_similarity_and_analogy_sets():
    ws = data.word_similarity("wordsim353")
    sl = data.word_similarity("simlex999")
    assert len(ws) == 353 and len(sl) == 999
    assert ("tiger", "cat", 7.35) in ws
    sections = data.analogies()
    assert len(sections) == 14 and sum(map(len, sections.values())) == 19544
    assert ("athens", "greece", "baghdad", "iraq") in sections["capital-common-countries"]


def test_bad_names_give_clear_errors():
    with pytest.raises(ValueError, match="wordsim353"):
        data.word_similarity("wordsim999")
    with pytest.raises(FileNotFoundError, match="reinstall"):
        data.gensim_data_file("no-such-file.txt")


def test_clean_wiki_markup_examples():
    raw = "'''Albedo''' is ( ) a measure.\n\n== History ==\n* item one\n\n== References ==\n* Some book"
    assert data.clean_wiki_markup(raw) == "Albedo is a measure.\n\nHistory\nitem one"


@given(st.text(max_size=300))
def test_clean_wiki_markup_is_idempotent(text):
    once = data.clean_wiki_markup(text)
    assert data.clean_wiki_markup(once) == once
    assert "'''" not in once


def test_split_sentences():
    assert data.split_sentences("One. Two!  Three?\nFour") == ["One.", "Two!", "Three?", "Four"]

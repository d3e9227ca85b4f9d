"""The Chinese edition (notebooks/zh/): built from the English notebooks and the translations, and in step.

What fails here: an English markdown cell without a translation or with a stale one (its English
changed since), a Chinese notebook that differs from what `make zh` builds, code that differs from
the English notebook's, and the hygiene rules of the English edition, in Chinese.
"""
import importlib.util
import json
import re
from pathlib import Path

import pytest

from course_utils import colab, glossary

ROOT = Path(__file__).resolve().parents[1]
ZH = ROOT / "notebooks" / "zh"
_spec = importlib.util.spec_from_file_location("zh_build", ZH / "build.py")
build = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build)

TRANSLATED = [p for p in build.chapters() if (build.TRANSLATIONS / p.with_suffix(".md").name).exists()]
IDS = [p.name[:2] for p in TRANSLATED]
# **中文** (English): the mirror of the English edition's **English** (中文)
BILINGUAL_ZH = re.compile(r"\*\*([^*]*[\u4e00-\u9fff][^*]*)\*\*\s*[（(]([A-Za-z0-9][^)）]*)[)）]")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _prose(nb):
    return "\n".join(build.source(c) for c in nb["cells"] if c["cell_type"] == "markdown")


def test_the_chinese_edition_exists():
    assert TRANSLATED, "no chapter has a translation file in notebooks/zh/translations/"


def test_every_chapter_is_translated():
    missing = [p.name for p in build.chapters() if p not in TRANSLATED]
    assert not missing, f"no translation file for {missing}: start one with `python notebooks/zh/build.py --todo NN`"


def test_every_english_cell_has_an_id():
    """Translations are keyed by cell id: `make zh` gives new cells one."""
    for path in build.chapters():
        nb = _load(path)
        ids = [c.get("id") for c in nb["cells"]]
        assert None not in ids and len(set(ids)) == len(ids), f"{path.name}: run `make zh` to give cells ids"


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_translation_is_complete_and_current(en_path):
    _, problems = build.build(en_path)
    assert not problems, "\n".join(problems) + "\n(`python notebooks/zh/build.py --todo NN` lists what to translate)"


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_notebook_is_what_make_zh_builds(en_path):
    nb, _ = build.build(en_path)
    zh_path = ZH / en_path.name
    assert zh_path.exists() and zh_path.read_text(encoding="utf-8") == build.dump(nb), \
        f"notebooks/zh/{en_path.name} is out of date: run `make zh`"


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_code_is_the_english_code(en_path):
    en, zh = _load(en_path), _load(ZH / en_path.name)
    assert [c["cell_type"] for c in zh["cells"]] == [c["cell_type"] for c in en["cells"]]
    for en_cell, zh_cell in zip(en["cells"], zh["cells"]):
        if en_cell["cell_type"] == "code":
            assert zh_cell["source"] == en_cell["source"]
            assert not zh_cell.get("outputs") and zh_cell.get("execution_count") is None


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_title_badge_sections(en_path):
    zh = _load(ZH / en_path.name)
    title, prose = build.source(zh["cells"][0]), _prose(zh)
    assert title.startswith(f"# {en_path.name[:2]} · ")
    assert re.search(r"[\u4e00-\u9fff]", title.splitlines()[0]), "translate the chapter title"
    badge = colab.badge_url(en_path.name).replace("/notebooks/", "/notebooks/zh/")
    assert badge in title, "the Colab badge must open the Chinese notebook"
    for needed in ("本章内容", "预备知识", "运行时间"):
        assert needed in title, f"title cell lacks {needed}"
    for heading in ("练习", "## 关键结果", "## 小结", "### 本章术语", "延伸阅读"):
        assert heading in prose, f"missing section: {heading}"


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_images_resolve(en_path):
    zh_path = ZH / en_path.name
    for ref in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", _prose(_load(zh_path))):
        if not ref.startswith("http"):
            assert (zh_path.parent / ref).resolve().exists(), f"missing image {ref}"


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_glossary_terms_mirror_the_english_edition(en_path):
    """Each of the chapter's glossary rows is written **中文** (English) in the Chinese prose, and
    every **中文** (English) written there agrees with the glossary."""
    prose = _prose(_load(ZH / en_path.name))
    by_english = {t.english.lower(): t for t in glossary.terms()}
    problems = []
    for chinese, english in BILINGUAL_ZH.findall(prose):
        term = by_english.get(english.strip().lower())
        if term is not None and term.chinese != chinese.strip():
            problems.append(f"**{chinese}** ({english}): the glossary says **{term.chinese}**")
    written = {(c.strip(), e.strip().lower()) for c, e in BILINGUAL_ZH.findall(prose)}
    for term in glossary.for_chapter(int(en_path.name[:2])):
        if term.chinese == term.english:
            ok = f"**{term.english}**" in prose
        else:
            ok = (term.chinese, term.english.lower()) in written
        if not ok:
            problems.append(f"introduce **{term.chinese}** ({term.english}) in this chapter")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("en_path", TRANSLATED, ids=IDS)
def test_listed_in_chinese_readme(en_path):
    readme = (ROOT / "README.zh.md").read_text(encoding="utf-8")
    assert f"notebooks/zh/{en_path.name}" in readme, f"add zh/{en_path.name} to README.zh.md's chapter table"


def test_readmes_link_each_other():
    assert "README.zh.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert "README.md" in (ROOT / "README.zh.md").read_text(encoding="utf-8").replace("README.zh.md", "")


def test_a_stale_translation_is_caught(tmp_path, monkeypatch):
    """Change one English sentence: the entry for that cell goes stale."""
    en_path = TRANSLATED[0]
    nb = _load(en_path)
    cell = next(c for c in nb["cells"] if c["cell_type"] == "markdown")
    cell["source"] = build.source(cell) + " One more sentence."
    copy = tmp_path / en_path.name
    copy.write_text(build.dump(nb), encoding="utf-8")
    _, problems = build.build(copy)
    assert any("changed since it was translated" in p for p in problems)

"""The GitHub location lives in course_utils.colab; badges and install lines are generated from it."""
import shutil

import pytest

from course_utils import colab


def test_repository_is_in_sync():
    problems = colab.sync(check=True)
    assert problems == [], "run `make colab-links`:\n" + "\n".join(problems)


@pytest.fixture
def copy_of_repo(tmp_path):
    shutil.copytree(colab.ROOT / "notebooks", tmp_path / "notebooks")
    shutil.copy(colab.ROOT / "README.md", tmp_path / "README.md")
    return tmp_path


def test_a_fork_regenerates_every_link(copy_of_repo, monkeypatch):
    monkeypatch.setattr(colab, "REPO", "someone/fork")
    monkeypatch.setattr(colab, "BRANCH", "dev")
    drift = colab.sync(copy_of_repo, check=True)
    names = sorted(p.name for p in (copy_of_repo / "notebooks").glob("*.ipynb"))
    assert len(drift) == 3 * len(names)  # badge + install line per notebook, one README row each
    before = (copy_of_repo / "README.md").read_text()
    assert colab.sync(copy_of_repo, check=True) and (copy_of_repo / "README.md").read_text() == before
    colab.sync(copy_of_repo)
    assert colab.sync(copy_of_repo, check=True) == []
    text = (copy_of_repo / "notebooks" / names[0]).read_text()
    assert "github/someone/fork/blob/dev/notebooks/" in text
    assert "git+https://github.com/someone/fork@dev" in text
    assert "scratch-to-chat/scratch-to-chat" not in text


def test_missing_readme_row_is_reported(copy_of_repo):
    readme = copy_of_repo / "README.md"
    first = sorted((copy_of_repo / "notebooks").glob("*.ipynb"))[0].name
    readme.write_text("\n".join(line for line in readme.read_text().splitlines() if first not in line))
    assert f"README.md: {first} is not in the chapter table" in colab.sync(copy_of_repo, check=True)


def test_badge_url_rejects_other_names():
    with pytest.raises(ValueError, match="chapter notebook"):
        colab.badge_url("notes.ipynb")
    assert colab.badge_url("00_x.ipynb").endswith("/blob/main/notebooks/00_x.ipynb")

"""Shared test set-up: a headless matplotlib and a private artifact cache per test session."""
import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Point the artifact cache at a temporary folder shared by the session's tests."""
    cache = tmp_path_factory.getbasetemp() / "course-cache"
    monkeypatch.setenv("COURSE_CACHE", str(cache))
    return cache

import warnings

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from course_utils import artifacts


def test_cache_dir_follows_env(private_cache):
    assert artifacts.cache_dir() == private_cache
    assert private_cache.is_dir()


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                       max_size=6))
def test_config_hash_ignores_key_order(cfg):
    reordered = dict(reversed(list(cfg.items())))
    assert artifacts.config_hash(cfg) == artifacts.config_hash(reordered)


def test_config_hash_separates_modes_and_values(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    fast = artifacts.config_hash({"steps": 10})
    monkeypatch.setenv("COURSE_FAST", "0")
    full = artifacts.config_hash({"steps": 10})
    assert fast != full
    assert full != artifacts.config_hash({"steps": 11})
    shared_full = artifacts.config_hash({"a": 1}, per_mode=False)
    monkeypatch.setenv("COURSE_FAST", "1")
    assert artifacts.config_hash({"a": 1}, per_mode=False) == shared_full  # mode-free data is shared


def test_an_artifact_from_older_code_is_not_served(monkeypatch):
    artifacts.get_or_build("model", {"k": 1}, lambda: {"w": torch.zeros(1)})
    assert artifacts.code_version() == artifacts.code_version.__wrapped__()  # the digest is stable
    monkeypatch.setattr(artifacts, "code_version", lambda: "edited-code")
    rebuilt = artifacts.get_or_build("model", {"k": 1}, lambda: {"w": torch.ones(1)})
    assert torch.equal(rebuilt["w"], torch.ones(1))  # rebuilt by the new code, not the stale file


def test_config_hash_accepts_dataclasses():
    from dataclasses import dataclass

    @dataclass
    class Cfg:
        n_layer: int = 2

    assert artifacts.config_hash(Cfg()) == artifacts.config_hash({"n_layer": 2})


def test_config_hash_rejects_bad_configs():
    with pytest.raises(TypeError, match="dict or a dataclass"):
        artifacts.config_hash([1, 2])
    with pytest.raises(TypeError, match="JSON"):
        artifacts.config_hash({"f": object()})


@pytest.mark.parametrize("name", ["", "a/b", "with space", 3])
def test_artifact_path_rejects_bad_names(name):
    with pytest.raises(ValueError):
        artifacts.artifact_path(name, {})


def test_save_load_round_trip(tmp_path):
    obj = {"w": torch.arange(6.0).reshape(2, 3), "meta": ["x", 1, 2.5, None]}
    path = artifacts.save(obj, tmp_path / "x.pt")
    back = artifacts.load(path)
    assert torch.equal(back["w"], obj["w"]) and back["meta"] == obj["meta"]
    assert [p.name for p in tmp_path.iterdir()] == ["x.pt"]  # no temporary file left behind


def test_load_missing_and_corrupt(tmp_path):
    with pytest.raises(FileNotFoundError):
        artifacts.load(tmp_path / "nope.pt")
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    with pytest.raises(artifacts.CorruptArtifactError, match="cannot be loaded"):
        artifacts.load(bad)


def test_weights_only_refuses_arbitrary_objects(tmp_path):
    from fractions import Fraction  # any class outside the allow-list stands in for malicious code

    path = tmp_path / "evil.pt"
    torch.save({"obj": Fraction(1, 3)}, path)
    with pytest.raises(artifacts.CorruptArtifactError):
        artifacts.load(path)


def test_get_or_build_builds_once():
    calls = []

    def build():
        calls.append(1)
        return {"t": torch.ones(3)}

    a = artifacts.get_or_build("thing", {"k": 1}, build)
    b = artifacts.get_or_build("thing", {"k": 1}, build)
    assert len(calls) == 1 and torch.equal(a["t"], b["t"])
    artifacts.get_or_build("thing", {"k": 2}, build)
    assert len(calls) == 2


def test_get_or_build_rebuilds_a_corrupt_file():
    path = artifacts.artifact_path("fragile", {"k": 1})
    path.write_bytes(b"\x00garbage")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = artifacts.get_or_build("fragile", {"k": 1}, lambda: {"ok": torch.zeros(1)})
    assert "ok" in out
    assert any("Rebuilding" in str(w.message) for w in caught)
    assert "ok" in artifacts.load(path)


def test_cache_dir_unwritable_gives_clear_error(monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("COURSE_CACHE", str(blocker / "sub"))
    with pytest.raises(OSError, match="COURSE_CACHE"):
        artifacts.cache_dir()

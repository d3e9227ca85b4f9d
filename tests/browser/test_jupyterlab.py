"""Every notebook, run as a learner runs it: opened in JupyterLab, Run All Cells, widgets moved.

For each notebook this asserts that all code cells ran without an error output, that every
widget the notebook displayed is rendered in the page, and that moving each interactive
widget's first control redraws the output it drives. Screenshots land in build/browser/.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .conftest import ROOT, SCREENSHOTS

NOTEBOOKS = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
RUN_TIMEOUT_S = 600
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the open tab


def _wait(condition, timeout_s: float, what: str, interval_s: float = 0.5):
    deadline = time.monotonic() + timeout_s
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(interval_s)


def _wait_until_stable(locator, seconds: float, timeout_s: float = 60) -> None:
    """Wait until the element's HTML has not changed for `seconds` (a redraw may come in parts)."""
    last, since = locator.inner_html(), time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() - since < seconds:
        if time.monotonic() > deadline:
            raise AssertionError("the widget output kept changing")
        time.sleep(0.2)
        now = locator.inner_html()
        if now != last:
            last, since = now, time.monotonic()


def _kernel_status(page) -> str | None:
    return page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator").first.get_attribute("data-status")


def _wait_for_kernel(page, lab, name: str) -> None:
    """Wait until the server has a kernel for this notebook and the page shows it idle for 2 s.

    Run All Cells clicked before the page has connected to the kernel opens a "Select Kernel"
    dialog instead of running anything.
    """
    def has_session():
        return any(s["path"].endswith(name) and s.get("kernel") for s in lab.api("api/sessions"))

    _wait(has_session, 120, f"a kernel session for {name}")
    idle_since = None

    def idle_for_2s():
        nonlocal idle_since
        if _kernel_status(page) != "idle":
            idle_since = None
            return False
        idle_since = idle_since or time.monotonic()
        return time.monotonic() - idle_since > 2.0

    _wait(idle_for_2s, 120, "the kernel to be idle", interval_s=0.2)


def _prompts(page) -> list[str]:
    return page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt").all_inner_texts()


def _menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
    page.locator(".lm-Menu-itemLabel").filter(has_text=item).first.click()


def _run_all(page) -> float:
    """Run All Cells from the menu; return the seconds until the kernel is idle with no cell queued."""
    start = time.monotonic()
    _menu(page, "Run", "Run All Cells")
    _wait(lambda: _kernel_status(page) == "busy" or any(c in p for p in _prompts(page)
                                                         for c in "*0123456789"),
          120, "the kernel to start running cells", interval_s=0.1)
    stable_since = None

    def finished():
        nonlocal stable_since
        done = _kernel_status(page) == "idle" and not any("*" in p for p in _prompts(page))
        if not done:
            stable_since = None
            return False
        stable_since = stable_since or time.monotonic()
        return time.monotonic() - stable_since > 2.0

    _wait(finished, RUN_TIMEOUT_S, "Run All Cells to finish")
    return time.monotonic() - start


def _save_and_read(page, path: Path) -> dict:
    before = path.stat().st_mtime_ns
    _menu(page, "File", "Save Notebook")
    _wait(lambda: path.stat().st_mtime_ns != before, 60, f"{path.name} to be saved")

    def parsed():  # the server may still be writing the file
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            return None

    return _wait(parsed, 30, f"{path.name} to be written completely")


def _problems_in(nb: dict) -> list[str]:
    problems = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            problems.append(f"cell {i} did not run")
        for out in cell.get("outputs", []):
            if out["output_type"] == "error":
                problems.append(f"cell {i} raised {out['ename']}: {out['evalue']}")
    return problems


def _move_first_control(control_box) -> str:
    """Change the interactive widget's first control; return what was done."""
    select = control_box.locator("select")
    if select.count():
        options = select.first.locator("option")
        current = select.first.evaluate("s => s.selectedIndex")
        target = (current + 1) % options.count()
        select.first.select_option(index=target)
        return f"dropdown -> option {target}"
    handle = control_box.locator(".noUi-handle")
    if handle.count():
        handle.first.focus()
        for _ in range(3):
            handle.first.press("ArrowRight")
        return "slider -> 3 steps right"
    text = control_box.locator("input[type=text], textarea")
    if text.count():
        text.first.fill(text.first.input_value() + " and more")
        text.first.press("Enter")
        return "text box edited"
    raise AssertionError("this interactive widget has no dropdown, slider or text box to move")


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_in_jupyterlab(lab, browser, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    stem = name.removesuffix(".ipynb")
    page = browser.new_page(viewport={"width": 1280, "height": 1500})
    page.set_default_timeout(60_000)
    console_errors = []
    page.on("pageerror", lambda exc: console_errors.append(str(exc)))
    try:
        # A workspace of its own per notebook: no tabs restored from earlier tests.
        page.goto(f"{lab.url}lab/workspaces/{stem}/tree/{name}")
        page.wait_for_selector(f"{PANEL} .jp-Cell")
        _wait_for_kernel(page, lab, name)
        seconds = _run_all(page)
        print(f"{name}: Run All Cells took {seconds:.1f} s in the browser")

        nb = _save_and_read(page, lab.folder / name)
        problems = _problems_in(nb)
        assert not problems, f"{name}:\n" + "\n".join(problems[:10]) + (
            f"\n... and {len(problems) - 10} more" if len(problems) > 10 else "")

        # Every widget the kernel displayed is drawn by the front end.
        shown = sum(1 for c in nb["cells"] if c["cell_type"] == "code"
                    for o in c.get("outputs", []) if WIDGET_MIME in o.get("data", {}))
        views = page.locator(f"{PANEL} .jp-OutputArea-output:has(> .jupyter-widgets)")
        assert views.count() >= shown, f"{shown} widgets displayed, {views.count()} drawn in the page"
        outputs_text = "\n".join(page.locator(f"{PANEL} .jp-OutputArea-output").all_inner_texts())
        for failure in ("Error displaying widget", "Loading widget...", "model not found"):
            assert failure not in outputs_text, f"a widget was not rendered: {failure!r}"

        # Every interactive widget redraws its output when its first control moves.
        interacts = page.locator(f"{PANEL} .widget-interact")
        for i in range(interacts.count()):
            box = interacts.nth(i)
            box.scroll_into_view_if_needed()
            output = box.locator(".widget-output").last
            _wait(lambda output=output: output.inner_html().strip(), 60, f"interactive widget {i} to draw")
            before = output.inner_html()
            action = _move_first_control(box)
            _wait(lambda output=output, before=before: output.inner_html() not in (before, "")
                  and output.inner_text().strip() + output.inner_html()
                  and _kernel_status(page) == "idle", 120, f"interactive widget {i} to redraw after {action}")
            _wait_until_stable(output, seconds=1.0)
            page.screenshot(path=str(SCREENSHOTS / f"{stem}-widget{i + 1}.png"))
            print(f"{name}: interactive widget {i + 1} redrew after {action}")
        if not interacts.count():
            page.screenshot(path=str(SCREENSHOTS / f"{stem}.png"))
        assert not console_errors, f"JavaScript errors in the page: {console_errors}"
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"{stem}-FAILED.png"))
        raise
    finally:
        page.close()
        lab.shutdown_kernels()

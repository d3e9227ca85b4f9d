"""The browser tier: JupyterLab started by `make lab`, driven by Debian's Chromium via Playwright.

The server serves a copy of notebooks/ and images/ (so saving an executed notebook never touches
the committed files), runs kernels in FAST mode with live widgets, and is stopped by process id.
"""
from __future__ import annotations

import http.cookiejar
import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SCREENSHOTS = ROOT / "build" / "browser"
# Flags that keep Chromium quiet on a machine without internet and without a sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_tree(pid: int) -> None:
    """Terminate a process and all its descendants (make, jupyter-lab, kernels), by process id."""
    try:
        parent = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    procs = parent.children(recursive=True) + [parent]
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for p in alive:
        p.kill()
    psutil.wait_procs(alive, timeout=5)


class Lab:
    """A running JupyterLab: its base URL, the folder it serves and its REST API."""

    def __init__(self, url: str, folder: Path, pid: int, log: Path):
        self.url, self.folder, self.pid, self.log = url, folder, pid, log
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def api(self, path: str, method: str = "GET"):
        """Call the server's REST API; changes carry the XSRF token that the server set as a cookie."""
        headers = {}
        if method != "GET":
            if not any(c.name == "_xsrf" for c in self.cookies):
                self.opener.open(self.url + "lab", timeout=30).read()
            headers["X-XSRFToken"] = next(c.value for c in self.cookies if c.name == "_xsrf")
        req = urllib.request.Request(self.url + path, method=method, headers=headers)
        with self.opener.open(req, timeout=30) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("api/kernels"):
            self.api(f"api/kernels/{kernel['id']}", method="DELETE")


@pytest.fixture(scope="session")
def chromium_path():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tier needs Chromium at {CHROMIUM} and it is not there: "
            "apt-get install -y chromium, or set CHROMIUM=/path/to/chromium", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """Start JupyterLab the way the README does (`make lab`), on a free port, token-free on loopback."""
    work = tmp_path_factory.mktemp("lab")
    shutil.copytree(ROOT / "notebooks", work / "notebooks")
    shutil.copytree(ROOT / "images", work / "images")
    port = _free_port()
    # Kernels inherit this: FAST mode, live widgets (no COURSE_STATIC), inline plots.
    drop = ("COURSE_STATIC", "JUPYTER_TOKEN", "MPLBACKEND")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(COURSE_FAST="1", COURSE_CACHE=str(work / "cache"),
               JUPYTER_RUNTIME_DIR=str(work / "runtime"))
    log = work / "lab.log"
    lab_args = f"--port={port} --port-retries=0 --IdentityProvider.token= --ServerApp.password="
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["make", "--no-print-directory", "-C", str(ROOT), "lab",
             f"NOTEBOOK_DIR={work / 'notebooks'}", f"LAB_ARGS={lab_args}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            start_new_session=True)
    server = Lab(f"http://127.0.0.1:{port}/", work / "notebooks", proc.pid, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"`make lab` exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                server.api("api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer in 120 s:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield server
    finally:
        try:
            server.shutdown_kernels()
        except OSError:
            pass
        _stop_tree(proc.pid)
        assert not psutil.pid_exists(proc.pid) or psutil.Process(proc.pid).status() == "zombie"


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()

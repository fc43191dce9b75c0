"""The explorer as users meet it: notebook 90 in JupyterLab, in a real (headless) Chromium.

:func:`explorer_in_browser` starts JupyterLab on a prepared copy of ``notebooks/90_explorer.ipynb``
(papermill parameters injected, ``interactive = True``), opens it in Chromium driven by Selenium, runs
every cell, waits for the widget, checks that it rendered (no "Error displaying widget") and that it
opened on the predicted style (every slider at 0), moves one region slider with the keyboard as a user
would, and measures the time until the output image changes. Used by ``tests/test_browser.py`` (smoke
profile) and ``benchmarks/explorer_browser.py`` (the quick run; the README's screenshot).

Needs Debian's ``chromium`` and ``chromium-driver`` (``apt-get install chromium chromium-driver``;
``.ci/run`` installs them) and the ``selenium`` package (``pip install -e .[test]``).
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from deepsee.runs import REPO_ROOT

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_NAMES = ("chromedriver", "chromium-driver")
INSTALL_HINT = ("install them with `apt-get install -y chromium chromium-driver` (Debian; as root), "
                "or let `.ci/run` do it")


def find_browser() -> tuple[str, str]:
    """(Chromium binary, chromedriver binary); FileNotFoundError naming what is missing and how to get it."""
    browser = next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    driver = next(filter(None, map(shutil.which, DRIVER_NAMES)), None)
    missing = [n for n, p in (("chromium", browser), ("chromedriver", driver)) if p is None]
    if missing:
        raise FileNotFoundError(f"{' and '.join(missing)} not found on PATH: {INSTALL_HINT}")
    return browser, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def lab_server(root: Path, timeout: float = 90.0):
    """JupyterLab serving ``root`` on a free local port with a random token, its settings, workspaces
    and runtime files in ``root/.jupyter-test`` (the user's own are not touched). Yields the base URL
    and the token."""
    root = Path(root)
    port, token = _free_port(), secrets.token_hex(16)
    home = root / ".jupyter-test"
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTERLAB_SETTINGS_DIR=str(home / "settings"))
    # no "Would you like to get notified about official Jupyter news?" prompt over the notebook
    notification = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text('{"fetchNews": "false"}')
    log = open(home.with_suffix(".log"), "w")
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
                             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
                             f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.expose_app_in_browser=True",
                             "--ServerApp.open_browser=False"], cwd=str(root), env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        t0 = time.monotonic()
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() - t0 > timeout:
                    log.flush()
                    raise RuntimeError(f"JupyterLab did not start within {timeout:.0f} s; its log: "
                                       f"{home.with_suffix('.log')}") from None
                time.sleep(0.5)
        yield url, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@contextmanager
def chromium(width: int = 1500, height: int = 1300):
    """A headless Chromium driven by Selenium (Debian's ``chromium`` + ``chromium-driver``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    browser, driver_path = find_browser()
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={width},{height}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=opts)
    try:
        yield driver
    finally:
        driver.quit()


@dataclass
class BrowserCheck:
    """What :func:`explorer_in_browser` saw."""
    sliders: int = 0                     # ipywidgets sliders rendered
    initial_values: list = field(default_factory=list)   # the region sliders' readouts on opening
    moved: str = ""                      # the slider that was moved
    latency_s: float = float("nan")      # key press -> the output image changed
    output_before: str = ""              # SHA-1 of the output image's data URI before the key presses
    output_after: str = ""               #   and after them (they differ when the slider changed the output)
    widget_errors: int = 0               # "Error displaying widget" on the page
    screenshot: str = ""
    render_s: float = float("nan")       # "run all cells" -> the widget is on the page
    lr_psnr_plain: float = float("nan")       # the status line's LR-PSNR before the consistency checkbox
    lr_psnr_consistent: float = float("nan")  #   and after clicking it (the output projected)


def prepare_explorer(workdir: Path, parameters: dict) -> Path:
    """``notebooks/90_explorer.ipynb`` with ``parameters`` injected (papermill, not executed) in ``workdir``."""
    import papermill as pm
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    out = workdir / "90_explorer.ipynb"
    pm.execute_notebook(str(REPO_ROOT / "notebooks" / "90_explorer.ipynb"), str(out),
                        parameters={**parameters, "interactive": True}, prepare_only=True, kernel_name="python3",
                        progress_bar=False)
    return out


def explorer_in_browser(workdir: Path, parameters: dict, *, region: str = "hair", presses: int = 4,
                        screenshot: str | Path | None = None, timeout: float = 300.0) -> BrowserCheck:
    """Run notebook 90 in JupyterLab in headless Chromium and move the ``region`` slider by
    ``presses`` arrow-key steps; see the module docstring."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
    nb = prepare_explorer(workdir, parameters)
    check = BrowserCheck()
    with lab_server(nb.parent) as (url, token), chromium() as driver:
        driver.get(f"{url}/lab/tree/{nb.name}?token={token}&reset")
        wait = WebDriverWait(driver, timeout, poll_frequency=0.25)
        wait.until(lambda d: d.execute_script(
            "const a = window.jupyterapp; if (!a) return false;"
            "const w = a.shell.currentWidget; return !!(w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle');"))
        t0 = time.monotonic()
        driver.execute_script("window.jupyterapp.commands.execute('notebook:run-all-cells');")
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, ".widget-slider")) >= 5
                   or "Error displaying widget" in d.page_source)
        check.render_s = time.monotonic() - t0
        check.widget_errors = driver.page_source.count("Error displaying widget")
        sliders = driver.find_elements(By.CSS_SELECTOR, ".widget-slider")
        check.sliders = len(sliders)
        if check.widget_errors or not sliders:
            return check

        def readout(s):
            return s.find_element(By.CSS_SELECTOR, ".widget-readout").text.strip()

        def label(s):
            return s.find_element(By.CSS_SELECTOR, "label").text.strip()

        check.initial_values = [(label(s), readout(s)) for s in sliders]
        target = next(s for s in sliders if label(s) == region)
        check.moved = region

        def output_src(d):   # the explorer's "output" view: the third image of its first row
            imgs = d.find_elements(By.CSS_SELECTOR, ".jupyter-widgets img")
            return imgs[2].get_attribute("src") if len(imgs) > 2 else None

        # the first render has finished when the status line shows a latency
        wait.until(lambda d: "last update" in d.page_source)
        before = output_src(driver)
        handle = target.find_element(By.CSS_SELECTOR, ".noUi-handle")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", handle)
        handle.click()
        t0 = time.monotonic()
        for _ in range(presses):
            handle.send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda d: output_src(d) not in (None, before))
        check.latency_s = time.monotonic() - t0
        import hashlib
        check.output_before = hashlib.sha1((before or "").encode()).hexdigest() if before else ""
        check.output_after = hashlib.sha1((output_src(driver) or "").encode()).hexdigest()
        time.sleep(1.0)               # let the last of the key presses render

        def status_lr_psnr(d):        # "... LR-PSNR 23.4 dB ..." in the explorer's status line
            m = re.search(r"LR-PSNR ([0-9.]+) dB", d.page_source)
            return float(m.group(1)) if m else float("nan")
        check.lr_psnr_plain = status_lr_psnr(driver)
        box = driver.find_element(By.CSS_SELECTOR, ".widget-checkbox input[type=checkbox]")
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", box)
        box.click()
        wait.until(lambda d: "projected onto the consistent images" in d.page_source)
        check.lr_psnr_consistent = status_lr_psnr(driver)
        if screenshot is not None:
            Path(screenshot).parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(screenshot))
            check.screenshot = str(screenshot)
    return check

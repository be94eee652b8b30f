"""The reviewer's MLflow, checked in a real browser: `mlflow server` on 127.0.0.1 over a small
real workspace (one promoted run, one run stopped by a blocking gate), opened in headless
Chromium through Selenium. Screenshots are saved under test-artifacts/browser/ (or
$SYNTHGOV_TEST_ARTIFACTS) for the record."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from synthgov.cli import main
from tests.conftest import REPO
from tests.integration.test_faults import _workspace

pytestmark = [pytest.mark.integration, pytest.mark.browser]
SHOTS = Path(os.environ.get("SYNTHGOV_TEST_ARTIFACTS", REPO / "test-artifacts")) / "browser"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def reviewed(prefect_harness, adult, tmp_path_factory):
    """A workspace with a promoted run and a blocked run, and an MLflow server over its store."""
    ws = _workspace(tmp_path_factory.mktemp("browser"), adult)
    args = ["run", "--params-dir", str(ws / "params"), "--workspace", str(ws)]
    assert main([*args, "--summary-json", str(ws / "ok.json")]) == 0
    gates = ws / "params" / "gates.yaml"  # the source's disparate impact (0.02 < 0.8) made blocking
    spec = yaml.safe_load(gates.read_text())
    spec["audit_disparate_impact"] = {"threshold": 0.8, "severity": "block"}
    gates.write_text(yaml.safe_dump(spec))
    assert main([*args, "--summary-json", str(ws / "blocked.json")]) == 1
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri",
                               f"sqlite:///{ws / 'mlflow.db'}", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1"], cwd=ws, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    base, deadline = f"http://127.0.0.1:{port}", time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{base}/health", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("mlflow server did not start within 120 s")
    yield ws, base
    server.terminate()
    server.wait(30)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1600,2400"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    yield driver
    driver.quit()


def _page(driver, url: str, must_show: list[str], shot: str) -> str:
    """Open `url`, wait until every text in `must_show` is on the page, save a screenshot."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        WebDriverWait(driver, 60).until(lambda d: all(t in d.find_element(By.TAG_NAME, "body").text for t in must_show))
    except TimeoutException:
        driver.save_screenshot(str(SHOTS / f"FAILED-{shot}"))
        text = driver.find_element(By.TAG_NAME, "body").text
        missing = [t for t in must_show if t not in text]
        pytest.fail(f"{url}: not shown: {missing}; screenshot {SHOTS / f'FAILED-{shot}'}")
    driver.save_screenshot(str(SHOTS / shot))
    return driver.find_element(By.TAG_NAME, "body").text


def test_a_reviewer_sees_the_verdict_failed_gates_epsilon_and_release(reviewed, browser):
    ws, base = reviewed
    ok = json.loads((ws / "ok.json").read_text())
    blocked = json.loads((ws / "blocked.json").read_text())
    from mlflow import MlflowClient

    exp = MlflowClient(f"sqlite:///{ws / 'mlflow.db'}").get_experiment_by_name("synthgov").experiment_id
    release, eps = ok["release_id"], f"{ok['epsilon']:.4g}"

    # the promoted run: verdict and release in its name and description, epsilon, the tags
    text = _page(browser, f"{base}/#/experiments/{exp}/runs/{ok['mlflow_run_id']}",
                 [f"PROMOTED as release {release}", f"epsilon {eps}", "synthgov.failed_gates"], "promoted-run.png")
    assert "Warn gates failed (they do not block)" in text
    # the blocked run: NOT PROMOTED and the failing gate named at the top
    _page(browser, f"{base}/#/experiments/{exp}/runs/{blocked['mlflow_run_id']}",
          ["NOT PROMOTED", "Blocking gates failed: audit_disparate_impact"], "blocked-run.png")
    # the registered model: the version aliased current; its page: the tags and the card
    _page(browser, f"{base}/#/models/synthgov-release", ["@ current"], "registered-model.png")
    text = _page(browser, f"{base}/#/models/synthgov-release/versions/1",
                 [release, "synthgov.epsilon", "Dataset card of synthetic release"], "model-version.png")
    assert eps in text or f"{ok['epsilon']:.6g}" in text

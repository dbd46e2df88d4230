"""A real daemon serving the back office on a free port, and Debian's chromium driven by Playwright.

The daemon runs on its own thread (its asyncio loop, its worker, its simulated devices)
exactly as `appliance run` would; the test thread drives the browser with Playwright's
synchronous API and, for a till sale, calls the daemon's HTTP API with a bearer token as
another system would.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from appliance.api import server
from tests.test_api import issue_tokens
from tests.test_daemon import prepared, run_daemon

CHROMIUM = Path("/usr/lib/chromium/chromium")  # the binary itself: /usr/bin/chromium is a shell wrapper


class Office:
    """The daemon's API and back office at `url`, until `stop()`."""

    def __init__(self, settings, tmp_path: Path):
        self.settings, self.tmp_path = settings, tmp_path
        self.url = ""
        self.daemon: Any = None
        self._ready, self._stop = threading.Event(), threading.Event()
        self._failed: BaseException | None = None
        self.tokens: dict[str, str] = {}

    def start(self) -> "Office":
        prepared(self.settings)
        self.tokens = issue_tokens(self.settings)
        self._thread = threading.Thread(target=self._run, name="daemon", daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"the daemon did not start: {self._failed!r}")
        if self._failed:
            raise self._failed
        return self

    def _run(self) -> None:
        async def serve(daemon, systemd):
            runner = await server.start(daemon, port=0)
            host, port = runner.addresses[0][:2]
            self.url, self.daemon = f"http://{host}:{port}", daemon
            self._ready.set()
            try:
                while not self._stop.is_set():
                    await asyncio.sleep(0.05)
            finally:
                await runner.cleanup()

        try:
            run_daemon(self.settings, serve, self.tmp_path)
        except BaseException as exc:  # noqa: BLE001 - reported to the test thread
            self._failed = exc
            self._ready.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        if self._failed:
            raise self._failed

    def api(self, method: str, path: str, body: Any = None, *, role: str = "cashier") -> tuple[int, Any]:
        """One call to the API as a script would make it (bearer token of `role`)."""
        request = urllib.request.Request(self.url + path, method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"Bearer {self.tokens[role]}",
                                                  "Content-Type": "application/json"})  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def browser():
    """One chromium per test module: while Playwright's synchronous API runs, the main thread
    has a running event loop, so it must be gone before other modules' asyncio.run()."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists() or shutil.which("chromium") is None:
        pytest.fail("chromium is missing: `make test-system` installs it")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests may run as root, where chromium's sandbox refuses to start.
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


def new_page(browser, office: Office, *, locale: str = "en-US", width: int = 1200, height: int = 900):
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height}, base_url=office.url)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A refused API call logs "Failed to load resource" by itself; the page shows the refusal, tests check that.
    page.on("console", lambda m: errors.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.errors = errors  # asserted empty by the tests: a script error is a failure, not noise
    return page


def until(page, expression: str, seconds: float = 10.0) -> None:
    """Wait for a JavaScript expression to hold, evaluated from outside the page: Playwright's
    wait_for_function evaluates inside it with eval, which the page's CSP rightly forbids."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {expression}")
        time.sleep(0.05)


CHARTS_DRAWN = "[...document.querySelectorAll('img.chart')].every(i => i.complete && i.naturalWidth > 0)"


def sign_in(page, code: str, pin: str) -> None:
    page.goto("/office/")
    page.fill("input[name=code]", code)
    page.fill("input[name=pin]", pin)
    page.click("button[type=submit]")

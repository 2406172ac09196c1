"""Headless Chromium for the tests and for ``tools/screenshots.py``: find it, open pages, probe, screenshot, axe-core.

Two ways of driving it:

- :func:`dump_dom_with_probe`: one ``chromium --dump-dom`` launch on a COPY of the page with a probe script
  added before ``</body>``; the probe writes what it found into the DOM, which is read back. Used by the
  hostile-report tests (did any script run?).
- :class:`Browser`: one Chromium driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``:
  commands on file descriptor 3, answers on 4, each a JSON message ending in a NUL byte), with no library
  beyond the standard one. It is needed for phone widths: a headless window is never narrower than 500 px,
  so ``--window-size=390,900`` lays a page out at 500 px; ``Emulation.setDeviceMetricsOverride`` gives a
  real 390 or 320 px viewport (as a phone: the page's viewport meta applies). It also evaluates a probe in
  the loaded page (the report's file is never changed), takes full-page screenshots and runs axe-core.

Chromium comes from Debian (``.ci/run`` installs it). Without it the browser tests skip, unless
``DQM_REQUIRE_CHROMIUM=1`` (set by ``.ci/run``), when its absence fails them.
"""
from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome")
ROOT = Path(__file__).resolve().parent.parent


def chromium(required: bool | None = None) -> str | None:
    """The path of a Chromium on PATH, or None; with none, fail the calling test if it is required.

    ``required`` defaults to ``DQM_REQUIRE_CHROMIUM=1`` in the environment (CI sets it).
    """
    for name in NAMES:
        if shutil.which(name):
            return shutil.which(name)
    if required if required is not None else os.environ.get("DQM_REQUIRE_CHROMIUM") == "1":
        import pytest

        pytest.fail("Chromium is needed for the browser tests: apt-get install chromium")
    return None


def dump_dom_with_probe(browser: str, html_path: Path, tmp: Path, probe: str, width: int = 1280,
                        budget_ms: int = 4000):
    """The DOM (BeautifulSoup) after a copy of ``html_path`` with ``probe`` before ``</body>`` ran: one launch."""
    from bs4 import BeautifulSoup

    page = Path(tmp) / ("probe-" + Path(html_path).name)
    page.write_text(Path(html_path).read_text(encoding="utf-8").replace("</body>", probe + "</body>"), encoding="utf-8")
    p = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom",
                        f"--virtual-time-budget={budget_ms}", f"--window-size={width},900",
                        f"--user-data-dir={Path(tmp) / 'profile'}", page.as_uri()],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and "<body" in p.stdout, p.stderr[-2000:]
    return BeautifulSoup(p.stdout, "html.parser")


class BrowserError(RuntimeError):
    """Chromium answered a DevTools command with an error, closed its pipe or did not answer in time."""


class Browser:
    """One headless Chromium, one tab, driven over the DevTools protocol on a pipe. Use as a context manager.

    >>> with Browser(chromium(), tmp) as b:                       # doctest: +SKIP
    ...     b.open(Path("report.html"), width=390)
    ...     b.evaluate("document.title")
    """

    def __init__(self, browser: str, profile: Path, timeout: float = 120):
        self.browser, self.profile, self.timeout = browser, Path(profile), timeout
        self.proc = None
        self.next_id, self.buffer, self.events = 0, b"", []

    # -- the pipe
    def __enter__(self) -> Browser:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def fds():  # in the child: Chromium reads commands on fd 3 and writes answers on fd 4
            high = os.dup(to_chrome_r), os.dup(from_chrome_w)  # copies first: no dup2 below overwrites a source
            for fd, copy in zip((3, 4), high):
                os.dup2(copy, fd)
                os.set_inheritable(fd, True)

        self.proc = subprocess.Popen(
            [self.browser, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--hide-scrollbars", "--no-first-run", "--no-default-browser-check", "--mute-audio",
             f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, close_fds=False)  # every other descriptor is close-on-exec (PEP 446)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        targets = self._call("Target.getTargets")["targetInfos"]
        page = next(t["targetId"] for t in targets if t["type"] == "page")
        self.session = self._call("Target.attachToTarget", targetId=page, flatten=True)["sessionId"]
        self.send("Page.enable")
        self.send("Runtime.enable")
        return self

    def __exit__(self, *exc) -> bool:
        try:
            self._call("Browser.close")
        except (BrowserError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_chrome, self._from_chrome):
            os.close(fd)
        return False

    def _write(self, message: dict) -> int:
        self.next_id += 1
        message["id"] = self.next_id
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        return self.next_id

    def _read(self, deadline: float) -> dict:
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise BrowserError("Chromium did not answer in time")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed its DevTools pipe")
            self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def _call(self, method: str, session: str | None = None, **params) -> dict:
        message = {"method": method, "params": params}
        if session:
            message["sessionId"] = session
        wanted = self._write(message)
        deadline = time.monotonic() + self.timeout
        while True:
            msg = self._read(deadline)
            if msg.get("id") == wanted:
                if "error" in msg:
                    raise BrowserError(f"{method}: {msg['error'].get('message')}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def send(self, method: str, **params) -> dict:
        """A DevTools command to the tab; its result."""
        return self._call(method, session=self.session, **params)

    def wait_for(self, event: str) -> dict:
        """The next ``event`` from the tab (one already received is taken first)."""
        deadline = time.monotonic() + self.timeout
        while True:
            for i, msg in enumerate(self.events):
                if msg.get("method") == event:
                    return self.events.pop(i)
            msg = self._read(deadline)
            if "method" in msg:
                self.events.append(msg)

    # -- pages
    def open(self, html_path: Path, width: int = 1280, height: int = 900) -> None:
        """Load a page in a viewport ``width`` CSS px wide (a phone's, honouring the viewport meta, below 600)."""
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=width < 600)
        self.events = [m for m in self.events if m.get("method") != "Page.loadEventFired"]
        self.send("Page.navigate", url=Path(html_path).resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("document.fonts ? document.fonts.ready.then(function () { return 1; }) : 1")

    def evaluate(self, expression: str):
        """The value of a JavaScript expression in the page (a promise is awaited); a thrown error raises."""
        r = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            raise BrowserError(f"script error: {d.get('exception', {}).get('description') or d.get('text')}")
        return r["result"].get("value")

    def screenshot(self, png: Path, full_page: bool = False, scale: float = 1.0, max_height: int = 16000) -> Path:
        """A PNG of the viewport, or of the whole page (cut at ``max_height`` CSS px), at ``scale``."""
        size = self.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight,"
                             " window.innerWidth, window.innerHeight]")
        width, height = size[2], (min(size[1], max_height) if full_page else size[3])
        r = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=full_page,
                      clip={"x": 0, "y": 0, "width": width, "height": height, "scale": scale})
        Path(png).write_bytes(base64.b64decode(r["data"]))
        return Path(png)

    def axe(self, axe_js: Path) -> list[dict]:
        """axe-core's violations on the loaded page: [{id, impact, nodes, help}]."""
        self.evaluate(Path(axe_js).read_text(encoding="utf-8") + "\n;1")
        return self.evaluate("axe.run(document, {resultTypes: ['violations']}).then(function (r) {"
                             " return r.violations.map(function (v) { return {id: v.id, impact: v.impact,"
                             " nodes: v.nodes.length, help: v.help}; }); })")


def axe_js() -> Path | None:
    """axe-core's axe.min.js: ``DQM_AXE_JS``, or where `.ci/run` installs it (npm, into .ci/axe), or None."""
    for p in (os.environ.get("DQM_AXE_JS"), ROOT / ".ci/axe/node_modules/axe-core/axe.min.js"):
        if p and Path(p).is_file():
            return Path(p)
    return None

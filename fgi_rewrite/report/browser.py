"""Headless Chromium, to see a written HTML report as a reader does: a screenshot for humans,
the rendered DOM for tests. The report itself has no script; a measuring script goes into a
temporary copy only."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# No network, no first-run work, no background services: the page is a local file.
FLAGS = ("--headless", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")
MAX_HEIGHT = 16384  # Chromium's largest screenshot texture
TIMEOUT_S = 180


class BrowserError(Exception):
    """Chromium is missing or failed; the message says which and how."""


def find_chromium() -> str | None:
    return next((found for found in map(shutil.which, NAMES) if found), None)


def _run(page: Path, *arguments: str) -> str:
    chromium = find_chromium()
    if chromium is None:
        raise BrowserError(f"no Chromium on PATH (looked for {', '.join(NAMES)}); install it, e.g. "
                           "`apt-get install chromium`")
    # Chromium refuses to start its sandbox as root (containers, CI).
    sandbox = ("--no-sandbox",) if hasattr(os, "geteuid") and os.geteuid() == 0 else ()
    with tempfile.TemporaryDirectory(prefix="fgi-chromium-") as profile:
        command = [chromium, *FLAGS, *sandbox, f"--user-data-dir={profile}", *arguments, page.resolve().as_uri()]
        try:
            done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as error:
            raise BrowserError(f"{chromium} did not finish rendering {page} within {TIMEOUT_S} s") from error
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise BrowserError(f"{chromium} failed on {page} (exit {done.returncode}): {last}")
    return done.stdout


def dump_dom(page: Path, script: str = "", width: int = 1280) -> str:
    """The DOM after the load event, with `script` (JavaScript) run in a copy of the page."""
    with tempfile.TemporaryDirectory(prefix="fgi-page-") as folder:
        copy = Path(folder) / page.name
        html = page.read_text(encoding="utf-8")
        copy.write_text(html.replace("</body>", f"<script>{script}</script></body>") if script else html,
                        encoding="utf-8")
        return _run(copy, f"--window-size={width},900", "--dump-dom")


def page_height(page: Path, width: int = 1280) -> int:
    script = ("addEventListener('load', () => { const p = document.createElement('pre'); p.id = 'fgi-height';"
              " p.textContent = JSON.stringify(document.documentElement.scrollHeight);"
              " document.body.appendChild(p); });")
    match = re.search(r'<pre id="fgi-height">(\d+)</pre>', dump_dom(page, script, width))
    if match is None:
        raise BrowserError(f"could not measure the height of {page}")
    return json.loads(match.group(1))


def screenshot(page: Path, png: Path, width: int = 1280) -> int:
    """A PNG of the whole page (up to MAX_HEIGHT pixels), written atomically; returns its height."""
    height = min(page_height(page, width), MAX_HEIGHT)
    png.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=png.parent, prefix=f".{png.name}.", suffix=".png")
    os.close(fd)
    try:
        _run(page, f"--window-size={width},{height}", f"--screenshot={temporary}")
        if os.path.getsize(temporary) == 0:
            raise BrowserError(f"Chromium wrote no screenshot of {page}")
        os.chmod(temporary, 0o644)  # mkstemp's 0600 is for secrets; a screenshot is for sharing
        os.replace(temporary, png)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return height

"""Headless Chromium driven through Selenium, as a person uses the Airflow UI.

Debian's ``chromium`` and ``chromium-driver`` (installed by scripts/system-deps.sh): both paths are
given explicitly, so Selenium Manager is never asked for a driver or a browser, and ``SE_OFFLINE``
forbids it any download should something ask it anyway. Each browser gets a fresh profile; the
flags keep Chromium off the network (no component updates, sync, background requests, QUIC), which a
closed network would refuse anyway.

``Browser.shot(name)`` saves a PNG screenshot in the test's folder and, when ``CCHC_SCREENSHOTS_DIR``
is set (``make screenshots`` sets it to docs/screenshots), there too: the README's pictures come from
the same run. ``Browser.failure_report()`` says what the page showed when a step failed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS_ENV = "CCHC_SCREENSHOTS_DIR"
WINDOW = (1280, 1000)  # the page area is some 140 px less: the Airflow navigation and a table fit
WAIT = 60.0  # a page of a busy 2-core machine; a step that takes longer has failed
FLAGS = [
    "--headless=new",
    "--no-sandbox",  # root on the test machines
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--lang=vi-VN",
    "--force-device-scale-factor=1",
]


def missing() -> str | None:
    """Why no browser can run here (the packages are not installed), or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not path.exists():
            return (
                f"{path} is missing: install Debian's {package} (scripts/system-deps.sh, run by make install)"
            )
    return None


class Browser:
    """One headless Chromium with its own profile, screenshots numbered in the order they were taken."""

    def __init__(self, folder: Path) -> None:
        os.environ["SE_OFFLINE"] = "true"  # Selenium Manager: never a download (it is not even asked)
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.folder = folder
        self.shots = folder / "screenshots"
        self.shots.mkdir(parents=True, exist_ok=True)
        extra = os.environ.get(SCREENSHOTS_ENV)
        self.published = Path(extra).resolve() if extra else None
        if self.published:
            self.published.mkdir(parents=True, exist_ok=True)
        self.count = 0
        profile = folder / "chromium-profile"
        shutil.rmtree(profile, ignore_errors=True)
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in [*FLAGS, f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}"]:
            options.add_argument(flag)
        self.downloads = folder / "downloads"
        self.downloads.mkdir(parents=True, exist_ok=True)
        options.add_experimental_option(
            "prefs",
            {
                "intl.accept_languages": "vi-VN,vi",
                "download.default_directory": str(self.downloads),
                "download.prompt_for_download": False,
                "plugins.always_open_pdf_externally": True,  # a PDF link downloads the file
            },
        )
        service = Service(str(CHROMEDRIVER), log_output=str(folder / "chromedriver.log"))
        self.driver = webdriver.Chrome(service=service, options=options)
        self.driver.set_page_load_timeout(WAIT)
        self.driver.execute_cdp_cmd(
            "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(self.downloads)}
        )

    def quit(self) -> None:
        self.driver.quit()

    # ---- looking at the page

    def wait(self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT) -> Any:
        """Waits for ``condition(driver)`` to be truthy; fails saying ``what`` was awaited."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            return WebDriverWait(self.driver, timeout, poll_frequency=0.25).until(condition)
        except TimeoutException:
            raise AssertionError(f"after {timeout:.0f} s still waiting for {what}") from None

    def css(self, selector: str, timeout: float = WAIT):
        """The first visible element matching ``selector`` (waited for)."""
        from selenium.webdriver.common.by import By

        def visible(driver):
            for element in driver.find_elements(By.CSS_SELECTOR, selector):
                if element.is_displayed():
                    return element
            return None

        return self.wait(visible, f"a visible {selector!r} on {self.driver.current_url}", timeout)

    def all(self, selector: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def xpath(self, expression: str, timeout: float = WAIT):
        from selenium.webdriver.common.by import By

        def visible(driver):
            for element in driver.find_elements(By.XPATH, expression):
                if element.is_displayed():
                    return element
            return None

        return self.wait(visible, f"a visible {expression!r} on {self.driver.current_url}", timeout)

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def click(self, element) -> None:
        """A click as a person makes it; scrolled into view first (a sticky header may hide it)."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    # ---- frames

    @contextmanager
    def frame(self, selector: str = "iframe") -> Iterator[str]:
        """Inside the (first visible) iframe matching ``selector``; back to the top page after.
        Yields the iframe's ``src`` (read outside it: inside, the element is the parent's)."""
        element = self.css(selector)
        src = element.get_attribute("src") or ""
        self.driver.switch_to.frame(element)
        try:
            yield src
        finally:
            self.driver.switch_to.default_content()

    # ---- screenshots and failure reports

    def shot(self, name: str, publish: bool = True) -> Path:
        """A PNG of the whole window (the top page with any iframe in it), numbered in order; copied
        to ``CCHC_SCREENSHOTS_DIR`` as ``<name>.png`` unless ``publish`` is false."""
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        if self.published and publish:
            target = self.published / f"{name}.png"
            shutil.copyfile(path, target)
            optimize_png(target)
        return path

    def failure_report(self, name: str = "failure") -> str:
        """A screenshot, the page's source (and each iframe's) on disk; their paths and the visible text."""
        lines = [f"URL: {self.safe(lambda: self.driver.current_url)}"]
        try:
            self.driver.switch_to.default_content()
            self.count += 1
            shot = self.shots / f"{self.count:02d}-{name}.png"
            self.driver.save_screenshot(str(shot))
            lines.append(f"screenshot: {shot}")
            source = self.folder / f"{name}.html"
            source.write_text(self.driver.page_source, encoding="utf-8")
            lines.append(f"page source: {source}")
            from selenium.webdriver.common.by import By

            for index, frame in enumerate(self.driver.find_elements(By.TAG_NAME, "iframe")):
                src = frame.get_attribute("src")
                self.driver.switch_to.frame(frame)
                framed = self.folder / f"{name}-iframe{index}.html"
                framed.write_text(self.driver.page_source, encoding="utf-8")
                lines.append(f"iframe {index} ({src}): {framed}; its text:\n{self.text()[:3000]}")
                self.driver.switch_to.default_content()
            lines.append(f"visible text:\n{self.text()[:3000]}")
        except Exception as exc:  # noqa: BLE001 (a report must not hide the failure it reports)
            lines.append(f"(the report itself failed: {exc!r})")
        return "\n".join(lines)

    @staticmethod
    def safe(read: Callable[[], Any]) -> Any:
        try:
            return read()
        except Exception as exc:  # noqa: BLE001
            return f"({exc!r})"

    # ---- downloads

    def downloaded(self, name: str, timeout: float = WAIT) -> Path:
        """The file ``name`` once Chromium has finished downloading it (no ``.crdownload`` left)."""
        path = self.downloads / name

        def done(_driver) -> bool:
            partial = list(self.downloads.glob("*.crdownload"))
            return path.is_file() and not partial

        try:
            self.wait(done, f"the download {name}", timeout)
        except AssertionError:
            raise AssertionError(
                f"{name} not downloaded; the download folder holds {sorted(p.name for p in self.downloads.iterdir())}"
            ) from None
        return path

    # ---- the browser's session outside the page

    def cookies(self) -> dict[str, str]:
        """The browser's cookies for the current site (``_token``, the UI's JWT, is HttpOnly: still here)."""
        return {c["name"]: c["value"] for c in self.driver.get_cookies()}


def optimize_png(path: Path) -> None:
    """Smaller PNGs for the repository: a 256-colour palette (a screen of text and flat colours keeps
    its look) written with zlib's best effort; Pillow comes with matplotlib."""
    from PIL import Image

    with Image.open(path) as image:
        small = image.convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    small.save(path, optimize=True)

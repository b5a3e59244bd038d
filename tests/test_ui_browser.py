"""The "Báo cáo CCHC" page as an operator meets it: headless Chromium against ``make airflow``.

The server is the session's shared ``make airflow`` after the seed month has run
(tests/support/standalone_server.py). Debian's Chromium logs in through the simple auth manager's
login page with the login the startup printed, as a person does; opens "Báo cáo CCHC" from Airflow's
navigation (Airflow shows the plugin's page at ``/plugin/cchc`` in an iframe, so every look at the page
happens inside that frame); chooses the authority tu-ky and the period 2023-08; sees the units table
with the seed's figures (the authority-wide row: 97,67% / 99,05% / 80,2%, and Hưng Đạo's row as the
letter prints it); opens a unit's trend (the chart is there); follows the PDF link and gets the
letter (its bytes fetched with the browser's own cookie: a PDF holding the letter's number); and
opens the page from a DAG run's own view. Then a tour of the screens the README's operator guide
shows (the run, Required Actions, the trigger forms for resend and re-issue, deliveries).

Every step saves a PNG under the test's folder (``screenshots/``); with ``CCHC_SCREENSHOTS_DIR`` set
(``make screenshots``) the named ones are copied there too, which is how docs/screenshots/ is made.
A failed step prints the browser's screenshot, page source (the iframe's too) and visible text, and
the server's diagnostics.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, unquote, urljoin, urlsplit

import pytest
import requests
from support import browser as chromium
from support.paths import SEED_CONFIG
from support.standalone_server import AUTHORITY, PERIOD, TIMEOUT

pytestmark = [
    pytest.mark.airflow,
    pytest.mark.slow,
    pytest.mark.timeout(TIMEOUT),
    pytest.mark.skipif(chromium.missing() is not None, reason=str(chromium.missing())),
]

PAGE = "Báo cáo CCHC"
# The seed's authority-wide rates of August 2023 (receipt, result, online payment), as the letter prints.
WHOLE = ("97,67%", "99,05%", "80,2%")
TREND_UNIT = "X-HD"  # UBND xã Hưng Đạo: criticised for the second time; its row as the letter prints it
TREND_UNIT_CELLS = {"receipt_month": "97,67%", "payment_month": "24,27%", "payment_campaign": "16,05%"}


# --------------------------------------------------------------------------- the browser


@pytest.fixture(scope="module")
def browser(standalone, tmp_path_factory) -> Iterator[chromium.Browser]:
    """One Chromium for the module, logged in through the login page as a person does."""
    folder = tmp_path_factory.mktemp("browser")
    chrome = chromium.Browser(folder)
    try:
        with failure_report(chrome, standalone, "login"):
            log_in(chrome, standalone.login)
        yield chrome
    finally:
        chrome.quit()


@contextmanager
def failure_report(chrome: chromium.Browser, server, step: str) -> Iterator[None]:
    """On a failure: what the browser showed (screenshot, sources, text) and the server's diagnostics."""
    try:
        yield
    except BaseException:
        print(f"===== browser at the failed step '{step}' =====")
        print(chrome.failure_report(f"failed-{step}"))
        with server.diagnosing():
            raise


def log_in(chrome: chromium.Browser, login) -> None:
    """The UI sends a stranger to the simple auth manager's login page; the form lets him in."""
    chrome.driver.get(f"{login.url}/")
    chrome.wait(lambda d: "/auth/login" in d.current_url, "the redirect to the login page")
    chrome.css("input[name=username]").send_keys(login.username)
    chrome.css("input[name=password]").send_keys(login.password)
    chrome.shot("dang-nhap", publish=False)
    chrome.click(chrome.css("button[type=submit]"))
    chrome.wait(lambda d: "/auth/login" not in d.current_url, "leaving the login page")
    chrome.css("a[aria-label='Dags']")  # the navigation of a logged-in user
    assert "_token" in chrome.cookies(), chrome.cookies().keys()


def nav_link(chrome: chromium.Browser):
    """The navigation's entry for the page: at the top level, or inside the "Plugins" menu."""
    chrome.css("a[aria-label='Dags']")
    links = [e for e in chrome.all(f"a[aria-label='{PAGE}']") if e.is_displayed()]
    if links:
        return links[0]
    chrome.click(chrome.css("button[aria-label='Plugins']"))
    return chrome.xpath(f"//*[@role='menuitem' or self::a][contains(normalize-space(), '{PAGE}')]")


def page_frame(chrome: chromium.Browser):
    """The plugin's iframe in the Airflow page (Airflow titles it with the view's name)."""
    return chrome.frame(f"iframe[title='{PAGE}']")


def reloaded(chrome: chromium.Browser, old, what: str) -> None:
    """Waits until ``old`` (an element of the previous document) is gone: the frame has a new page."""
    from selenium.common.exceptions import StaleElementReferenceException

    def stale(_driver) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        return False

    chrome.wait(stale, what)


def choose(chrome: chromium.Browser, authority: str, period: str) -> None:
    """Inside the frame: the form's two lists and its button, as a person uses them."""
    from selenium.webdriver.support.ui import Select

    form = chrome.css("form#choose")
    Select(chrome.css("select#authority")).select_by_value(authority)
    options = [o.get_attribute("value") for o in Select(chrome.css("select#period")).options]
    assert period in options, f"period {period} not offered: {options}"
    Select(chrome.css("select#period")).select_by_value(period)
    chrome.click(chrome.css("button#show"))
    reloaded(chrome, form, "the page for the chosen authority and period")


def frame_query(chrome: chromium.Browser) -> dict[str, str]:
    """The query of the page the frame shows (its own URL, not the Airflow page's)."""
    url = chrome.driver.execute_script("return window.location.href")
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def assert_shows_the_month(chrome: chromium.Browser) -> None:
    query = frame_query(chrome)
    assert {k: query.get(k) for k in ("authority", "period")} == {"authority": AUTHORITY, "period": PERIOD}, (
        query
    )


def cell(row, column: str) -> str:
    return row.find_element("css selector", f"td[data-col='{column}']").text.strip()


def pdf_text(data: bytes, folder: Path) -> str:
    path = folder / "letter.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout


def issued_number(server) -> str:
    """The standing letter's number as it prints ("01/UBND-NV"), read from the warehouse."""
    from cchc.core.authorities import load_authority
    from cchc.core.db import default_url, engine_for
    from cchc.core.wording import document_number_text
    from cchc.letter.records import standing_letter

    engine = engine_for(default_url(server.stack.out))
    try:
        letter = standing_letter(engine, AUTHORITY, PERIOD)
    finally:
        engine.dispose()
    assert letter is not None, "the seed month left no issued letter"
    symbol = load_authority(SEED_CONFIG / AUTHORITY).document_symbol
    return document_number_text(letter["document_number"], symbol)


# --------------------------------------------------------------------------- the tests


def test_an_operator_reads_the_month_from_the_navigation_to_the_letter(browser, standalone, tmp_path):
    chrome = browser
    base = standalone.login.url

    with failure_report(chrome, standalone, "navigation"):
        chrome.driver.get(f"{base}/")
        chrome.click(nav_link(chrome))
        chrome.wait(lambda d: "/plugin/cchc" in d.current_url, "the page's address /plugin/cchc")
        with page_frame(chrome) as src:
            assert urlsplit(src).path.startswith("/cchc"), src
            chrome.css("form#choose")
        chrome.shot("bao-cao-mo-tu-menu", publish=False)  # as the next one

    with failure_report(chrome, standalone, "choose"), page_frame(chrome):
        choose(chrome, AUTHORITY, PERIOD)
        assert_shows_the_month(chrome)
        chrome.css("#letter-state")
    chrome.shot("tong-quan")

    with failure_report(chrome, standalone, "units"), page_frame(chrome):
        chrome.click(chrome.css("a#nav-units"))
        table = chrome.css("table#units")
        assert_shows_the_month(chrome)
        whole = table.find_element("css selector", "tr[data-unit='*']")
        shown = tuple(cell(whole, f"{m}_month") for m in ("receipt", "result", "payment"))
        assert shown == WHOLE, f"the authority-wide row shows {shown}: {whole.text}"
        unit = table.find_element("css selector", f"tr[data-unit='{TREND_UNIT}']")
        assert {c: cell(unit, c) for c in TREND_UNIT_CELLS} == TREND_UNIT_CELLS, unit.text
        assert chrome.css("a#export-csv") and chrome.css("a#export-xlsx")
    chrome.shot("don-vi")

    with failure_report(chrome, standalone, "trend"), page_frame(chrome):
        unit = chrome.css(f"table#units tr[data-unit='{TREND_UNIT}'] a.unit-trend")
        name = unit.text
        chrome.click(unit)
        chart = chrome.css("svg#trend-chart")
        assert chart.size["width"] > 100 and chart.size["height"] > 100, chart.size
        assert chart.find_elements("css selector", "polyline, path, circle, rect"), "an empty chart"
        assert name in chrome.text(), f"the trend page does not name {name}"
        chrome.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", chart)
    chrome.shot("xu-huong-don-vi")

    with failure_report(chrome, standalone, "pdf"), page_frame(chrome):
        chrome.click(chrome.css("a#nav-overview"))
        link = chrome.css("a#file-letter-pdf")
        href = urljoin(
            chrome.driver.execute_script("return window.location.href"), link.get_attribute("href")
        )
        assert urlsplit(href).netloc == urlsplit(base).netloc and urlsplit(href).path.startswith("/cchc/")
        # The browser's own session: the UI's JWT cookie, as the click on the link sends it.
        answer = requests.get(href, cookies={"_token": chrome.cookies()["_token"]}, timeout=60)
        assert answer.status_code == 200, (answer.status_code, answer.text[:300])
        assert answer.content.startswith(b"%PDF"), answer.content[:100]
        number = issued_number(standalone)
        text = pdf_text(answer.content, tmp_path)
        assert f"Số: {number}" in text, text[:500]
        # Without the cookie the same link is refused.
        stranger = requests.get(href, timeout=60, allow_redirects=False)
        assert stranger.status_code in (401, 403), stranger.status_code
        assert number in chrome.text(), f"the overview does not show the letter's number {number}"
        # And as a person follows it: the click downloads the same file (the iframe allows downloads).
        filename = answer.headers.get("content-disposition", "")
        name = re.search(r"filename\*=utf-8''([^;]+)|filename=\"([^\"]+)\"", filename, re.I)
        assert name, answer.headers
        chrome.click(link)
        saved = chrome.downloaded(unquote(name.group(1) or name.group(2)))
        assert saved.read_bytes() == answer.content

    with failure_report(chrome, standalone, "deliveries"), page_frame(chrome):
        chrome.click(chrome.css("a#nav-deliveries"))
        rows = chrome.css("table#deliveries").find_elements("css selector", "tbody tr")
        assert rows, "no delivery listed"
    chrome.shot("gui-thu")

    with failure_report(chrome, standalone, "files"), page_frame(chrome):
        chrome.click(chrome.css("a#nav-files"))
        assert chrome.css("a#file-letter-pdf") and chrome.css("a#file-letter-docx")
    chrome.shot("tep")

    # From the page to Airflow's own screens: the frame is sandboxed without top navigation, so the
    # link must move the Airflow page itself (not open Airflow inside the frame, nor do nothing).
    with failure_report(chrome, standalone, "to-airflow"):
        with page_frame(chrome):
            chrome.click(chrome.css("a#nav-overview"))
            chrome.click(chrome.css("a#airflow-letters"))
        chrome.wait(
            lambda d: urlsplit(d.current_url).path.rstrip("/").endswith("/dags/cchc_letters"),
            "the Airflow page of cchc_letters in the top window",
        )
        chrome.wait(
            lambda d: not d.find_elements("css selector", f"iframe[title='{PAGE}']"),
            "Airflow's own screen in place of the page's frame",
        )


def test_a_dag_run_opens_the_page_at_its_authority_and_period(browser, standalone):
    chrome = browser
    run_id = standalone.letters["dag_run_id"]
    with failure_report(chrome, standalone, "dag-run-view"):
        chrome.driver.get(f"{standalone.login.url}/dags/cchc_letters/runs/{run_id}")
        # The run's own tab (the navigation has an entry of the same name: not that one).
        chrome.click(chrome.css(f"a[title='{PAGE}'][href*='/runs/'][href$='/plugin/cchc-run']"))
        chrome.wait(lambda d: "/plugin/cchc-run" in d.current_url, "the run's page tab")
        with page_frame(chrome) as src:
            assert "run_id=" in src and "dag_id=cchc_letters" in src, src
            chrome.css("#letter-state")
            assert_shows_the_month(chrome)
        chrome.shot("tu-lan-chay")


def test_the_screens_of_the_operator_guide(browser, standalone):
    """Airflow's own screens the README's guide walks through (nothing is triggered here)."""
    chrome = browser
    base = standalone.login.url
    monthly = standalone.monthly["dag_run_id"]
    with failure_report(chrome, standalone, "guide-run"):
        chrome.driver.get(f"{base}/dags/cchc_monthly/runs/{monthly}")
        chrome.xpath("//*[normalize-space()='Success']")
        chrome.shot("lan-chay-thang")
    with failure_report(chrome, standalone, "guide-required-actions"):
        chrome.driver.get(f"{base}/required_actions")
        chrome.xpath("//*[contains(normalize-space(), 'Required Actions')]")
        chrome.shot("required-actions")
    with failure_report(chrome, standalone, "guide-trigger"):
        chrome.driver.get(f"{base}/dags/cchc_letters")
        chrome.click(chrome.xpath("//button[normalize-space()='Trigger']"))
        dialog = chrome.css("[role=dialog]")
        assert "Gửi lại cho" in dialog.text and "Phát hành lại" in dialog.text, dialog.text
        chrome.shot("trigger-cchc-letters")
        resend = chrome.xpath("//*[@role='dialog']//label[contains(normalize-space(), 'Gửi lại cho')]")
        chrome.driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", resend)
        chrome.shot("trigger-gui-lai-phat-hanh-lai")

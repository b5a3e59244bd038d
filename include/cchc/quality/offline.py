"""The Data Docs readable without internet: every script, stylesheet, font and image local.

Great Expectations writes pages that load their libraries from public CDNs (jsdelivr, cdnjs, unpkg,
bootstrapcdn, code.jquery.com) and its logo from its own web site; where the committee's network has
no internet, ``validation/index.html`` showed two "Clear Filters" buttons and nothing else.
``make_offline`` runs after every build of a period's site and:

- copies the libraries into ``static/vendor/`` from registry packages: jQuery 3.7.1
  (``xstatic-jquery``, the version the pages ask for), Bootstrap 4.5.3 (``xstatic-bootstrap``; the
  pages ask for 4.3.1, same major version; its bundle carries Popper) and Font Awesome 6.2.1
  (``xstatic-font-awesome``, for 6.6.0: the icons the pages use are in both; the webfonts in WOFF2
  only);
- copies the project's own ``static/cchc/cchc-datadocs.js`` (and its stylesheet), which draws the
  index page's tables in place of bootstrap-table, for which no registry package exists; the
  filter-control extension, the datepicker, the dark theme and Vega are left out (the pages use
  nothing of them that a reader needs; a chart, which these suites never draw, says it needs Vega);
- rewrites every page's references to those local copies (relative to the page) and points the logo
  at GX's own ``static/images/logo-long.png``; drops the images GX copies that no page shows
  (3.4 MB of animations and logos, copied again by every build).

The assets are copied once per site (``<authority>/<period>/validation/``): only when missing or
different, so a rerun writes nothing new. They sit inside the site so that the folder stays whole:
copied elsewhere, or served by the operators' page, it still reads.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cchc.core.files import atomic_write

log = logging.getLogger(__name__)

STATIC = "static"
OWN_STATIC = Path(__file__).with_name("static")
VENDOR = "vendor"
JQUERY = f"{VENDOR}/jquery/jquery.min.js"
BOOTSTRAP_CSS = f"{VENDOR}/bootstrap/css/bootstrap.min.css"
BOOTSTRAP_JS = f"{VENDOR}/bootstrap/js/bootstrap.bundle.min.js"
FONT_AWESOME_CSS = f"{VENDOR}/font-awesome/css/all.min.css"
TABLE_JS = "cchc/cchc-datadocs.js"
TABLE_CSS = "cchc/cchc-datadocs.css"
LOGO = "images/logo-long.png"
KEPT_IMAGES = {"favicon.ico", "logo-long.png"}  # what the pages show of GX's static/images

# What each external reference becomes: a local asset under static/, or None (the tag is dropped).
# Checked in order; a reference matching none is dropped too, and logged.
REPLACEMENTS: tuple[tuple[re.Pattern[str], str | None], ...] = (
    (re.compile(r"code\.jquery\.com/jquery-[\d.]+(\.min)?\.js"), JQUERY),
    (re.compile(r"bootstrapcdn\.com/bootstrap/[\d.]+/css/bootstrap(\.min)?\.css"), BOOTSTRAP_CSS),
    (re.compile(r"bootstrapcdn\.com/bootstrap/[\d.]+/js/bootstrap(\.min)?\.js"), BOOTSTRAP_JS),
    (re.compile(r"popper"), None),  # in Bootstrap's bundle
    (re.compile(r"font-awesome/[\d.]+/css/all(\.min)?\.css"), FONT_AWESOME_CSS),
    (re.compile(r"bootstrap-table@[\d.]+/dist/extensions/"), None),
    (re.compile(r"bootstrap-table@[\d.]+/dist/bootstrap-table(\.min)?\.js"), TABLE_JS),
    (re.compile(r"bootstrap-table@[\d.]+/dist/bootstrap-table(\.min)?\.css"), TABLE_CSS),
    (re.compile(r"bootstrap-datepicker"), None),
    (re.compile(r"bootstrap-dark"), None),
    (re.compile(r"/npm/vega(-lite|-embed)?@"), None),  # cchc-datadocs.js answers vegaEmbed
    (re.compile(r"great-expectations-web-assets.*/logo-long\.png"), LOGO),
)
# <script src=…>, <link href=…>, <img src=…> whose address is absolute (attributes may span lines).
TAG = re.compile(
    r"<(?P<tag>script|link|img)\b(?P<attrs>[^>]*?)\b(?P<attr>src|href)=\"(?P<url>(?:https?:)?//[^\"]+)\""
    r"(?P<rest>[^>]*)>(?P<close>\s*</script>)?",
    re.IGNORECASE | re.DOTALL,
)
SOURCE_MAP = re.compile(rb"\n?(/\*# sourceMappingURL=[^*]*\*/|//# sourceMappingURL=\S*)\s*$")
TRUETYPE = re.compile(rb',url\([^)]*\.ttf\) format\("truetype"\)')
CSS_URL = re.compile(r"url\((['\"]?)https?://[^)'\"]*\1\)")


@dataclass(frozen=True)
class Copy:
    target: str  # under the site's static/
    data: bytes


def _xstatic(module: str) -> Path:
    from importlib import import_module

    return Path(import_module(f"xstatic.pkg.{module}").BASE_DIR)


def _clean(data: bytes) -> bytes:
    """Without the source-map comment: the maps are not copied, so nothing points at a missing file."""
    return SOURCE_MAP.sub(b"\n", data)


def assets() -> list[Copy]:
    """Every file the offline pages load, with its content (a few hundred KB in all)."""
    jquery, bootstrap, awesome = _xstatic("jquery"), _xstatic("bootstrap"), _xstatic("font_awesome")
    copies = [
        Copy(JQUERY, _clean((jquery / "jquery.min.js").read_bytes())),
        Copy(BOOTSTRAP_CSS, _clean((bootstrap / "css" / "bootstrap.min.css").read_bytes())),
        Copy(BOOTSTRAP_JS, _clean((bootstrap / "js" / "bootstrap.bundle.min.js").read_bytes())),
        # WOFF2 only: every browser that runs these pages reads it; the TrueType fallbacks weigh 650 KB.
        Copy(FONT_AWESOME_CSS, TRUETYPE.sub(b"", _clean((awesome / "css" / "all.min.css").read_bytes()))),
        Copy(TABLE_JS, (OWN_STATIC / "cchc-datadocs.js").read_bytes()),
        Copy(TABLE_CSS, (OWN_STATIC / "cchc-datadocs.css").read_bytes()),
    ]
    copies += [
        Copy(f"{VENDOR}/font-awesome/webfonts/{font.name}", font.read_bytes())
        for font in sorted((awesome / "webfonts").glob("*.woff2"))
    ]
    return copies


def _local(url: str) -> str | None:
    for pattern, target in REPLACEMENTS:
        if pattern.search(url):
            return target
    log.warning("Data Docs: bỏ tham chiếu tới %s (không có bản sao cục bộ)", url)
    return None


def rewrite_page(html: str, page_dir: Path, static_dir: Path) -> str:
    """The page with every external script, stylesheet and image local (or dropped)."""

    def replace(match: re.Match[str]) -> str:
        target = _local(match["url"])
        if target is None:
            return ""
        relative = Path(os.path.relpath(static_dir / target, page_dir)).as_posix()
        close = match["close"] or ""
        return f'<{match["tag"]}{match["attrs"]}{match["attr"]}="{relative}"{match["rest"]}>{close}'

    return TAG.sub(replace, html)


def make_offline(site_dir: str | os.PathLike) -> list[Path]:
    """Makes the site under ``site_dir`` readable offline; returns the pages it rewrote."""
    site = Path(site_dir)
    static_dir = site / STATIC
    for copy in assets():
        target = static_dir / copy.target
        if not target.is_file() or target.read_bytes() != copy.data:
            atomic_write(target, copy.data)
    for css in (static_dir / "styles").glob("*.css"):
        text = css.read_text(encoding="utf-8")
        local = CSS_URL.sub("none", text)  # the dark theme's logo, from GX's web site
        if local != text:
            atomic_write(css, local)
    for image in (static_dir / "images").glob("*"):
        if image.is_file() and image.name not in KEPT_IMAGES:
            image.unlink()
    rewritten = []
    for page in sorted(site.rglob("*.html")):
        if static_dir in page.parents:
            continue
        html = page.read_text(encoding="utf-8")
        local = rewrite_page(html, page.parent, static_dir)
        if local != html:
            atomic_write(page, local)
            rewritten.append(page)
    return rewritten

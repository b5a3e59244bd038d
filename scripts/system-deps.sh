#!/usr/bin/env bash
# Installs the Debian packages the project needs when any is missing: LibreOffice (PDF rendering) and
# python3-uno (the system Python's bridge to the LibreOffice session that converts every letter of a process),
# Liberation fonts (Times-compatible, with Vietnamese glyphs), poppler (PDF checks) and Debian's
# docker-compose (to check docker-compose.yaml without a Docker engine), Chromium and its WebDriver (the
# operators' page tested in a real headless browser: the tests never download a browser).
set -euo pipefail

missing=()
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
/usr/bin/python3 -c "import uno" >/dev/null 2>&1 || missing+=(python3-uno)
fc-list 2>/dev/null | grep -q "LiberationSerif" || missing+=(fonts-liberation2)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Cài các gói hệ thống còn thiếu: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || { echo "Cần quyền root để cài: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"

"""Every environment variable and Airflow connection id of the project, read in this one place.

Nothing else in ``cchc`` reads ``os.environ``: a module that needs a setting asks ``current()``, which
reads the environment when it is called (a task, a command), never at import time, so a DAG file
stays cheap to parse and a test may set a variable just before the code it exercises. ``VARIABLES``
is the table the README's configuration section lists (a test keeps the two in step).

Secrets (the portal's client secret, the signing password) are read here too, but never logged:
``Settings`` does not show them in its ``repr``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cchc.core.errors import ConfigError

# Airflow connections the tasks look up at run time (never at parse time).
PORTAL_CONN_ID = "cchc_portal"
WAREHOUSE_CONN_ID = "cchc_warehouse"
SMTP_CONN_ID = "smtp_default"
CONNECTIONS = {
    PORTAL_CONN_ID: "Cổng dịch vụ công: địa chỉ https (http chỉ với máy này hoặc extra allow_http), OAuth2 "
    "client id (login) và secret (password); extra: connect_timeout, read_timeout, max_workers, "
    "rate_limit (yêu cầu/giây), page_size, post_listing, allow_http",
    WAREHOUSE_CONN_ID: "kho dữ liệu: URL SQLAlchemy trong extra.url (mặc định SQLite dưới CCHC_OUTPUT_DIR)",
    SMTP_CONN_ID: "máy chủ thư gửi công văn, thư tổng hợp và cảnh báo (from_email trong extra)",
}

CONFIG_DIR = "CCHC_CONFIG_DIR"
OUTPUT_DIR = "CCHC_OUTPUT_DIR"
INBOX_DIR = "CCHC_INBOX_DIR"
WAREHOUSE_URL = "CCHC_WAREHOUSE_URL"
PORTAL_URL = "CCHC_PORTAL_URL"
PORTAL_CLIENT_ID = "CCHC_PORTAL_CLIENT_ID"
PORTAL_CLIENT_SECRET = "CCHC_PORTAL_CLIENT_SECRET"
PORTAL_RATE_LIMIT = "CCHC_PORTAL_RATE_LIMIT"
SIMULATOR_CLIENT_SECRET = "CCHC_SIMULATOR_CLIENT_SECRET"
SOFFICE = "CCHC_SOFFICE"
LIBREOFFICE_SESSION = "CCHC_LIBREOFFICE_SESSION"
UNO_PYTHON = "CCHC_UNO_PYTHON"
SIGNING_P12 = "CCHC_SIGNING_P12"
SIGNING_PASSWORD = "CCHC_SIGNING_PASSWORD"
TASK_RETRIES = "CCHC_TASK_RETRIES"
SIMULATOR_PORT = "CCHC_SIMULATOR_PORT"

# Airflow's own settings that ``make airflow`` (cchc.pipeline.standalone) reads or fills in for the
# components it starts; Airflow itself reads them from the environment.
AIRFLOW_HOME = "AIRFLOW_HOME"
AIRFLOW_API_HOST = "AIRFLOW__API__HOST"
AIRFLOW_API_PORT = "AIRFLOW__API__PORT"
AIRFLOW_EXECUTION_API_URL = "AIRFLOW__CORE__EXECUTION_API_SERVER_URL"
AIRFLOW_AUTH_USERS = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"
AIRFLOW_PASSWORDS_FILE = "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
# make run-celery names each Celery worker it starts; the task instances record it (see
# cchc.pipeline.hostname), since every worker on one machine has the machine's host name.
WORKER_NAME = "CCHC_WORKER_NAME"
DEFAULT_AIRFLOW_API_HOST = "127.0.0.1"  # the embedded UI is for this machine only
DEFAULT_AIRFLOW_API_PORT = 8080
DEFAULT_AIRFLOW_USERS = "admin:admin"

VARIABLES = {
    CONFIG_DIR: "thư mục cấu hình: một thư mục con cho mỗi cơ quan ban hành (bắt buộc khi chạy tác vụ)",
    OUTPUT_DIR: "nơi mỗi lần chạy ghi <cơ quan>/<kỳ>/… (mặc định output/)",
    INBOX_DIR: "nơi đặt tệp Excel xuất từ hệ thống giải quyết TTHC khi cơ quan lấy số liệu từ Excel",
    WAREHOUSE_URL: "URL SQLAlchemy của kho dữ liệu cho dòng lệnh cchc và make run (trong Airflow: kết nối "
    "cchc_warehouse); mặc định tệp SQLite <CCHC_OUTPUT_DIR>/warehouse.db",
    PORTAL_URL: "địa chỉ Cổng dịch vụ công cho lệnh cchc extract (trong Airflow: kết nối cchc_portal)",
    PORTAL_CLIENT_ID: "OAuth2 client id của cổng cho lệnh cchc extract",
    PORTAL_CLIENT_SECRET: "OAuth2 client secret của cổng cho lệnh cchc extract (không bao giờ ghi vào log)",
    PORTAL_RATE_LIMIT: "số yêu cầu mỗi giây tối đa mà máy khách gửi tới cổng (mọi luồng cộng lại), khi kết nối "
    "cchc_portal không có extra.rate_limit; mặc định không giới hạn trước, gặp 429 thì tự giảm",
    SIMULATOR_CLIENT_SECRET: "client secret mà trình giả lập cổng đòi khi chạy với --client-id",
    SOFFICE: "đường dẫn tới soffice (LibreOffice) khi không có trên PATH",
    LIBREOFFICE_SESSION: "0 để mỗi lần chuyển PDF chạy một LibreOffice riêng; mặc định 1: một LibreOffice chạy sẵn "
    "cho mọi lần chuyển của một tiến trình",
    UNO_PYTHON: "trình Python có gói python3-uno, chạy cầu nối tới phiên LibreOffice (mặc định /usr/bin/python3)",
    SIGNING_P12: "tệp chứng thư số PKCS#12 để ký PDF (pyHanko); không đặt thì không ký",
    SIGNING_PASSWORD: "mật khẩu của tệp chứng thư số",
    TASK_RETRIES: "số lần thử lại của mọi tác vụ (mặc định 2; make run đặt 0 để lỗi hiện ngay)",
    SIMULATOR_PORT: "cổng của trình giả lập Cổng DVC mà make airflow khởi động (mặc định: một cổng còn trống)",
}
DEFAULT_OUTPUT_DIR = "output"
DEFAULT_TASK_RETRIES = 2

_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


def connection_variable(conn_id: str) -> str:
    """``AIRFLOW_CONN_<ID>``: how the environment defines an Airflow connection."""
    return f"AIRFLOW_CONN_{conn_id.upper()}"


class _Variable:
    """A setting read from one environment variable: text, a path, or a count (``kind``)."""

    def __init__(self, name: str, kind: str = "text", default: Any = None) -> None:
        self.name, self.kind, self.default = name, kind, default

    def __get__(self, settings: Settings | None, owner: type) -> Any:
        if settings is None:
            return self
        value = settings.env.get(self.name) or None
        if value is None:
            return self.default
        if self.kind == "path":
            return Path(value).expanduser()
        if self.kind == "count":
            if not value.isdigit():
                raise ConfigError(f"{self.name}='{value}' phải là số nguyên không âm")
            return int(value)
        if self.kind == "rate":
            try:
                rate = float(value)
            except ValueError:
                rate = 0.0
            if not rate > 0 or rate == float("inf"):
                raise ConfigError(f"{self.name}='{value}' phải là số dương (yêu cầu mỗi giây)")
            return rate
        if self.kind == "port":
            if not value.isdigit() or not 0 < int(value) < 65536:
                raise ConfigError(f"{self.name}='{value}' không phải số cổng (1–65535)")
            return int(value)
        return value


@dataclass(frozen=True)
class Settings:
    """The environment as the project reads it. ``current()`` gives the settings of this moment."""

    env: Mapping[str, str] = field(repr=False)

    inbox_dir = _Variable(INBOX_DIR, "path")
    warehouse_url = _Variable(WAREHOUSE_URL)
    portal_url = _Variable(PORTAL_URL)
    portal_client_id = _Variable(PORTAL_CLIENT_ID)
    portal_client_secret = _Variable(PORTAL_CLIENT_SECRET)
    portal_rate_limit = _Variable(PORTAL_RATE_LIMIT, "rate")
    simulator_client_secret = _Variable(SIMULATOR_CLIENT_SECRET)
    soffice = _Variable(SOFFICE)
    uno_python = _Variable(UNO_PYTHON)
    _libreoffice_session = _Variable(LIBREOFFICE_SESSION, "count", 1)
    signing_p12 = _Variable(SIGNING_P12, "path")
    signing_password = _Variable(SIGNING_PASSWORD)
    task_retries = _Variable(TASK_RETRIES, "count", DEFAULT_TASK_RETRIES)
    _config_dir = _Variable(CONFIG_DIR, "path")
    _output_dir = _Variable(OUTPUT_DIR, "path", Path(DEFAULT_OUTPUT_DIR))

    @property
    def libreoffice_session(self) -> bool:
        """Conversions through one LibreOffice kept running (``cchc.letter.office``), unless set to 0."""
        return bool(self._libreoffice_session)

    @property
    def config_dir(self) -> Path:
        path: Path | None = self._config_dir
        if path is None:
            raise ConfigError(
                f"chưa đặt biến môi trường {CONFIG_DIR} (thư mục cấu hình các cơ quan ban hành)"
            )
        return path

    @property
    def output_dir(self) -> Path:
        path: Path = self._output_dir
        return path

    simulator_port = _Variable(SIMULATOR_PORT, "port")
    airflow_api_host = _Variable(AIRFLOW_API_HOST, default=DEFAULT_AIRFLOW_API_HOST)
    airflow_api_port = _Variable(AIRFLOW_API_PORT, "port", DEFAULT_AIRFLOW_API_PORT)
    airflow_execution_api_url = _Variable(AIRFLOW_EXECUTION_API_URL)
    airflow_users = _Variable(AIRFLOW_AUTH_USERS, default=DEFAULT_AIRFLOW_USERS)
    worker_name = _Variable(WORKER_NAME)
    _airflow_home = _Variable(AIRFLOW_HOME, "path")
    _airflow_passwords_file = _Variable(AIRFLOW_PASSWORDS_FILE, "path")

    @property
    def airflow_home(self) -> Path:
        """Where Airflow keeps its configuration, metadata and logs (Airflow's own default: ~/airflow)."""
        path: Path | None = self._airflow_home
        return path or Path("~/airflow").expanduser()

    @property
    def airflow_passwords_file(self) -> Path:
        """Where Airflow's simple auth manager keeps the passwords it generates."""
        path: Path | None = self._airflow_passwords_file
        return path or self.airflow_home / "simple_auth_manager_passwords.json.generated"

    def secret(self, name: str) -> str | None:
        """A variable named by configuration (e.g. ``signing.password_env`` in authority.yaml)."""
        if not _NAME.match(name):
            raise ConfigError(f"tên biến môi trường '{name}' không hợp lệ (chỉ chữ in hoa, số và '_')")
        return self.env.get(name)

    def has_connection(self, conn_id: str) -> bool:
        """True when the environment itself defines the Airflow connection (``AIRFLOW_CONN_<ID>``)."""
        return bool(self.connection_uri(conn_id))

    def connection_uri(self, conn_id: str) -> str | None:
        return self.env.get(connection_variable(conn_id)) or None

    def child_environment(self, **overrides: str) -> dict[str, str]:
        """The environment for a child process of ours (LibreOffice, Airflow, the simulator)."""
        return {**self.env, **overrides}


def current() -> Settings:
    """The settings as the environment is now (read on every call: never cached at import)."""
    return Settings(dict(os.environ))


def quiet_great_expectations() -> None:
    """Great Expectations' analytics off unless the deployment says otherwise (it would call home)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

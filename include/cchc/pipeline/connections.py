"""The Airflow connections the tasks use, looked up when a task runs (never at DAG parse time).

Each task looks them up itself: a URL or a secret never travels through XCom.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cchc.core import settings

if TYPE_CHECKING:
    from cchc.delivery.send import SmtpSettings
    from cchc.portal.client import PortalClient


def portal_client() -> PortalClient:
    """A PortalClient from the ``cchc_portal`` connection."""
    from airflow.sdk import BaseHook

    from cchc.portal.client import PortalClient

    return PortalClient.from_connection(BaseHook.get_connection(settings.PORTAL_CONN_ID))


def warehouse_url() -> str:
    """The ``cchc_warehouse`` connection's SQLAlchemy URL; without one, the embedded SQLite file."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    from cchc.core.db import url_from_env, warehouse_url_from_connection

    try:
        return warehouse_url_from_connection(BaseHook.get_connection(settings.WAREHOUSE_CONN_ID))
    except AirflowNotFoundException:
        return url_from_env(settings.current().output_dir)


def smtp_settings() -> SmtpSettings:
    """SMTP settings from the ``smtp_default`` connection."""
    from airflow.sdk import BaseHook

    from cchc.delivery.send import smtp_settings_from_connection

    return smtp_settings_from_connection(BaseHook.get_connection(settings.SMTP_CONN_ID))

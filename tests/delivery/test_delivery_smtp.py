"""SMTP settings from the smtp_default connection, and the session's answers, against aiosmtpd."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from support.net import free_tcp_port

from cchc.core.errors import ConfigError
from cchc.delivery.errors import SmtpUnavailable
from cchc.delivery.send import SmtpSession, SmtpSettings, connection_from_uri, smtp_settings_from_connection


def _conn(**kwargs):
    values = dict(
        host="mail.tuky.haiduong.gov.vn", port=None, login="cchc", password="s3cr3t!pw", extra_dejson={}
    )
    values.update(kwargs)
    return SimpleNamespace(**values)


def test_defaults_follow_the_airflow_smtp_provider():
    settings = smtp_settings_from_connection(_conn(extra_dejson={"from_email": "cchc@tuky.haiduong.gov.vn"}))
    assert settings.use_ssl and not settings.starttls and settings.port == 465 and settings.timeout == 30
    assert settings.login == "cchc" and settings.password == "s3cr3t!pw"


def test_extras_as_strings_or_booleans():
    settings = smtp_settings_from_connection(
        _conn(
            port=25,
            extra_dejson={
                "disable_ssl": "true",
                "disable_tls": True,
                "from_email": "a@b.vn",
                "timeout": "7",
                "retry_limit": 3,
            },
        )
    )
    assert (settings.use_ssl, settings.starttls, settings.port, settings.timeout, settings.retry_limit) == (
        False,
        False,
        25,
        7.0,
        3,
    )
    starttls = smtp_settings_from_connection(
        _conn(extra_dejson={"disable_ssl": True, "from_email": "a@b.vn"})
    )
    assert starttls.starttls and starttls.port == 587


def test_extra_as_json_text_like_a_connection_object():
    conn = SimpleNamespace(
        host="h",
        port=2525,
        login=None,
        password=None,
        extra='{"disable_ssl": true, "disable_tls": true, "from_email": "a@b.vn"}',
    )
    settings = smtp_settings_from_connection(conn)
    assert settings.port == 2525 and not settings.starttls and settings.login is None


@pytest.mark.parametrize(
    ("conn", "message"),
    [
        (_conn(host=""), "chưa có host"),
        (_conn(), "from_email"),
        (_conn(extra_dejson={"from_email": "a@b.vn", "disable_ssl": "perhaps"}), "disable_ssl"),
        (_conn(extra_dejson={"from_email": "a@b.vn", "ssl_context": "weird"}), "ssl_context"),
    ],
)
def test_bad_connections_are_refused_clearly(conn, message):
    with pytest.raises(ConfigError, match=message):
        smtp_settings_from_connection(conn)


def test_password_never_shown():
    settings = smtp_settings_from_connection(_conn(extra_dejson={"from_email": "a@b.vn"}))
    assert "s3cr3t" not in repr(settings) and "s3cr3t" not in settings.describe()


def test_uri_and_json_forms_of_the_environment_variable():
    conn = connection_from_uri("smtp://us%40er:p%40ss@127.0.0.1:8025?disable_ssl=true&from_email=a%40b.vn")
    assert (conn.host, conn.port, conn.login, conn.password) == ("127.0.0.1", 8025, "us@er", "p@ss")
    assert conn.extra_dejson == {"disable_ssl": "true", "from_email": "a@b.vn"}
    conn = connection_from_uri(
        '{"conn_type": "smtp", "host": "h", "port": 25, "extra": {"from_email": "a@b.vn"}}'
    )
    assert smtp_settings_from_connection(conn).port == 25


def test_login_refused_is_not_retried_and_hides_the_password(smtp_server, caplog):
    # aiosmtpd offers no AUTH without TLS: the login cannot succeed, and must fail at once.
    settings = smtp_server.settings(login="cchc", password="s3cr3t!pw")
    sleeps = []
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SmtpUnavailable) as info, SmtpSession(settings, sleep=sleeps.append) as session:
        session.connect()
    assert sleeps == []
    assert "s3cr3t" not in str(info.value) and "s3cr3t" not in caplog.text


def test_unreachable_server_gives_up_after_the_attempts_with_backoff():
    settings = SmtpSettings(
        host="127.0.0.1", port=free_tcp_port(), from_email="a@b.vn", use_ssl=False, starttls=False, timeout=2
    )
    sleeps: list[float] = []
    session = SmtpSession(settings, sleep=sleeps.append, max_attempts=4, backoff_seconds=0.5)
    with pytest.raises(SmtpUnavailable, match="sau 4 lần thử"):
        session.connect()
    assert sleeps == [0.5, 1.0, 2.0]


def test_one_session_answers_each_message(smtp_server):
    smtp_server.handler.reject["bad@thu.gov.vn"] = "550 5.1.1 no such user"
    with SmtpSession(smtp_server.settings()) as session:
        session.connect()
        ok = session.attempt(b"Subject: a\r\n\r\n.leading dot\r\nbody\r\n", "good@thu.gov.vn")
        bad = session.attempt(b"Subject: b\r\n\r\nbody\r\n", "bad@thu.gov.vn")
        again = session.attempt(b"Subject: c\r\n\r\nbody\r\n", "good@thu.gov.vn")
    assert (ok.state, ok.code) == ("sent", 250) and ok.answer == "2.0.0 Ok: queued as Q0001"
    assert (bad.state, bad.code, bad.answer) == ("failed", 550, "5.1.1 no such user")
    assert again.state == "sent"  # the refused transaction was reset, the connection kept
    assert smtp_server.handler.sessions == 1
    assert smtp_server.handler.received[0].data.endswith(b"\r\n.leading dot\r\nbody\r\n")

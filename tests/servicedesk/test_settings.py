"""Settings come from the environment: each case runs in a fresh Python process."""

import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

# Variables the settings read; each test starts without them so the machine's own
# environment (CI sets DATABASE_URL and REDIS_URL) does not leak into the case.
SETTINGS_VARIABLES = (
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "EMAIL_TIMEOUT",
    "CACHE_URL",
    "TIME_ZONE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "CONN_MAX_AGE",
    "CELERY_TASK_ALWAYS_EAGER",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "TRUSTED_PROXY_COUNT",
    "SLA_SCAN_LOOKBACK_HOURS",
    "AGREEMENT_KEPT_RATE",
)

PRINT_DATABASE = (
    "from django.conf import settings; "
    "db = settings.DATABASES['default']; "
    "print(db['ENGINE'], db['NAME'], db.get('HOST', ''), db.get('PORT', ''), db.get('USER', ''))"
)


def run(*args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "servicedesk.settings"
    env.update(variables)
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def production(**variables: str) -> dict[str, str]:
    return {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "example.com",
        **variables,
    }


def test_it_passes_the_deploy_checks_in_production():
    result = run("manage.py", "check", "--deploy", "--fail-level", "WARNING", **production())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_passes_the_deploy_checks_with_hsts_preload():
    result = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **production(SECURE_HSTS_PRELOAD="1"),
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_it_warns_of_a_weak_secret_key_in_production():
    result = run(
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **production(SECRET_KEY="short"),
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr


def test_it_refuses_production_without_a_secret_key():
    result = run("manage.py", "check", DEBUG="0", ALLOWED_HOSTS="example.com")

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECRET_KEY must be set when DEBUG=0." in result.stderr


def test_it_refuses_production_with_an_empty_secret_key():
    result = run("manage.py", "check", DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="example.com")

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG=0." in result.stderr


@pytest.mark.parametrize("variable", ["DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_PRELOAD"])
def test_it_refuses_a_boolean_that_is_neither_yes_nor_no(variable):
    result = run("manage.py", "check", **production(**{variable: "maybe"}))

    assert result.returncode != 0
    assert (
        f"ImproperlyConfigured: {variable}='maybe' is not a boolean (use 1/0, true/false)."
        in result.stderr
    )


def test_it_refuses_an_integer_that_is_not_one():
    result = run("manage.py", "check", **production(SECURE_HSTS_SECONDS="a year"))

    assert result.returncode != 0
    assert "ImproperlyConfigured: SECURE_HSTS_SECONDS='a year' is not an integer." in result.stderr


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", " True "])
def test_it_reads_yes_in_several_spellings(value):
    result = run("-c", "from django.conf import settings; print(settings.DEBUG)", DEBUG=value)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_it_develops_by_default():
    code = "from django.conf import settings; print(settings.DEBUG, bool(settings.SECRET_KEY))"

    result = run("-c", code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True True"


def test_it_uses_sqlite_in_the_project_folder_without_a_database_url():
    result = run("-c", PRINT_DATABASE)

    assert result.returncode == 0, result.stderr
    engine, name, *_ = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(settings.BASE_DIR / "db.sqlite3")


def test_it_uses_postgresql_from_a_database_url():
    result = run(
        "-c", PRINT_DATABASE, DATABASE_URL="postgres://app:secret@db.internal:5433/servicedesk"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "servicedesk",
        "db.internal",
        "5433",
        "app",
    ]


def test_it_keeps_database_connections_on_postgresql_only():
    code = (
        "from django.conf import settings; db = settings.DATABASES['default']; "
        "print(db['CONN_MAX_AGE'], db['CONN_HEALTH_CHECKS'])"
    )

    result = run("-c", code, DATABASE_URL="postgres://app@db/servicedesk", CONN_MAX_AGE="30")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30 True"


def test_it_uses_the_filesystem_broker_without_redis_and_redis_with_it():
    code = "from django.conf import settings; print(settings.CELERY_BROKER_URL)"

    without = run("-c", code)
    with_redis = run("-c", code, REDIS_URL="redis://cache:6379/2")

    assert without.stdout.strip() == "filesystem://"
    assert with_redis.stdout.strip() == "redis://cache:6379/2"


def test_it_reads_allowed_hosts_as_a_list():
    code = "from django.conf import settings; print(settings.ALLOWED_HOSTS)"

    result = run("-c", code, ALLOWED_HOSTS="example.com,www.example.com")

    assert result.stdout.strip() == "['example.com', 'www.example.com']"


def test_it_secures_cookies_and_transport_in_production():
    code = (
        "from django.conf import settings; "
        "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, "
        "settings.SECURE_SSL_REDIRECT, settings.SECURE_HSTS_SECONDS, "
        "settings.SECURE_PROXY_SSL_HEADER)"
    )

    behind_proxy = run("-c", code, **production(SECURE_SSL_REDIRECT="0"))
    default = run("-c", code, **production())

    assert default.stdout.strip() == ("True True True 31536000 ('HTTP_X_FORWARDED_PROTO', 'https')")
    assert behind_proxy.stdout.strip() == (
        "True True False 31536000 ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_it_reads_the_login_lockout_from_the_environment():
    code = (
        "from django.conf import settings; "
        "print(settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME.total_seconds(), "
        "settings.TRUSTED_PROXY_COUNT)"
    )

    default = run("-c", code, **production())
    configured = run(
        "-c",
        code,
        **production(AXES_FAILURE_LIMIT="10", AXES_COOLOFF_MINUTES="60", TRUSTED_PROXY_COUNT="1"),
    )

    assert default.stdout.strip() == "5 900.0 0"
    assert configured.stdout.strip() == "10 3600.0 1"


def test_it_refuses_a_lockout_limit_that_is_not_a_number():
    result = run("manage.py", "check", **production(AXES_FAILURE_LIMIT="five"))

    assert result.returncode != 0
    assert "ImproperlyConfigured: AXES_FAILURE_LIMIT='five' is not an integer." in result.stderr


def test_it_bounds_each_step_of_an_smtp_send():
    code = "from django.conf import settings; print(settings.EMAIL_TIMEOUT)"

    default = run("-c", code, **production())
    configured = run("-c", code, **production(EMAIL_TIMEOUT="10"))
    waits_for_ever = run("manage.py", "check", **production(EMAIL_TIMEOUT="0"))

    assert (default.stdout.strip(), configured.stdout.strip()) == ("30", "10")
    assert waits_for_ever.returncode != 0
    assert "EMAIL_TIMEOUT=0 must be a number of seconds > 0." in waits_for_ever.stderr


def test_it_reads_how_far_back_the_scanner_looks():
    code = "from django.conf import settings; print(settings.SLA_SCAN_LOOKBACK.total_seconds())"

    default = run("-c", code, **production())
    configured = run("-c", code, **production(SLA_SCAN_LOOKBACK_HOURS="72"))
    not_at_all = run("manage.py", "check", **production(SLA_SCAN_LOOKBACK_HOURS="0"))

    assert (default.stdout.strip(), configured.stdout.strip()) == ("86400.0", "259200.0")
    assert not_at_all.returncode != 0
    assert "SLA_SCAN_LOOKBACK_HOURS=0 must be a number of hours >= 1." in not_at_all.stderr


def test_it_reads_the_rate_at_which_an_agreement_is_kept():
    code = "from django.conf import settings; print(settings.AGREEMENT_KEPT_RATE)"

    default = run("-c", code, **production())
    configured = run("-c", code, **production(AGREEMENT_KEPT_RATE="0.95"))
    percent = run("manage.py", "check", **production(AGREEMENT_KEPT_RATE="90"))
    not_a_number = run("manage.py", "check", **production(AGREEMENT_KEPT_RATE="most"))

    assert (default.stdout.strip(), configured.stdout.strip()) == ("0.9", "0.95")
    assert percent.returncode != 0
    assert "AGREEMENT_KEPT_RATE=90 must be a share above 0 and at most 1" in percent.stderr
    assert not_a_number.returncode != 0
    assert "AGREEMENT_KEPT_RATE='most' is not a number." in not_a_number.stderr

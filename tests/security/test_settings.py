"""The production settings as docker-compose runs them: `check --deploy` has nothing to say with TLS
on, and the security headers follow POSTURE_TLS (HSTS, the HTTPS redirect) both ways."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

# The settings docker-compose.yml and .env.example give the web, with TLS on at the proxy.
PRODUCTION = {
    "POSTURE_DEBUG": "0",
    "DATABASE_URL": "postgres://posture:db-password@postgres:5432/posture",
    "REDIS_URL": "redis://redis:6379/0",
    "POSTURE_ALLOWED_HOSTS": "posture.example.com",
    "POSTURE_CSRF_TRUSTED_ORIGINS": "https://posture.example.com",
    "POSTURE_TLS": "1",
}

# Makes one request with Django's test client under the environment's settings, prints its headers.
REQUEST = """
import json, sys, django
django.setup()
from django.test import Client
response = Client().get(sys.argv[1], headers=json.loads(sys.argv[2]))
print(json.dumps({"status": response.status_code, **{k.lower(): v for k, v in response.items()}}))
"""


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    # Nothing of the test run's own settings (its secret key, DEBUG, database) may leak in.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("POSTURE_", "DJANGO_"))}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    return {
        **env,
        **PRODUCTION,
        "POSTURE_SECRET_KEY": secrets.token_urlsafe(50),
        "POSTURE_VAR_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **overrides,
    }


def deploy_check(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"]
    return subprocess.run(
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


def request_headers(env: dict[str, str], path: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    command = [sys.executable, "-c", REQUEST, path, json.dumps(headers or {})]
    done = subprocess.run(
        command, cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_deploy_check_is_clean_with_the_production_settings(tmp_path):
    done = deploy_check(production_env(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_the_deploy_check_names_what_is_missing_without_tls(tmp_path):
    # The same check fails loudly on a shape that is not production's, so the clean run above means something.
    done = deploy_check(production_env(tmp_path, POSTURE_TLS="0"))
    assert done.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr


def test_without_a_secret_key_production_settings_refuse_to_load(tmp_path):
    done = deploy_check(production_env(tmp_path, POSTURE_SECRET_KEY=""))
    assert done.returncode == 1
    assert "POSTURE_SECRET_KEY must be set" in done.stderr


@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/score/"])
def test_with_tls_on_https_answers_carry_hsts_and_http_is_redirected(tmp_path, path):
    env = production_env(tmp_path, POSTURE_ALLOWED_HOSTS="testserver")
    plain = request_headers(env, path)
    assert (plain["status"], plain["location"]) == (301, f"https://testserver{path}")
    secure = request_headers(env, path, {"X-Forwarded-Proto": "https"})
    assert secure["status"] in (200, 401)
    assert secure["strict-transport-security"] == "max-age=31536000; includeSubDomains; preload"
    assert secure["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in secure["content-security-policy"]


def test_hsts_can_be_sent_without_the_preload_consent(tmp_path):
    env = production_env(tmp_path, POSTURE_ALLOWED_HOSTS="testserver", POSTURE_HSTS_PRELOAD="0")
    secure = request_headers(env, "/accounts/login/", {"X-Forwarded-Proto": "https"})
    assert secure["strict-transport-security"] == "max-age=31536000; includeSubDomains"


def test_with_tls_off_there_is_no_hsts_even_for_a_request_claiming_https(tmp_path):
    env = production_env(tmp_path, POSTURE_ALLOWED_HOSTS="testserver", POSTURE_TLS="0")
    for headers in ({}, {"X-Forwarded-Proto": "https"}):
        answer = request_headers(env, "/accounts/login/", headers)
        assert answer["status"] == 200
        assert "strict-transport-security" not in answer
        assert answer["x-frame-options"] == "DENY"

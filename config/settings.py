"""Settings, read from the environment.

Without DATABASE_URL Posture runs on a SQLite file in var/; without REDIS_URL Celery runs tasks
in-process (task_always_eager). With both set it is the production shape: PostgreSQL and real workers.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets generic classes such as ModelAdmin[Model] be subscripted at run time, as the type hints do.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("POSTURE_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DEBUG = env_bool("POSTURE_DEBUG")
SECRET_KEY = os.environ.get("POSTURE_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("POSTURE_SECRET_KEY must be set (or POSTURE_DEBUG=1 for development).")
    SECRET_KEY = "posture-development-only-key-not-for-production"  # noqa: S105 - DEBUG only

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("POSTURE_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("POSTURE_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "csp",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "posture",
    "audit",
    "recommendations",
    "scoring",
    "governance",
    "intake",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "web.access.AccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.context_processors.governance",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "posture.sqlite3"),
            # SQLite waits for a writer instead of failing at once with "database is locked".
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes): an account, and separately an address, is locked after this many
# failed logins in a row, for the cool-off time; a success resets the count. The address is read as
# the API throttles read it (POSTURE_API_NUM_PROXIES). Unlock early in the admin (Access attempts) or
# with `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`. AxesBackend refuses a locked
# account before ModelBackend checks the password (and is a ModelBackend for client.force_login).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = int(os.environ.get("POSTURE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("POSTURE_LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "web.lockout.client_address"
# No banner on every manage.py command; lockouts are still logged (logger "axes", WARNING).
AXES_VERBOSE = False
AXES_RESET_ON_SUCCESS = True
# The cool-off runs from the lock: attempts refused meanwhile do not start it again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "web.lockout.lockout_response"
# Axes' log lines name the username and address, as the audit log does (passwords are always masked).
AXES_SENSITIVE_PARAMETERS: list[str] = []
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("POSTURE_STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Chart.js comes from the npm registry into node_modules; only its dist folder is served.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if env_bool("POSTURE_TLS"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The preload token only consents to the browsers' preload list; the domain's owner still has to
    # submit the domain. POSTURE_HSTS_PRELOAD=0 withholds it (check --deploy then warns, W021).
    SECURE_HSTS_PRELOAD = env_bool("POSTURE_HSTS_PRELOAD", default=True)

# Content Security Policy (django-csp): our own scripts and styles only, no inline script or style
# attribute (chart data travels in json_script blocks, which are data, not script), no plugins, no
# framing, forms post only to us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

REST_FRAMEWORK = {
    # The token first: a call without credentials is then a 401 naming the Token scheme.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "web.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "web.access.RouteAccess",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["web.api.base.UserThrottle", "web.api.base.AnonThrottle"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Throttles count addresses from X-Forwarded-For only behind this many proxies (0: the peer's
    # address): otherwise a caller could name any address and never be throttled.
    "NUM_PROXIES": int(os.environ.get("POSTURE_API_NUM_PROXIES", "0")),
}
# API calls per user (or agent token) and per address without a login; read at each call.
POSTURE_API_USER_RATE = os.environ.get("POSTURE_API_USER_RATE", "600/min")
POSTURE_API_ANON_RATE = os.environ.get("POSTURE_API_ANON_RATE", "60/min")
SPECTACULAR_SETTINGS = {
    "TITLE": "Posture API",
    "DESCRIPTION": "The secure score, the estate, its evidence and governance; lists are cursor-paginated.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    # Choice sets sharing a field name get names of their own.
    "ENUM_NAME_OVERRIDES": {
        "AssessmentStatusEnum": "recommendations.models.AssessmentStatus",
        "AssignmentStatusEnum": "governance.models.AssignmentStatus",
        "ImportStatusEnum": "posture.models.ImportStatus",
        "RecommendationSeverityEnum": "recommendations.models.Severity",
        "RuleSeverityEnum": "recommendations.models.RuleSeverity",
        "OperatingSystemEnum": "posture.models.OperatingSystem",
        "ExemptionCategoryEnum": "governance.models.ExemptionCategory",
        "RequestCategoryEnum": "governance.models.RequestCategory",
        "RequestStateEnum": "governance.models.RequestState",
    },
    # The schema needs a login and a role like every route (web/access.py).
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated", "web.access.RouteAccess"],
}

# Celery: JSON only; a task is acknowledged after it ran, so a killed worker's task is redelivered.
REDIS_URL = os.environ.get("REDIS_URL", "")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("POSTURE_TASK_TIME_LIMIT", "1800"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("POSTURE_TASK_SOFT_TIME_LIMIT", "1700"))
# Redelivery of unacknowledged tasks must wait longer than the longest task may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 600}
CELERY_RESULT_EXPIRES = 3600
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE

# Preview recommendations are shown but, as in Defender, do not count toward the score.
POSTURE_COUNT_PREVIEW = env_bool("POSTURE_COUNT_PREVIEW")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("POSTURE_LOG_LEVEL", "INFO")},
}

# Imports: an upload larger than this is refused before it reaches a worker; a compressed file may
# not expand past the second limit (decompression bombs).
POSTURE_MAX_UPLOAD_BYTES = int(os.environ.get("POSTURE_MAX_UPLOAD_BYTES", str(200 * 2**20)))
POSTURE_MAX_DECOMPRESSED_BYTES = int(os.environ.get("POSTURE_MAX_DECOMPRESSED_BYTES", str(2 * 2**30)))
POSTURE_UPLOAD_DIR = os.environ.get("POSTURE_UPLOAD_DIR", str(VAR_DIR / "uploads"))
# Django reads no more than this into memory; larger uploads spool to a temporary file.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 2**20
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 2**20

CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}

# Agents: heartbeats accepted per enrollment token.
POSTURE_HEARTBEAT_RATE = os.environ.get("POSTURE_HEARTBEAT_RATE", "120/min")
# The URL machines reach Posture by, for the agent install commands (default: the browser's).
POSTURE_PUBLIC_URL = os.environ.get("POSTURE_PUBLIC_URL", "")
# Findings exports: an XLSX holds at most this many rows (a CSV has no limit).
POSTURE_XLSX_MAX_ROWS = int(os.environ.get("POSTURE_XLSX_MAX_ROWS", "100000"))
# A machine whose last heartbeat is older than this is "Agent not responsive or missing ID".
POSTURE_AGENT_STALE_AFTER_HOURS = float(os.environ.get("POSTURE_AGENT_STALE_AFTER_HOURS", "24"))
# How often Celery beat re-evaluates the agents, so that silence turns into a finding by itself.
POSTURE_AGENT_CHECK_MINUTES = float(os.environ.get("POSTURE_AGENT_CHECK_MINUTES", "15"))
CELERY_BEAT_SCHEDULE = {
    "re-evaluate-agents": {
        "task": "recommendations.tasks.evaluate_agents",
        "schedule": POSTURE_AGENT_CHECK_MINUTES * 60,
    },
    # Expired exemptions lapse within the hour; rules catch up with evidence imports did not bring.
    "lapse-exemptions": {"task": "governance.tasks.lapse_exemptions", "schedule": 3600},
    # Approved exemption requests: warned a week before their expiry, ended after it.
    "exemption-requests": {"task": "governance.tasks.follow_exemption_requests", "schedule": 3600},
    "governance-catch-up": {"task": "governance.tasks.catch_up", "schedule": 3600},
    # Imports a dead worker left running are queued again (a worker that starts does it at once too).
    "requeue-abandoned-imports": {"task": "posture.tasks.requeue_abandoned_imports", "schedule": 300},
    # The score's history: a snapshot when the score changed (grace periods end by themselves), or daily.
    "score-snapshot": {"task": "scoring.tasks.record_snapshot", "schedule": 3600},
    # The snapshot agents' uploads and heartbeats wait for (they take one at most a minute).
    "score-snapshot-waiting": {"task": "intake.tasks.take_waiting_snapshots", "schedule": 60},
}
# The weekly digest's day and hour: config/celery.py adds its crontab entry to the schedule above
# (celery.schedules loads Celery's whole app machinery, which commands without tasks do without).
POSTURE_DIGEST_DAY = os.environ.get("POSTURE_DIGEST_DAY", "mon")
POSTURE_DIGEST_HOUR = int(os.environ.get("POSTURE_DIGEST_HOUR", "7"))

# Kubernetes dumps: the namespaces the AppArmor recommendation leaves out (system add-ons), and the
# AppArmor profiles it allows, in the annotation's syntax ("localhost/*": any profile loaded on the node).
POSTURE_K8S_EXCLUDED_NAMESPACES = [
    n.strip()
    for n in os.environ.get(
        "POSTURE_K8S_EXCLUDED_NAMESPACES", "kube-system,gatekeeper-system,azure-arc"
    ).split(",")
    if n.strip()
]
POSTURE_K8S_ALLOWED_APPARMOR = [
    p.strip()
    for p in os.environ.get("POSTURE_K8S_ALLOWED_APPARMOR", "runtime/default,localhost/*").split(",")
    if p.strip()
]

# Mail (assignment notes, the weekly digest): the console unless an SMTP host is set.
EMAIL_HOST = os.environ.get("POSTURE_EMAIL_HOST", "")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
EMAIL_PORT = int(os.environ.get("POSTURE_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("POSTURE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("POSTURE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("POSTURE_EMAIL_TLS", default=True)
DEFAULT_FROM_EMAIL = os.environ.get("POSTURE_EMAIL_FROM", "posture@localhost")

"""Process-wide test environment, loaded by pytest before any test module.

Settings variables (POSTURE_SECRET_KEY, DATABASE_URL, REDIS_URL) cannot be defaulted here:
pytest-django imports the settings before it loads any conftest.py. bin/test exports them; a bare
`pytest` needs them in the shell (POSTURE_DEBUG=1 is enough for the SQLite pass).
"""

import os

# Playwright's sync API keeps an asyncio loop registered on the main thread, which makes Django refuse
# ORM calls from test code; nothing in a test runs concurrently with them, so the guard is moot.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

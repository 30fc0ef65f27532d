# Production image: gunicorn for the web, the same image for Celery worker and beat (docker-compose.yml).

# Node is needed only to fetch Chart.js, so it stays in this stage.
FROM python:3.11-slim AS assets
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# The lock pins every package with its hashes (bin/lock writes it from requirements.txt).
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock
# Kept in the image because STATICFILES_DIRS names it; `manage.py check` warns about a missing one.
COPY --from=assets /app/node_modules ./node_modules
COPY . .
# Settings refuse to load without a secret key; this one exists only for the build step.
RUN POSTURE_SECRET_KEY=collectstatic-build-only python manage.py collectstatic --noinput -v 0
# var/ is the one writable folder (celery beat's schedule, uploads); the code stays owned by root.
RUN useradd --system --home-dir /app --shell /usr/sbin/nologin posture \
    && mkdir -p var/uploads \
    && chown posture var var/uploads
USER posture
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]

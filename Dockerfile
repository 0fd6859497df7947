# servicedesk: one image for web (gunicorn), worker and beat (celery); see docker-compose.yml.
FROM python:3.11-slim

# The app runs from its source folder (settings find templates/, static/ and data/ beside the
# code), so PYTHONPATH puts that copy before the installed one on the import path.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    DJANGO_SETTINGS_MODULE=servicedesk.settings

RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /app --no-create-home app

WORKDIR /app

# Dependencies first, pinned by the lock file: this layer is rebuilt only when they change.
COPY pyproject.toml ./
COPY requirements/constraints.txt requirements/constraints.txt
RUN python -c "import subprocess, sys, tomllib; \
deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; \
subprocess.check_call([sys.executable, '-m', 'pip', 'install', '-c', 'requirements/constraints.txt', *deps])"

COPY . .
RUN pip install -c requirements/constraints.txt . \
    && rm -rf build ./*.egg-info

# Static files are collected into the image and served by WhiteNoise. The key only lets the
# settings load (DEBUG=0 has no default key); it is not kept in the image.
RUN DEBUG=0 SECRET_KEY=collectstatic-build-only-not-a-secret \
    python manage.py collectstatic --noinput --verbosity 0

# The code stays root's and read-only; the app writes only to var/ (uploads, reports).
RUN mkdir -p /app/var/media && chown -R app:app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "servicedesk.wsgi", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

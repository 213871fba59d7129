# Production image: the same code and lock file as `make install`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 VAR_DIR=/app/var
WORKDIR /app

RUN pip install --no-cache-dir uv==0.13.9
COPY requirements.lock pyproject.toml ./
# Bytecode compiled at build time: PYTHONDONTWRITEBYTECODE keeps the running containers
# from writing it, so without it every process would compile its imports from source.
RUN uv pip install --system --no-cache --compile-bytecode -r requirements.lock

COPY . .
RUN python -m compileall -q . \
 && SECRET_KEY=build-only python manage.py collectstatic --noinput \
      --settings=config.settings_production \
 && useradd --create-home --uid 1000 app && mkdir -p /app/var && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]

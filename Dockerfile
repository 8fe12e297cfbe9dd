# One image for every Roshni process: `web` (gunicorn, the default command), `worker`
# (`roshni worker`) and the one-shot `roshni db upgrade`. See compose.yaml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    ROSHNI_ENV=production \
    ROSHNI_INSTANCE_DIR=/app/instance \
    PORT=5000

RUN groupadd --system roshni \
    && useradd --system --gid roshni --home-dir /app --shell /usr/sbin/nologin roshni

WORKDIR /app
COPY . .
# Pinned by constraints.txt; editable, because the code runs from /app, where
# migrations/ and gunicorn.conf.py live.
RUN pip install -c constraints.txt -e . \
    && mkdir -p /app/instance \
    && chown -R roshni:roshni /app/instance

USER roshni
EXPOSE 5000
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]

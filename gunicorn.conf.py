"""gunicorn settings for `web` (Procfile, Dockerfile): `gunicorn -c gunicorn.conf.py wsgi:app`.

The access log shows the path with its token segments masked (`/pay/receipt/[token].pdf`)
and never a query string, header or user; each line ends with the request's id (the
X-Request-ID the app echoes). With LOG_FORMAT=json every line is a JSON object.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = 4
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)s %({x-request-id}o)s'
logger_class = "core.logging_setup.GunicornLogger"

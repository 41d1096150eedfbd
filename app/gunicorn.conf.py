"""gunicorn settings and the hooks that start telemetry in each worker.

Exporters run background threads and hold sockets, which do not survive fork(): OpenTelemetry and Sentry are
started in post_fork, once per worker, and flushed in worker_exit. Settings are checked in the master first,
so a bad value stops the app once, with one line, instead of crash-looping workers.
"""

import os
import shutil
import sys

from prometheus_client import multiprocess

from stackapp import telemetry
from stackapp.settings import Settings, SettingsError

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
graceful_timeout = 15
# gunicorn 27's control socket (for gunicornc) is of no use in a container and wants a writable home.
control_socket_disable = True
accesslog = "-"
# The same trace id that is on every app log line, on the access line too.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms traceparent="%({traceparent}i)s"'
# Bounded request lines and headers: junk input gets a 4xx from gunicorn, never reaches the app.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

_telemetry = None


def on_starting(server):
    try:
        Settings.from_env()
    except SettingsError as error:
        print(f"configuration error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    metrics_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if metrics_dir:
        # Files from a previous run would add old counts to the new ones.
        shutil.rmtree(metrics_dir, ignore_errors=True)
        os.makedirs(metrics_dir)


def post_fork(server, worker):
    global _telemetry
    _telemetry = telemetry.start(Settings.from_env())


def worker_exit(server, worker):
    if _telemetry is not None:
        _telemetry.shutdown()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)

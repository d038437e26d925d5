"""gunicorn settings: `gunicorn -c python:gateway.gunicorn_conf wsgi:app` (scripts/run.sh)."""

# The request line (%(r)s) and the query (%(q)s) would log `?token=…` of the Africa's Talking
# callbacks: log the method and the path only (%(U)s), and no referer, which can carry both.
access_log_format = '%(h)s - %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(D)sus "%(a)s"'
accesslog = "-"

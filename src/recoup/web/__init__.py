"""`recoup serve`: the dashboard (FastAPI + Jinja2 + htmx, Chart.js; both vendored in static/).

- `app`: the application and what every page shares; `routes/`: one router per page;
- `db`: short-lived workspace connections that wait for, and then report, a busy workspace;
- `jobs`: imports and audits run from the browser, with progress;
- `security`: loopback by default, a password elsewhere, CSRF tokens, a strict CSP.
"""

"""HR quarterly reports: every department's service level for a quarter, as XLSX or CSV.

Layout: `content.py` reads the quarter's ScoreSnapshot rows into report sections,
`writers.py` writes them as XLSX or a zip of CSV files, `services.py` requests, generates
and records reports, `tasks.py` runs them under Celery, and `views.py` / `api/` are the HR
Reports page and `/api/v1/reports/`.
"""

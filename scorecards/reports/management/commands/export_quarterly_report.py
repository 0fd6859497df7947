"""manage.py export_quarterly_report 2026-Q3 --format xlsx -o FILE

Generates the HR report of a quarter here, synchronously (no worker needed), stores it like
a report asked for on the Reports page (listed there, source "Command line"), and copies
the file to FILE. A stored report of the same quarter and format is reused unless --force.
"""

from scorecards.reports.command import Command  # noqa: F401

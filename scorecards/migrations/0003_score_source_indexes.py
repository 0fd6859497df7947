"""Indexes for two reads of the score computation (scorecards.compute, survey_figures) on
tables of other apps. They are created here, by the app that reads them, so that the
requests and surveys models stay their own; plain SQL that SQLite and PostgreSQL both run.

- Promises kept: the requests with a promise, by resolution time. Partial, so it holds only
  the few promised requests: without it every period scans the whole requests table.
- Response rate: the surveys sent in a period. A week or a month reads its surveys only,
  instead of scanning all of them.
"""

from django.db import migrations

PROMISE_INDEX = "scorecards_promise_resolved_idx"
SURVEY_SENT_INDEX = "scorecards_survey_sent_idx"


class Migration(migrations.Migration):
    dependencies = [
        ("scorecards", "0002_quarterly_reports"),
        ("requests_app", "0001_initial"),
        ("surveys", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                f"CREATE INDEX IF NOT EXISTS {PROMISE_INDEX} "
                "ON requests_app_servicerequest (resolved_at) WHERE promised_at IS NOT NULL"
            ),
            reverse_sql=f"DROP INDEX IF EXISTS {PROMISE_INDEX}",
        ),
        migrations.RunSQL(
            sql=f"CREATE INDEX IF NOT EXISTS {SURVEY_SENT_INDEX} ON surveys_requestsurvey (sent_at)",
            reverse_sql=f"DROP INDEX IF EXISTS {SURVEY_SENT_INDEX}",
        ),
    ]

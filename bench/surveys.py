"""Survey answers for a loaded bench database (bench/generate.py's requests), with COPY.

The shape follows the demo (surveys/demo.py) and the services' rules:
- every resolved or closed request has its `RequestSurvey`, sent at the resolution and open
  for REQUEST_SURVEY_OPEN_DAYS; about a third are answered (`SurveyResponse`) within three
  days, before `now0` and before the survey closes, rated lower when the resolution clock was
  breached, with some of the five dimensions and now and then a comment;
- agents rate a share of the requests they resolved (`RequestQualityRating`): clarity, and
  the requester's responsiveness when the request waited on them;
- each quarter that ended before `now0` has its relationship survey, opened six hours after
  the quarter's end: every member of a customer department is invited to rate each provider
  the department used in the quarter (the services' own rule), most of them answer within
  twelve days (those after `now0` not yet), hire-back following the pair's timeliness, and
  every fifth pair gets only one or two answers, so that its figure stays hidden. Answers are
  anonymous (random UUIDs, the day only, rows shuffled), as the app stores them.

At 1M requests (100 000 open) that is about 870 000 surveys, 290 000 responses, 130 000
quality ratings and 10 000 relationship answers: about 300 000 answers in all. No email
links (`SurveyToken`) and no low-rating notifications: neither feeds a score.

Idempotent: the load is recorded in `bench_meta` (key `surveys`) with the fingerprint of the
request dataset it was made for; `surveys_ensure(reuse=True)` keeps a load that matches, and
anything else replaces the survey tables' rows (never those of another database: the caller
checks the database is the bench's own).
"""

from __future__ import annotations

import datetime
import io
import json
import random
import time
import uuid
import zoneinfo
from collections import Counter, defaultdict

from django.conf import settings
from django.db import connection, transaction

from bench.common import columns_check, indexes_drop, load_session_prepare, sequences_reset
from bench.generate import _value, meta_read, meta_table_create
from core.periods import Period, quarter_containing
from departments.choices import Role
from departments.models import Membership
from requests_app.choices import ClockKind, ClockState, Status
from requests_app.models import ServiceRequest
from surveys.choices import DIMENSIONS
from surveys.demo import (
    FEW_ANSWERS_EVERY,
    RATINGS_BREACHED,
    RATINGS_MET,
    RELATIONSHIP_ANSWER_SHARE,
    comment_draw,
    hire_back_draw,
    rating_draw,
    rating_near,
)
from surveys.models import (
    RelationshipAnswer,
    RelationshipInvitation,
    RelationshipInvitationItem,
    RelationshipSurvey,
    RequestQualityRating,
    RequestSurvey,
    SurveyResponse,
    SurveyToken,
)
from surveys.services import (
    RELATIONSHIP_OPEN_DAYS,
    REQUEST_SURVEY_OPEN_DAYS,
    _invitees,
    relationship_pairs_used,
)

SURVEYS_VERSION = 1
META_KEY = "surveys"
ANSWER_SHARE = 0.33
DIMENSION_SHARE = 0.6
QUALITY_SHARE = 0.15
RELATIONSHIP_OPENS_AFTER = datetime.timedelta(hours=6)
CLARITY = {5: 30, 4: 40, 3: 18, 2: 8, 1: 4}
RESPONSIVENESS = {5: 25, 4: 35, 3: 25, 2: 10, 1: 5}
ROWS_PER_COPY = 50_000

# COPY column lists; checked against the models so a new column fails loudly.
COLUMNS = {
    RequestSurvey: [
        "id",
        "request_id",
        "requester_id",
        "provider_department_id",
        "requesting_department_id",
        "sent_at",
        "closes_at",
    ],
    SurveyResponse: [
        "id",
        "survey_id",
        "overall",
        *DIMENSIONS,
        "comment",
        "answered_at",
        "updated_at",
    ],
    RequestQualityRating: [
        "id",
        "request_id",
        "rated_by_id",
        "provider_department_id",
        "requesting_department_id",
        "clarity",
        "responsiveness",
        "rated_at",
        "updated_at",
    ],
    RelationshipSurvey: [
        "id",
        "quarter",
        "period_start",
        "period_end",
        "opened_at",
        "closes_at",
        "closed_at",
    ],
    RelationshipInvitation: [
        "id",
        "survey_id",
        "user_id",
        "invited_at",
        "reminders_sent",
        "last_reminded_at",
        "completed_at",
    ],
    RelationshipInvitationItem: [
        "id",
        "invitation_id",
        "customer_department_id",
        "provider_department_id",
        "answered_at",
    ],
    RelationshipAnswer: [
        "id",
        "survey_id",
        "customer_department_id",
        "provider_department_id",
        "hire_back",
        *DIMENSIONS,
        "comment",
        "answered_on",
    ],
}
# Emptied before a load: the tables above and the links that point into them.
TABLES = [model._meta.db_table for model in (SurveyToken, *COLUMNS)]


class Copier:
    """Rows per table in COPY text format, sent in batches on the load's connection."""

    def __init__(self, cursor):
        self.cursor = cursor
        self.buffers: dict = defaultdict(io.StringIO)
        self.pending: Counter = Counter()
        self.counts: Counter = Counter()

    def row(self, model, values) -> None:
        buffer = self.buffers[model]
        buffer.write("\t".join(map(_value, values)))
        buffer.write("\n")
        self.pending[model] += 1
        self.counts[model.__name__] += 1
        if self.pending[model] >= ROWS_PER_COPY:
            self.flush(model)

    def flush(self, model=None) -> None:
        for each in [model] if model else list(self.buffers):
            buffer = self.buffers.pop(each, None)
            if buffer is None or not self.pending[each]:
                continue
            buffer.seek(0)
            self.cursor.cursor.copy_expert(
                f"COPY {each._meta.db_table} ({', '.join(COLUMNS[each])}) FROM STDIN", buffer
            )
            self.pending[each] = 0


# --- the fingerprint and the marker ---------------------------------------------------------


def dataset_fingerprint(dataset: dict) -> dict:
    """What identifies a request dataset: a reload gets another `now0` or load time."""
    keys = ("version", "requests", "open", "seed", "now0", "load_seconds")
    return {key: dataset.get(key) for key in keys}


def surveys_meta_read(cursor) -> dict | None:
    if meta_read(cursor) is None:  # no bench_meta table
        return None
    cursor.execute("SELECT value FROM bench_meta WHERE key = %s", [META_KEY])
    row = cursor.fetchone()
    if row is None:
        return None
    return row[0] if isinstance(row[0], dict) else json.loads(row[0])


def surveys_meta_write(cursor, description: dict) -> None:
    meta_table_create(cursor)
    cursor.execute(
        "INSERT INTO bench_meta (key, value) VALUES (%s, %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        [META_KEY, json.dumps(description)],
    )


def surveys_ensure(*, dataset: dict, seed: int, reuse: bool, progress) -> dict:
    """The survey answers of the loaded dataset: kept if already made for it (with reuse),
    else (re)loaded. Returns their description."""
    wanted = {"version": SURVEYS_VERSION, "seed": seed, "dataset": dataset_fingerprint(dataset)}
    with connection.cursor() as cursor:
        meta = surveys_meta_read(cursor)
    if (
        reuse
        and meta
        and meta.get("status") == "done"
        and all(meta.get(key) == value for key, value in wanted.items())
        and _counts_match(meta)
    ):
        progress(f"reusing the survey answers ({meta['answers']:,} answers)")
        return meta
    return surveys_load(dataset=dataset, seed=seed, progress=progress, wanted=wanted)


def _counts_match(meta: dict) -> bool:
    """The rows are still there (a reload of the requests empties the survey tables)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {SurveyResponse._meta.db_table}")
        return cursor.fetchone()[0] == meta["rows"].get("SurveyResponse", 0)


# --- loading --------------------------------------------------------------------------------


def surveys_load(*, dataset: dict, seed: int, progress, wanted: dict | None = None) -> dict:
    """Replace the survey rows of the bench database with answers to its requests."""
    columns_check(COLUMNS, "bench/surveys.py")
    started = time.perf_counter()
    now0 = datetime.datetime.fromisoformat(dataset["now0"])
    wanted = wanted or {
        "version": SURVEYS_VERSION,
        "seed": seed,
        "dataset": dataset_fingerprint(dataset),
    }
    with transaction.atomic(), connection.cursor() as cursor:
        surveys_meta_write(cursor, {"status": "loading"})
        cursor.execute(f"TRUNCATE {', '.join(TABLES)} RESTART IDENTITY CASCADE")
        load_session_prepare(cursor)
        definitions = indexes_drop(cursor, TABLES)
        copier = Copier(cursor)
        request_stats = _request_surveys(cursor, copier, now0, seed, progress)
        copier.flush()
        relationship_stats = _relationship_surveys(cursor, copier, now0, seed, progress)
        copier.flush()
        for definition in definitions:
            cursor.execute(definition)
        # RelationshipAnswer has UUID keys.
        sequences_reset(cursor, [t for t in TABLES if t != RelationshipAnswer._meta.db_table])
        rows = dict(copier.counts)
        description = {
            **wanted,
            "status": "done",
            "rows": rows,
            "answers": rows.get("SurveyResponse", 0) + rows.get("RelationshipAnswer", 0),
            "requests": request_stats,
            "relationship": relationship_stats,
            "load_seconds": round(time.perf_counter() - started, 1),
        }
        surveys_meta_write(cursor, description)
    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
    description["total_seconds"] = round(time.perf_counter() - started, 1)
    with connection.cursor() as cursor:
        surveys_meta_write(cursor, description)
    progress(
        f"survey answers loaded in {description['total_seconds']} s: "
        + ", ".join(f"{count:,} {name}" for name, count in rows.items())
    )
    return description


def _agents_by_department() -> dict[int, int]:
    """The first agent of each department: the rater of a request nobody was assigned."""
    agents: dict[int, int] = {}
    rows = Membership.objects.filter(role=Role.AGENT).order_by("department_id", "user_id")
    for department_id, user_id in rows.values_list("department_id", "user_id"):
        agents.setdefault(department_id, user_id)
    return agents


def _request_surveys(cursor, copier: Copier, now0, seed: int, progress) -> dict:
    """A survey per resolved request, a third answered, a share rated by the agents."""
    rng = random.Random(f"{seed}-request-surveys")
    agents = _agents_by_department()
    survey_days = datetime.timedelta(days=REQUEST_SURVEY_OPEN_DAYS)
    last_answer = now0 - datetime.timedelta(minutes=1)
    requests = ServiceRequest._meta.db_table
    # One pass over the resolved requests, in id order (the draws depend on nothing else).
    reader = connection.chunked_cursor()
    reader.execute(
        f"""
        SELECT r.id, r.requester_id, r.provider_department_id, r.requesting_department_id,
               r.resolved_at, r.assignee_id,
               EXISTS (SELECT 1 FROM requests_app_waitperiod w WHERE w.request_id = r.id),
               EXISTS (SELECT 1 FROM requests_app_slaclock c
                       WHERE c.request_id = r.id AND c.kind = %s AND c.state = %s)
        FROM {requests} r
        WHERE r.status IN (%s, %s) AND r.resolved_at IS NOT NULL
        ORDER BY r.id
        """,
        [ClockKind.RESOLUTION, ClockState.BREACHED, Status.RESOLVED, Status.CLOSED],
    )
    stats: Counter = Counter()
    survey_id = response_id = rating_id = 0
    while rows := reader.fetchmany(10_000):
        for rid, requester, provider, customer, resolved, assignee, waited, late in rows:
            survey_id += 1
            closes = resolved + survey_days
            copier.row(
                RequestSurvey, (survey_id, rid, requester, provider, customer, resolved, closes)
            )
            stats["surveys"] += 1
            answer_at = resolved + datetime.timedelta(minutes=rng.randint(10, 3 * 24 * 60))
            if rng.random() < ANSWER_SHARE and answer_at < min(last_answer, closes):
                overall = rating_draw(rng, RATINGS_BREACHED if late else RATINGS_MET)
                ratings = {
                    d: rating_near(rng, overall) if rng.random() < DIMENSION_SHARE else None
                    for d in DIMENSIONS
                }
                if late and ratings["timeliness"] is not None:
                    ratings["timeliness"] = max(1, ratings["timeliness"] - 1)
                response_id += 1
                copier.row(
                    SurveyResponse,
                    (
                        response_id,
                        survey_id,
                        overall,
                        *(ratings[d] for d in DIMENSIONS),
                        comment_draw(rng, overall),
                        answer_at,
                        answer_at,
                    ),
                )
                stats["responses"] += 1
                stats[f"overall {overall}"] += 1
            if rng.random() < QUALITY_SHARE:
                rater = assignee or agents.get(provider)
                if rater is not None:
                    rated_at = min(last_answer, resolved + datetime.timedelta(minutes=5))
                    rating_id += 1
                    copier.row(
                        RequestQualityRating,
                        (
                            rating_id,
                            rid,
                            rater,
                            provider,
                            customer,
                            rating_draw(rng, CLARITY),
                            rating_draw(rng, RESPONSIVENESS) if waited else None,
                            rated_at,
                            rated_at,
                        ),
                    )
                    stats["quality_ratings"] += 1
        if survey_id % 200_000 < 10_000:
            progress(f"surveys: {survey_id:,} requests surveyed")
    reader.close()
    return dict(stats)


def _timeliness_by_pair(cursor, quarter: Period) -> dict[tuple[int, int], float]:
    """Share of met resolution clocks per (customer, provider), requests of the quarter."""
    cursor.execute(
        """
        SELECT r.requesting_department_id, c.department_id,
               count(*) FILTER (WHERE c.state = %s)::float / count(*)
        FROM requests_app_slaclock c
        JOIN requests_app_servicerequest r ON r.id = c.request_id
        WHERE c.kind = %s AND c.state IN (%s, %s)
          AND r.created_at >= %s AND r.created_at < %s
        GROUP BY 1, 2
        """,
        [
            ClockState.MET,
            ClockKind.RESOLUTION,
            ClockState.MET,
            ClockState.BREACHED,
            quarter.start,
            quarter.end,
        ],
    )
    return {(customer, provider): share for customer, provider, share in cursor.fetchall()}


def _relationship_surveys(cursor, copier: Copier, now0, seed: int, progress) -> dict:
    """The quarterly hire-back surveys of the quarters that ended before now0."""
    cursor.execute("SELECT min(created_at) FROM requests_app_servicerequest")
    first = cursor.fetchone()[0]
    stats: dict = {}
    if first is None:
        return stats
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    quarter = quarter_containing(first)
    survey_id = invitation_id = item_id = 0
    while quarter.end + RELATIONSHIP_OPENS_AFTER <= now0:
        rng = random.Random(f"{seed}-relationship-{quarter}")
        opened = quarter.end + RELATIONSHIP_OPENS_AFTER
        closes = opened + datetime.timedelta(days=RELATIONSHIP_OPEN_DAYS)
        survey_id += 1
        copier.row(
            RelationshipSurvey,
            (
                survey_id,
                quarter.key,
                quarter.start,
                quarter.end,
                opened,
                closes,
                closes if closes <= now0 else None,
            ),
        )
        wanted = _invitees(relationship_pairs_used(quarter=quarter))
        timeliness = _timeliness_by_pair(cursor, quarter)
        pairs = sorted({pair for user_pairs in wanted.values() for pair in user_pairs})
        caps = {
            pair: rng.choice([1, 2])
            for index, pair in enumerate(pairs)
            if index % FEW_ANSWERS_EVERY == FEW_ANSWERS_EVERY - 1
        }
        given: Counter = Counter()
        answers = []
        for user_id, user_pairs in sorted(wanted.items()):
            invitation_id += 1
            answered_at = opened + datetime.timedelta(hours=rng.randint(1, 12 * 24))
            can_answer = answered_at < now0
            answered_all = True
            for customer, provider in sorted(user_pairs):
                item_id += 1
                pair = (customer, provider)
                answer = can_answer and (
                    given[pair] < caps[pair]
                    if pair in caps
                    else rng.random() <= RELATIONSHIP_ANSWER_SHARE
                )
                copier.row(
                    RelationshipInvitationItem,
                    (item_id, invitation_id, customer, provider, answered_at if answer else None),
                )
                if not answer:
                    answered_all = False
                    continue
                given[pair] += 1
                hire_back, base = hire_back_draw(rng, timeliness.get(pair, 0.7))
                answers.append(
                    (
                        uuid.UUID(int=rng.getrandbits(128), version=4),
                        survey_id,
                        customer,
                        provider,
                        hire_back.value,
                        *(
                            rating_near(rng, base) if rng.random() < 0.7 else None
                            for _ in DIMENSIONS
                        ),
                        comment_draw(rng, base),
                        answered_at.astimezone(zone).date().isoformat(),
                    )
                )
            copier.row(
                RelationshipInvitation,
                (
                    invitation_id,
                    survey_id,
                    user_id,
                    opened,
                    0,
                    None,
                    answered_at if answered_all else None,
                ),
            )
        # Stored in no particular order: nothing may line the answers up with the items.
        rng.shuffle(answers)
        for answer in answers:
            copier.row(RelationshipAnswer, answer)
        stats[quarter.key] = {
            "invited": len(wanted),
            "pairs": len(pairs),
            "pairs_with_few_answers": len(caps),
            "answers": len(answers),
            "closed": closes <= now0,
        }
        progress(f"relationship survey {quarter}: {len(wanted)} invited, {len(answers)} answers")
        quarter = quarter.next()
    return stats

"""Bounds on what callers may ask for, shared by every app's input parsing.

Python's dates stop at years 1 and 9999: a period or filter near either end overflows when it
is moved to UTC or stepped to the previous or next period (a league table's trend goes eight
periods back), and the request fails with a 500. These bounds are far from both ends and far
beyond any record the company keeps.
"""

import datetime

FIRST_YEAR = 1900
LAST_YEAR = 2999
# The largest id a database primary key can hold (bigint); larger numbers are no id at all.
MAX_ID = 2**63 - 1


def year_error(year: int) -> str | None:
    """Why a year cannot be asked for, or None."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return None
    return f"Give a year from {FIRST_YEAR} to {LAST_YEAR}."


def datetime_error(value: datetime.datetime | datetime.date) -> str | None:
    """Why a date or time cannot be asked for, or None."""
    return year_error(value.year)


# The longest request description, reply or note a person may write, in characters (the
# forms' and the API's limit): the Markdown renderer is benchmarked at this size
# (core.markdown_corpus, `make bench`).
TEXT_MAX_LENGTH = 20_000

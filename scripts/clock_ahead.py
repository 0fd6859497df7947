"""Print the libfaketime offset (`+<seconds>`) that moves the wall clock to another instant.

    python scripts/clock_ahead.py                          # the default instant, below
    python scripts/clock_ahead.py 2028-03-26T01:58+01:00   # that instant

The default is two minutes before the first change of summer time in Europe/Berlin that is
at least 400 days away: a year and more ahead, and a suite of a few minutes runs across the
change. `make test-ahead` runs the test suite there (`faketime -f "$(this)" pytest`); an
offset, not a fixed date, so that every process the suite starts agrees on the time.
"""

import datetime
import sys
import zoneinfo

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
AHEAD = datetime.timedelta(days=400)
BEFORE_THE_CHANGE = datetime.timedelta(minutes=2)


def next_offset_change(after: datetime.datetime, zone=BERLIN) -> datetime.datetime:
    """The first instant after `after` at which `zone` changes its UTC offset (UTC)."""
    moment = after.astimezone(datetime.UTC).replace(minute=0, second=0, microsecond=0)
    offset = moment.astimezone(zone).utcoffset()
    # Offsets change on the hour in Europe; a year and a day of hours always holds one.
    for _ in range(24 * 367):
        moment += datetime.timedelta(hours=1)
        if moment.astimezone(zone).utcoffset() != offset:
            return moment
    raise ValueError(f"{zone} does not change its offset within a year of {after}")


def default_instant(now: datetime.datetime) -> datetime.datetime:
    return next_offset_change(now + AHEAD) - BEFORE_THE_CHANGE


def parse_instant(text: str) -> datetime.datetime:
    try:
        instant = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"clock_ahead: {text!r} is not an ISO date and time") from None
    if instant.tzinfo is None:
        raise SystemExit(f"clock_ahead: give {text!r} with its UTC offset, e.g. +01:00")
    return instant


def main(arguments: list[str]) -> str:
    now = datetime.datetime.now(datetime.UTC)
    instant = parse_instant(arguments[0]) if arguments and arguments[0] else default_instant(now)
    print(f"clock_ahead: the suite's clock starts at {instant.isoformat()}", file=sys.stderr)
    return f"{int((instant - now).total_seconds()):+d}"


if __name__ == "__main__":
    print(main(sys.argv[1:]))

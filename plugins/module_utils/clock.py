# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one clock, its one time parser and its one text form of a time.

``now()`` is the only wall clock of the collection: the environment variable ``TFSTATE_NOW``
(ISO 8601 UTC, for example ``2026-12-08T00:00:00Z``) replaces it in every module, action plugin
and role, for tests and simulations only (the ledger's times, a run's start, leases of maintenance
locks and intents, lock ages, report times, backup names). Times written by others keep theirs (a
lock's ``Created`` by terraform, an object's ``LastModified`` by S3, credentials' expiry by STS).

Plain Python, no Ansible imports.
"""

import datetime
import os
import re

NOW_VARIABLE = "TFSTATE_NOW"
UTC = datetime.timezone.utc
EXAMPLE = "2026-12-01T00:00:00Z"

# ISO 8601 / RFC 3339 in its extended form: a date, optionally a time (seconds and any number of
# fraction digits optional, terraform writes nanoseconds), optionally a zone (Z, +HH:MM, +HHMM, +HH).
_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"([Zz]|[+-]\d{2}(?::?\d{2})?)?)?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 86400, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def now(environ=None):
    """Now, an aware UTC datetime; ``TFSTATE_NOW`` replaces it. ValueError when TFSTATE_NOW cannot be read."""
    fixed = simulated(environ)
    return fixed if fixed is not None else datetime.datetime.now(UTC)


def simulated(environ=None):
    """The time ``TFSTATE_NOW`` sets (aware UTC), or None when it is not set; ValueError, naming it, when it is not a
    time with a zone."""
    environ = os.environ if environ is None else environ
    value = environ.get(NOW_VARIABLE)
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise ValueError("%s: %s" % (NOW_VARIABLE, exc))


def utc_text(moment):
    """RFC 3339 in UTC with ``Z``, to the second (``2026-11-29T20:05:36Z``): every time in a record, an
    entry of the ledger, a result or a report."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def compact_text(moment):
    """``20261129T200536Z``: a time as a part of a file or backup name."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def parse_time(text, assume_utc=False):
    """An aware UTC datetime from ISO 8601 / RFC 3339 text: this collection's :func:`utc_text`, terraform's
    lock ``Created`` (nanoseconds, an offset), a date alone. A time without zone is refused unless
    ``assume_utc`` (what a user types as an option: then it is UTC). ValueError names the text otherwise.
    """
    match = _TIME.match(str(text).strip()) if isinstance(text, str) else None
    if not match:
        raise ValueError("%r is not an ISO 8601 time such as %s" % (text, EXAMPLE))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    if zone is None and not assume_utc:
        raise ValueError("%r has no time zone (write it in UTC, e.g. %s)" % (text, EXAMPLE))
    try:
        moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                                   int(second or 0), int((fraction or "0")[:6].ljust(6, "0")), tzinfo=UTC)
        return moment - _offset(zone)
    except (ValueError, OverflowError) as exc:
        raise ValueError("%r is not an ISO 8601 time such as %s: %s" % (text, EXAMPLE, exc))


def _offset(zone):
    if not zone or zone in ("Z", "z"):
        return datetime.timedelta(0)
    hours, minutes = int(zone[1:3]), int(zone[3:].lstrip(":") or 0)
    if hours > 23 or minutes > 59:
        raise ValueError("%s is not a time zone offset" % zone)
    offset = datetime.timedelta(hours=hours, minutes=minutes)
    return offset if zone[0] == "+" else -offset


def parse_time_or_none(text):
    """:func:`parse_time` for a value read back from a record or lock: None when it is missing or unreadable."""
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError:
        return None


def parse_duration(value):
    """Seconds of ``7d``, ``36h``, ``90m``, ``2w``, ``600s`` or a plain number of days; ValueError otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * 86400
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError("%r is not a duration (a number and s, m, h, d or w, e.g. 7d)" % (value,))
    return float(match.group(1)) * _UNITS[match.group(2)]

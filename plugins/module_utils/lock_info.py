# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform's lock JSON: the body of a ``.tflock`` object and a DynamoDB lock item's ``Info``.

Pure functions, no Ansible or boto3 imports.
"""

import datetime
import getpass
import json
import re
import socket
import uuid

# Terraform's field order, kept so the JSON we write reads like Terraform's own.
LOCK_FIELDS = ("ID", "Operation", "Info", "Who", "Version", "Created", "Path")
CONTENT_TYPE = "application/json"

_CREATED = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$")


class CorruptLock(ValueError):
    """A lock body that is empty or not Terraform's lock JSON."""


def parse_created(value):
    """Parse Terraform's ``Created`` (RFC 3339, nanoseconds) into an aware UTC datetime."""
    match = _CREATED.match(value or "")
    if not match:
        raise CorruptLock("Created %r is not an RFC 3339 time" % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    stamp = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro,
                              tzinfo=datetime.timezone.utc)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        stamp -= sign * offset
    return stamp


def format_created(moment):
    """Format an aware datetime the way Terraform writes ``Created``."""
    moment = moment.astimezone(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%06d000Z" % moment.microsecond


def parse_lock(body):
    """Parse a lock body (bytes or str) into a dict of Terraform's fields.

    Raises CorruptLock when the body is empty, not JSON, not an object or has no ID.
    """
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptLock("lock body is not UTF-8")
    if not body or not body.strip():
        raise CorruptLock("lock body is empty")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise CorruptLock("lock body is not JSON: %s" % exc)
    if not isinstance(data, dict):
        raise CorruptLock("lock body is not a JSON object")
    if not data.get("ID"):
        raise CorruptLock("lock body has no ID")
    return {field: data.get(field, "") for field in LOCK_FIELDS}


def lock_age_seconds(lock, now=None):
    """Seconds since the lock's ``Created``; None when Created cannot be read."""
    try:
        created = parse_created(lock.get("Created"))
    except CorruptLock:
        return None
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return max(0.0, (now - created).total_seconds())


def default_who():
    """``user@host``, as Terraform fills ``Who``."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a bare container: Terraform shows an empty user too
        user = ""
    return "%s@%s" % (user, socket.gethostname())


def new_lock(path, operation, info="", who=None, version="", now=None):
    """A new lock dict in Terraform's shape, with a fresh UUID."""
    return {
        "ID": str(uuid.uuid4()),
        "Operation": operation,
        "Info": info or "",
        "Who": who or default_who(),
        "Version": version or "",
        "Created": format_created(now or datetime.datetime.now(datetime.timezone.utc)),
        "Path": path,
    }


def dump_lock(lock):
    """Serialise a lock dict as Terraform does (compact JSON, Terraform's field order)."""
    return json.dumps({field: lock.get(field, "") for field in LOCK_FIELDS}, separators=(",", ":"))

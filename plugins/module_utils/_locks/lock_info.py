# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform's lock JSON: the body of a ``.tflock`` object and a DynamoDB lock item's ``Info``.

Pure functions, no Ansible or boto3 imports.
"""

import datetime
import getpass
import json
import socket
import uuid

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock

# Terraform's field order, kept so the JSON we write reads like Terraform's own.
LOCK_FIELDS = ("ID", "Operation", "Info", "Who", "Version", "Created", "Path")
CONTENT_TYPE = "application/json"


class CorruptLock(ValueError):
    """A lock body that is empty or not Terraform's lock JSON."""


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
    """Seconds since the lock's ``Created`` at ``now`` (default: the collection's clock); None when Created cannot
    be read."""
    try:
        created = clock.parse_time(lock.get("Created"))
    except ValueError:
        return None
    now = now or clock.now()
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
        "Created": format_created(now or clock.now()),
        "Path": path,
    }


def dump_lock(lock):
    """Serialise a lock dict as Terraform does (compact JSON, Terraform's field order)."""
    return json.dumps({field: lock.get(field, "") for field in LOCK_FIELDS}, separators=(",", ":"))

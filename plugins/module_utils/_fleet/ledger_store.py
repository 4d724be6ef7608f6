# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ledger in S3: every entry of a bucket read (paginated), an entry written only when it is
news, and the fleet's buckets read into one view. No Ansible imports."""

import json
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils.clock import parse_time
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import LEDGER_PREFIX
from ansible_collections.tfstate.s3_backend.plugins.module_utils._fleet.ledger import (
    ENTRY_FIELDS,
    HELD,
    LedgerError,
    OBJECT_NAMES,
    entry_key,
    fleet_view,
    needs_write,
    parse_entry_key,
    transition,
)


# ---------------------------------------------------------------------------
# S3.

def read_ledger(s3, bucket, page_size=None):
    """``(entries, problems)`` of one bucket's ledger: one listing (paginated), a GET per object.

    An object that cannot be read as an entry is a problem naming it, not an entry.
    """
    entries, problems = [], []
    kwargs = {"Bucket": bucket, "Prefix": LEDGER_PREFIX}
    if page_size:
        kwargs["PaginationConfig"] = {"PageSize": int(page_size)}
    for page in paginate(s3, "list_objects_v2", resource="s3://%s/%s" % (bucket, LEDGER_PREFIX), **kwargs):
        for summary in page.get("Contents") or []:
            parsed = parse_entry_key(summary["Key"])
            if parsed is None:
                continue
            answer = call(s3, "get_object", resource="s3://%s/%s" % (bucket, summary["Key"]),
                          ignore_codes=("NoSuchKey", "404"), Bucket=bucket, Key=summary["Key"])
            if answer is None:
                continue  # deleted since the listing
            entry, problem = parse_entry(answer["Body"].read(), bucket, summary["Key"], parsed)
            if problem:
                problems.append(problem)
            else:
                entries.append(entry)
    return entries, problems


def parse_entry(body, bucket, object_key, parsed):
    """``(entry, None)`` or ``(None, problem)`` for an object's bytes; bucket and key come from its place."""
    where = "s3://%s/%s" % (bucket, object_key)
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return None, "%s is not a ledger entry (JSON): %s" % (where, exc)
    if not isinstance(data, dict):
        return None, "%s is not a ledger entry: a JSON object is expected" % where
    if data.get("stage") != parsed[1]:
        return None, "%s says stage %r, its name %r" % (where, data.get("stage"), parsed[1])
    try:
        parse_time(data.get("time"))
    except ValueError as exc:
        return None, "%s: time %s" % (where, exc)
    entry = {field: data.get(field) for field in ENTRY_FIELDS}
    entry.update(bucket=bucket, key=parsed[0])
    return entry, None


def write_entry(s3, entry, encrypt=False, kms_key_id=None):
    """Write one entry at its place (encrypted like the backend); returns the object key."""
    key = entry_key(entry["key"], entry["stage"])
    extra = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    elif encrypt:
        extra = {"ServerSideEncryption": "AES256"}
    call(s3, "put_object", resource="s3://%s/%s" % (entry["bucket"], key), Bucket=entry["bucket"], Key=key,
         Body=json.dumps(entry, sort_keys=True, indent=2).encode("utf-8"), ContentType="application/json", **extra)
    return key


def read_root_entries(s3, bucket, state_object_key):
    """One root's entries: a GET per possible object (no listing)."""
    entries = []
    for name in OBJECT_NAMES:
        key = entry_key(state_object_key, name)
        answer = call(s3, "get_object", resource="s3://%s/%s" % (bucket, key), ignore_codes=("NoSuchKey", "404"),
                      Bucket=bucket, Key=key)
        if answer is None:
            continue
        entry, problem = parse_entry(answer["Body"].read(), bucket, key, (state_object_key, name))
        if problem:
            raise LedgerError(problem)
        entries.append(entry)
    return entries


def record_stage(s3, entry, encrypt=False, kms_key_id=None, existing=None):
    """Write ``entry`` when its stage is news for the root (needs_write); returns the key written or None."""
    if existing is None:
        existing = read_root_entries(s3, entry["bucket"], entry["key"])
    if entry["stage"] != HELD and not needs_write(existing, entry["stage"]):
        return None
    if entry["stage"] != HELD and not entry.get("from_stage"):
        entry["from_stage"] = transition(existing, entry["stage"])
    return write_entry(s3, entry, encrypt, kms_key_id)


def read_fleet(s3, buckets, page_size=None, unreadable=None):
    """The fleet view of the ledgers of ``buckets``; a bucket whose ledger cannot be read is a problem.

    ``unreadable``, a list, gets ``{bucket, problem}`` of every bucket not read, a missing one included.
    """
    entries, problems = [], []
    for bucket in sorted(set(bucket for bucket in buckets if bucket)):
        try:
            found, bad = read_ledger(s3, bucket, page_size)
        except AwsError as exc:
            if unreadable is not None:
                unreadable.append({"bucket": bucket, "problem": "bucket %s does not exist" % bucket
                                   if exc.code == "NoSuchBucket" else "the ledger of bucket %s cannot be read: %s"
                                   % (bucket, exc)})
            if exc.code == "NoSuchBucket":
                continue  # a bucket that is gone holds no root (a table item may still name it)
            problems.append("the ledger of bucket %s cannot be read, so roots recorded there are unknown: %s" % (
                bucket, exc))
            continue
        entries.extend(found)
        problems.extend(bad)
    return fleet_view(entries, problems)


def ledger_backends(view, table, play_states, resolve):
    """``{(bucket, key): {file, line, lock_mode, dynamodb_table}}`` of the ledger's roots of ``table`` outside
    the play whose directory this controller can read; ``resolve(path)`` gives root.resolve_root's
    backend, or None when it cannot be read: such a root is judged by its ledger stage alone.
    """
    found = {}
    for row in view["roots"]:
        place = (row["bucket"], row["key"])
        if row["table"] != table or place in play_states or not row.get("root") or not os.path.isdir(row["root"]):
            continue
        backend = resolve(row["root"])
        if not backend:
            continue
        settings = backend.get("settings") or {}
        if (settings.get("bucket"), settings.get("key")) != place:
            continue
        found[place] = {"file": backend.get("file"), "line": backend.get("line"), "lock_mode": backend.get("lock_mode"),
                        "dynamodb_table": settings.get("dynamodb_table")}
    return found

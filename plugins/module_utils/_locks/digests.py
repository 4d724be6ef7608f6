# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform's DynamoDB state digests (``<bucket>/<state key>-md5`` items): hash, sync, remove, judge.

Pure logic, no Ansible imports: functions take boto3 clients and plain values.

While ``dynamodb_table`` is configured, Terraform writes the hex MD5 of the state bytes into the
digest item after every state write and fails every read whose bytes do not match it. After a
lockfile-only write the digest is stale, so going back to ``dynamodb_table`` breaks every plan
until the digest is synced (or removed). The MD5 is always computed from the downloaded bytes:
the ETag is not the MD5 of objects encrypted with KMS or uploaded in parts. State bytes are
streamed into the hash and never kept, printed or returned.
"""

import hashlib

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import (
    AwsError,
    BotoCoreError,
    call,
    paginate,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import (
    is_digest_item,
    read_lock_items,
    scan_table,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    digest_table_key,
    parse_table_key,
    s3_uri,
    state_key,
    state_path,
)

HASH_CHUNK_BYTES = 1024 * 1024
# A digest write that loses a race with a Terraform run is re-planned this many times.
SYNC_ATTEMPTS = 3

ACTION_SET = "set"
ACTION_DELETE = "delete"
ACTION_NONE = "none"


class DigestConflict(Exception):
    """A digest item kept changing under us: some client is still writing digests."""


def _new_md5():
    try:
        return hashlib.md5(usedforsecurity=False)  # an integrity checksum, not security (FIPS hosts)
    except TypeError:  # Python 3.8
        return hashlib.md5()


def s3_object_name(bucket, key, version_id=None):
    name = s3_uri(bucket, key)
    return "%s (version %s)" % (name, version_id) if version_id else name


def md5_of_object(s3, bucket, key, version_id=None):
    """Hex MD5 of an object's bytes, streamed; None when the object (or version) does not exist."""
    kwargs = {"Bucket": bucket, "Key": key}
    if version_id and version_id != "null":
        kwargs["VersionId"] = version_id
    resource = s3_object_name(bucket, key, version_id)
    answer = call(s3, "get_object", resource=resource, ignore_codes=("NoSuchKey", "NoSuchVersion"), **kwargs)
    if answer is None:
        return None
    digest = _new_md5()
    body = answer["Body"]
    try:
        for chunk in body.iter_chunks(HASH_CHUNK_BYTES):
            digest.update(chunk)
    except BotoCoreError as exc:
        raise AwsError(str(exc), operation="GetObject", resource=resource, code=type(exc).__name__)
    finally:
        body.close()
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Which states an operation covers.

def named_state_keys(keys=None, key=None, workspaces=None, workspace_key_prefix=None):
    """State object keys named explicitly: ``keys`` as given, plus ``key`` in each of ``workspaces``.

    ``key`` without ``workspaces`` means its default workspace. Sorted, without duplicates.
    """
    named = set(keys or ())
    if key:
        for workspace in workspaces or [None]:
            named.add(state_key(key, workspace, workspace_key_prefix))
    return sorted(named)


def state_selection(params):
    """The StateSelection that module parameters (bucket, keys, key, workspaces, workspace_key_prefix, prefix)
    name; None without a bucket (the whole table)."""
    if not params["bucket"]:
        return None
    named = named_state_keys(params["keys"], params["key"], params["workspaces"], params["workspace_key_prefix"])
    return StateSelection(params["bucket"], named, params["prefix"])


# The argument spec of those parameters, and the rules between them.
STATE_SELECTION_SPEC = dict(
    bucket=dict(type="str"),
    keys=dict(type="list", elements="str", no_log=False),
    key=dict(type="str", no_log=False),
    workspaces=dict(type="list", elements="str"),
    workspace_key_prefix=dict(type="str", no_log=False),
    prefix=dict(type="str"),
)
STATE_SELECTION_REQUIRED_BY = {"keys": "bucket", "key": "bucket", "prefix": "bucket", "workspaces": "key"}
STATE_SELECTION_EXCLUSIVE = [["prefix", "keys"], ["prefix", "key"]]


class StateSelection:
    """The states of one bucket an operation covers: named keys, or every key under a prefix."""

    def __init__(self, bucket, named_keys=None, prefix=""):
        self.bucket = bucket
        self.named_keys = list(named_keys or ())
        self.prefix = prefix or ""

    @property
    def is_named(self):
        return bool(self.named_keys)

    def covers(self, bucket, key):
        if bucket != self.bucket:
            return False
        return key in self.named_keys if self.is_named else key.startswith(self.prefix)

    def read_items(self, dynamodb, table):
        """The table's items (lock and digest) for these states, as plain dicts by LockID."""
        if self.is_named:
            ids = []
            for key in self.named_keys:
                ids += [state_path(self.bucket, key), digest_table_key(self.bucket, key)]
            return read_lock_items(dynamodb, table, ids)
        items = scan_table(dynamodb, table, table_key_prefix=state_path(self.bucket, self.prefix))
        found = {}
        for item in items:
            parsed = parse_table_key(item.get("LockID", ""))
            if parsed and self.covers(parsed[0], parsed[1]):
                found[item["LockID"]] = item
        return found

    def item_reader(self, dynamodb, table):
        """A ``read_items`` for lock_table.table_info: this selection's items, as a list."""
        return lambda: list(self.read_items(dynamodb, table).values())

    def digest_targets(self, items):
        """``{state key: current Digest or None}`` for the states a digest operation works on.

        Named states are all targets (a missing digest item included); otherwise the targets are the
        states that have a digest item, since a missing digest makes Terraform warn, never fail.
        """
        targets = {key: None for key in self.named_keys}
        for table_key, item in items.items():
            parsed = parse_table_key(table_key)
            if parsed and parsed[2] and self.covers(parsed[0], parsed[1]):
                targets[parsed[1]] = item.get("Digest")
        return targets


# ---------------------------------------------------------------------------
# digest: sync / absent

def digest_change(bucket, key, before, after, reason):
    action = ACTION_NONE if before == after else (ACTION_DELETE if after is None else ACTION_SET)
    return {
        "state_path": state_path(bucket, key),
        "digest_table_key": digest_table_key(bucket, key),
        "action": action,
        "before": before,
        "after": after,
        "reason": reason,
    }


def plan_sync(s3, bucket, key, current_digest):
    """What the digest of one state should become: the MD5 of its bytes, or no item without a state."""
    state_md5 = md5_of_object(s3, bucket, key)
    if state_md5 is None:
        reason = "no state object: a digest would fail every read" if current_digest else "no state object"
        return digest_change(bucket, key, current_digest, None, reason)
    reason = "matches the state object" if current_digest == state_md5 else "MD5 of the current state object"
    return digest_change(bucket, key, current_digest, state_md5, reason)


def _condition_on(before):
    """Write only if the item still holds what we read, so a digest Terraform wrote meanwhile wins."""
    if before is None:
        return {"ConditionExpression": "attribute_not_exists(LockID)"}
    return {"ConditionExpression": "Digest = :before", "ExpressionAttributeValues": {":before": {"S": before}}}


def write_digest_change(dynamodb, table, change):
    """Apply one planned change; False when the item changed since it was read."""
    resource = "DynamoDB table %s item %s" % (table, change["digest_table_key"])
    key = {"LockID": {"S": change["digest_table_key"]}}
    condition = _condition_on(change["before"])
    try:
        if change["action"] == ACTION_SET:
            item = dict(key, Digest={"S": change["after"]})
            call(dynamodb, "put_item", resource=resource, TableName=table, Item=item, **condition)
        elif change["action"] == ACTION_DELETE:
            call(dynamodb, "delete_item", resource=resource, TableName=table, Key=key, **condition)
    except AwsError as exc:
        if exc.code == "ConditionalCheckFailedException":
            return False
        raise
    return True


def read_digest(dynamodb, table, bucket, key):
    item = read_lock_items(dynamodb, table, [digest_table_key(bucket, key)]).get(digest_table_key(bucket, key))
    return item.get("Digest") if item else None


def sync_digests(s3, dynamodb, table, selection, items, check_mode=False):
    """Set each covered state's digest to the MD5 of its current bytes; returns the changes.

    ``items``: the table's items for the selection (StateSelection.read_items), or ``{}`` when the
    table does not exist yet (check mode before its creation). A state without an object gets its
    digest item removed. Raises DigestConflict when a digest keeps changing between read and write.
    """
    changes = []
    for key, current in sorted(selection.digest_targets(items).items()):
        change = plan_sync(s3, selection.bucket, key, current)
        for dummy in range(SYNC_ATTEMPTS):
            if check_mode or change["action"] == ACTION_NONE or write_digest_change(dynamodb, table, change):
                break
            change = plan_sync(s3, selection.bucket, key, read_digest(dynamodb, table, selection.bucket, key))
        else:
            raise DigestConflict(
                "the digest item %s changed %d times while it was being synced: a client with dynamodb_table is "
                "writing this state; lock the state first (tfstate.s3_backend.lockfile) and retry"
                % (change["digest_table_key"], SYNC_ATTEMPTS))
        changes.append(change)
    return changes


def remove_digests(dynamodb, table, selection, items, check_mode=False):
    """Delete the covered states' digest items; returns the changes."""
    changes = []
    for key, current in sorted(selection.digest_targets(items).items()):
        change = digest_change(selection.bucket, key, current, None, "digest removed" if current else "no digest item")
        if not check_mode and change["action"] == ACTION_DELETE:
            resource = "DynamoDB table %s item %s" % (table, change["digest_table_key"])
            call(dynamodb, "delete_item", resource=resource, TableName=table,
                 Key={"LockID": {"S": change["digest_table_key"]}})
        changes.append(change)
    return changes


# ---------------------------------------------------------------------------
# Is a client still writing digests after the cut-over?

def versions_written_after(s3, bucket, key, moment):
    """The versions of one object written after ``moment``, newest first (delete markers excluded).

    A bucket that no longer exists has none: no client can write a state there.
    """
    found = []
    pages = paginate(s3, "list_object_versions", resource="bucket %s" % bucket, Bucket=bucket, Prefix=key)
    try:
        for page in pages:
            for version in page.get("Versions", []):
                if version["Key"] == key and version["LastModified"] > moment:
                    found.append(version)
    except AwsError as exc:
        if exc.code != "NoSuchBucket":
            raise
    return sorted(found, key=lambda version: version["LastModified"], reverse=True)


def digest_written_after(s3, bucket, key, digest, cutover):
    """The state version written after ``cutover`` whose MD5 equals ``digest``, or None.

    Only a client that still has ``dynamodb_table`` writes digests, so such a version proves one
    wrote this state after the cut-over. Returns ``{"version_id", "last_modified"}``.
    """
    for version in versions_written_after(s3, bucket, key, cutover):
        if md5_of_object(s3, bucket, key, version.get("VersionId")) == digest:
            return {"version_id": version.get("VersionId"), "last_modified": version["LastModified"].isoformat()}
    return None


def current_digests(s3, items, cutover):
    """Digest items that prove a client wrote their state after ``cutover``.

    ``items``: plain table items; returns one record per such digest, with the matching version.
    """
    current = []
    for item in items:
        parsed = parse_table_key(item.get("LockID", ""))
        if not (is_digest_item(item) and parsed and item.get("Digest")):
            continue
        bucket, key = parsed[0], parsed[1]
        written = digest_written_after(s3, bucket, key, item["Digest"], cutover)
        if written:
            current.append(dict(written, state_path=state_path(bucket, key), digest_table_key=item["LockID"]))
    return current

# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Finding locks: which state keys a request covers, then one listing (S3) or query (DynamoDB) per
place, lock bodies read in parallel. No Ansible imports."""

import concurrent.futures
import os

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.state_keys import (
    DEFAULT_WORKSPACE_KEY_PREFIX,
    lock_table_key,
    parse_table_key,
    s3_uri,
    state_key,
    state_key_of_lock,
    state_path,
    workspace_of,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._locks.records import (
    STORE_DYNAMODB,
    STORE_S3,
    item_resource,
    lock_record,
    plain_item,
    read_lock_items,
    s3_resource,
    scan_lock_items,
)


# ---------------------------------------------------------------------------
# Finding locks: which state keys a request covers, then one listing (or scan) per place.

# Lock bodies read in parallel (within botocore's default pool of 10 connections).
BODY_READ_THREADS = 8


class StateKeyMatcher:
    """Which state keys one request covers, and the narrowest key prefix that holds them all.

    ``exact`` is the set of state keys when they can be enumerated (named workspaces), so
    DynamoDB can be asked for those items directly instead of scanned.
    """

    def __init__(self, prefix, match, exact=None):
        self.prefix = prefix
        self.match = match  # state key -> (True, workspace or None) | (False, None)
        self.exact = exact

    @classmethod
    def for_prefix(cls, prefix=""):
        """Every state key under ``prefix`` (a whole bucket when empty)."""
        prefix = prefix or ""

        def match(state_object_key):
            return (state_object_key.startswith(prefix), None)
        return cls(prefix, match)

    @classmethod
    def for_state(cls, key, workspace_key_prefix=None, workspaces=None):
        """The state keys of a backend ``key``: the given workspaces, or all when ``workspaces`` is None."""
        prefix_setting = DEFAULT_WORKSPACE_KEY_PREFIX if workspace_key_prefix is None else workspace_key_prefix
        if workspaces is not None:
            wanted = {state_key(key, name, prefix_setting): name for name in workspaces}

            def match_named(state_object_key):
                name = wanted.get(state_object_key)
                return (name is not None, name)
            # No workspace named: the key itself keeps the listing narrow and nothing matches.
            return cls(os.path.commonprefix(list(wanted)) if wanted else key, match_named, exact=set(wanted))

        def match_any(state_object_key):
            name = workspace_of(state_object_key, key, prefix_setting)
            return (name is not None, name)
        return cls(os.path.commonprefix([key, prefix_setting + "/"]), match_any)


def combine_matchers(matchers):
    """One matcher covering several requests on the same bucket or table (first match names the workspace)."""
    def match(state_object_key):
        found, name = False, None
        for matcher in matchers:
            hit, workspace = matcher.match(state_object_key)
            if hit:
                found = True
                name = name or workspace
        return (found, name)
    exact = None
    if all(matcher.exact is not None for matcher in matchers):
        exact = set().union(*[matcher.exact for matcher in matchers])
    return StateKeyMatcher(os.path.commonprefix([matcher.prefix for matcher in matchers]), match, exact)


def list_lock_objects(client, bucket, matcher):
    """The ``.tflock`` objects a matcher covers, from ONE paginated ListObjectsV2 of its prefix.

    Yields ``(object summary, state key, workspace)``; state objects are listed, never read.
    """
    listing = {"Bucket": bucket}
    if matcher.prefix:
        listing["Prefix"] = matcher.prefix
    pages = paginate(client, "list_objects_v2", resource=s3_uri(bucket, matcher.prefix), **listing)
    for page in pages:
        for summary in page.get("Contents", []):
            state_object_key = state_key_of_lock(summary["Key"])
            if state_object_key is None:
                continue
            hit, workspace = matcher.match(state_object_key)
            if hit:
                yield summary, state_object_key, workspace


def read_s3_lock(client, bucket, key):
    """GET a lock object: ``{"body", "etag", "version_id", "last_modified", "size"}``, None when absent."""
    answer = call(client, "get_object", resource=s3_resource(bucket, key), ignore_codes=("NoSuchKey",),
                  Bucket=bucket, Key=key)
    if answer is None:
        return None
    body = answer["Body"].read()
    return {
        "body": body,
        "etag": answer.get("ETag"),
        "version_id": answer.get("VersionId"),
        "last_modified": answer.get("LastModified"),
        "size": len(body),
    }


def s3_read_record(bucket, state_object_key, read, workspace=None, stale_after=None, now=None):
    """Lock record of a read_s3_lock() answer."""
    return lock_record(STORE_S3, bucket, state_object_key, read["body"], workspace=workspace, etag=read["etag"],
                       version_id=read["version_id"], last_modified=read["last_modified"], size=read["size"],
                       stale_after=stale_after, now=now)


def read_dynamodb_lock(client, table, table_key):
    """GetItem (consistent) of one lock item as a plain dict, None when absent."""
    answer = call(client, "get_item", resource=item_resource(table, table_key), TableName=table,
                  Key={"LockID": {"S": table_key}}, ConsistentRead=True)
    item = answer.get("Item")
    return plain_item(item) if item else None


def find_s3_locks(client, bucket, matchers, read_bodies=True, stale_after=None, now=None):
    """Lock records of one bucket: one listing for all ``matchers``, then a GET per lock object.

    The GETs run on a few threads while the listing goes on: on AWS, hundreds of sequential
    GETs would otherwise take longer than the listing itself (boto3 clients are thread-safe).
    """
    listed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=BODY_READ_THREADS) as pool:
        for summary, state_object_key, workspace in list_lock_objects(client, bucket, combine_matchers(matchers)):
            read = pool.submit(read_s3_lock, client, bucket, summary["Key"]) if read_bodies else None
            listed.append((summary, state_object_key, workspace, read))
        records = []
        for summary, state_object_key, workspace, read in listed:
            if read is None:
                records.append(lock_record(STORE_S3, bucket, state_object_key, None, workspace=workspace,
                                           etag=summary.get("ETag"), last_modified=summary.get("LastModified"),
                                           size=summary.get("Size"), stale_after=stale_after, now=now))
                continue
            found = read.result()  # re-raises the read's AwsError
            if found is not None:  # else released since the listing
                records.append(s3_read_record(bucket, state_object_key, found, workspace, stale_after, now))
    return records


def dynamodb_item_record(table, item, workspace=None, stale_after=None, now=None):
    """Lock record of a plain DynamoDB lock item; a LockID that is not ``<bucket>/<key>`` counts as corrupt."""
    parsed = parse_table_key(item.get("LockID", ""))
    bucket, state_object_key = (parsed[0], parsed[1]) if parsed else ("", item.get("LockID", ""))
    record = lock_record(STORE_DYNAMODB, bucket, state_object_key, item.get("Info", ""), table=table,
                         workspace=workspace, stale_after=stale_after, now=now)
    record["table_key"] = item.get("LockID")
    if not parsed:
        record["corrupt"] = True
        record["reason"] = "LockID %r is not <bucket>/<state key>" % item.get("LockID")
    return record


def find_dynamodb_locks(client, table, bucket_matchers, stale_after=None, now=None):
    """Lock records of one table.

    ``bucket_matchers``: ``{bucket: [StateKeyMatcher]}``, or None for every lock item of the table.
    Named workspaces are read with BatchGetItem; anything wider is one Scan of the common LockID prefix.
    """
    if bucket_matchers is None:
        return [dynamodb_item_record(table, item, stale_after=stale_after, now=now)
                for item in scan_lock_items(client, table)]
    combined = {bucket: combine_matchers(matchers) for bucket, matchers in bucket_matchers.items()}
    if all(matcher.exact is not None for matcher in combined.values()):
        ids = [lock_table_key(bucket, key) for bucket, matcher in combined.items() for key in matcher.exact]
        items = [item for dummy, item in sorted(read_lock_items(client, table, ids).items())]
    else:
        scan_prefix = os.path.commonprefix(
            [state_path(bucket, matcher.prefix) for bucket, matcher in combined.items()])
        items = scan_lock_items(client, table, scan_prefix)
    records = []
    for item in items:
        parsed = parse_table_key(item.get("LockID", ""))
        if not parsed or parsed[2] or parsed[0] not in combined:
            continue
        hit, workspace = combined[parsed[0]].match(parsed[1])
        if hit:
            records.append(dynamodb_item_record(table, item, workspace=workspace, stale_after=stale_after, now=now))
    return records


# The backend settings that say where a state and its locks are.
LOCATING_SETTINGS = ("bucket", "key", "workspace_key_prefix", "dynamodb_table", "region")


def requests_from_backends(backends, workspaces=None):
    """find_locks requests from backend_info results, read loosely.

    Each entry is a dict whose ``settings`` (or, without ``settings``, the entry itself) holds
    ``bucket`` and ``key``, and optionally ``workspace_key_prefix``, ``dynamodb_table`` and
    ``region``. The ``settings`` of each of its ``partial_configs`` (``-backend-config`` files)
    complete or override them, one request each. Other fields are ignored.

    Returns ``(requests, skipped)``; ``skipped`` says, per entry that cannot be located (no
    literal bucket and key, or a locating setting listed in ``unresolved_settings``), its
    ``index``, ``file``, ``line`` and ``reason``.
    """
    requests, skipped = [], []
    for index, entry in enumerate(backends or []):
        if not isinstance(entry, dict) or not isinstance(entry.get("settings", entry), dict):
            skipped.append({"index": index, "file": None, "line": None, "reason": "not a dictionary of settings"})
            continue
        base = entry.get("settings", entry)
        partials = [partial["settings"] for partial in entry.get("partial_configs") or []
                    if isinstance(partial, dict) and isinstance(partial.get("settings"), dict)]
        unresolved = set(entry.get("unresolved_settings") or [])
        for overrides in partials or [{}]:
            settings = dict(base, **overrides)
            missing = [name for name in ("bucket", "key") if not isinstance(settings.get(name), str) or not settings.get(name)]
            templated = [name for name in LOCATING_SETTINGS if name in unresolved and name not in overrides]
            if missing or templated:
                reason = "; ".join(text for text in (
                    "no %s" % " and ".join(missing) if missing else "",
                    "not literal: %s" % ", ".join(templated) if templated else "") if text)
                skipped.append({"index": index, "file": entry.get("file"), "line": entry.get("line"), "reason": reason})
                continue
            requests.append({
                "bucket": settings["bucket"],
                "key": settings["key"],
                "workspace_key_prefix": settings.get("workspace_key_prefix") or None,
                "workspaces": workspaces,
                "dynamodb_table": settings.get("dynamodb_table") or None,
                "region": settings.get("region") or None,
            })
    return requests, skipped


def find_locks(client_for, requests, read_bodies=True, stale_after=None, now=None):
    """Every lock the requests cover, in S3 and DynamoDB, with ONE listing per bucket and one read per table.

    ``client_for(service, region)`` gives boto3 clients. Each request is a dict:
    ``bucket`` (None: no S3 search), ``prefix`` (bucket-wide search under it) or ``key`` with
    ``workspace_key_prefix`` and ``workspaces`` (None: all), ``dynamodb_table`` and ``region``.
    A request with only ``dynamodb_table`` covers every lock item of that table.
    """
    now = now or clock.now()
    clients = {}

    def client(service, region):
        if (service, region) not in clients:
            clients[(service, region)] = client_for(service, region)
        return clients[(service, region)]

    buckets = {}   # bucket -> (region, [matcher])
    tables = {}    # (region, table) -> {bucket: [matcher]} or None for the whole table
    for request in requests:
        bucket = request.get("bucket")
        table = request.get("dynamodb_table")
        region = request.get("region")
        if bucket and request.get("key"):
            matcher = StateKeyMatcher.for_state(request["key"], request.get("workspace_key_prefix"),
                                                request.get("workspaces"))
        else:
            matcher = StateKeyMatcher.for_prefix(request.get("prefix"))
        if bucket:
            buckets.setdefault(bucket, (region, []))[1].append(matcher)
        if table:
            place = (region, table)
            if not bucket:
                tables[place] = None
            elif tables.get(place, {}) is not None:
                tables.setdefault(place, {}).setdefault(bucket, []).append(matcher)
    records = []
    for bucket in sorted(buckets):
        region, matchers = buckets[bucket]
        records.extend(find_s3_locks(client("s3", region), bucket, matchers, read_bodies=read_bodies,
                                     stale_after=stale_after, now=now))
    for region, table in sorted(tables, key=lambda place: (place[0] or "", place[1])):
        records.extend(find_dynamodb_locks(client("dynamodb", region), table, tables[(region, table)],
                                           stale_after=stale_after, now=now))
    return records

# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Terraform state locks in S3 (``.tflock`` objects) and DynamoDB (lock items).

Pure logic, no Ansible imports: functions take boto3 clients and plain values, so the
modules, the migration role and other module_utils can share them.
"""

import concurrent.futures
import os
import time

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import AwsError, call, paginate
from ansible_collections.tfstate.s3_backend.plugins.module_utils.lock_info import (
    CONTENT_TYPE,
    LOCK_FIELDS,
    CorruptLock,
    dump_lock,
    lock_age_seconds,
    new_lock,
    parse_lock,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_keys import (
    DEFAULT_WORKSPACE_KEY_PREFIX,
    DIGEST_SUFFIX,
    lock_table_key,
    lock_key,
    parse_table_key,
    s3_uri,
    state_key,
    state_key_of_lock,
    state_path,
    workspace_of,
)

# BatchGetItem accepts at most 100 keys per request.
BATCH_GET_LIMIT = 100
# Bounded re-asks for keys DynamoDB left unprocessed (throttling); botocore retries each call too.
UNPROCESSED_ROUNDS = 8


def plain_item(item):
    """A DynamoDB item in the low-level wire format (``{"LockID": {"S": "..."}}``) as plain values."""
    return {name: next(iter(typed.values())) for name, typed in item.items()}


def is_digest_item(item):
    """True for a ``<bucket>/<key>-md5`` digest item, False for a lock item."""
    return item.get("LockID", "").endswith(DIGEST_SUFFIX)


def read_lock_items(client, table, table_keys):
    """Read the items with the given LockIDs (consistent reads).

    Returns ``{LockID: plain item}``; LockIDs without an item are absent from the result.
    Works for lock items and ``-md5`` digest items alike.
    """
    wanted = sorted(set(table_keys))
    found = {}
    for start in range(0, len(wanted), BATCH_GET_LIMIT):
        request = {table: {
            "Keys": [{"LockID": {"S": key}} for key in wanted[start:start + BATCH_GET_LIMIT]],
            "ConsistentRead": True,
        }}
        for dummy in range(UNPROCESSED_ROUNDS):
            answer = call(client, "batch_get_item", resource="DynamoDB table %s" % table, RequestItems=request)
            for item in answer.get("Responses", {}).get(table, []):
                item = plain_item(item)
                found[item["LockID"]] = item
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise AwsError("DynamoDB kept leaving keys unprocessed after %d rounds" % UNPROCESSED_ROUNDS,
                           operation="BatchGetItem", resource="DynamoDB table %s" % table, code="UnprocessedKeys")
    return found


def scan_table(client, table, table_key_prefix=None):
    """All items of a lock table (lock and digest items), as plain dicts sorted by LockID.

    ``table_key_prefix`` keeps only LockIDs starting with it, for example ``"<bucket>/"``.
    """
    kwargs = {"TableName": table, "ConsistentRead": True}
    if table_key_prefix:
        kwargs["FilterExpression"] = "begins_with(LockID, :prefix)"
        kwargs["ExpressionAttributeValues"] = {":prefix": {"S": table_key_prefix}}
    items = []
    for page in paginate(client, "scan", resource="DynamoDB table %s" % table, **kwargs):
        items.extend(plain_item(item) for item in page.get("Items", []))
    return sorted(items, key=lambda item: item.get("LockID", ""))


def scan_lock_items(client, table, table_key_prefix=None):
    """The lock items (not the ``-md5`` digest items) of a lock table, sorted by LockID."""
    return [item for item in scan_table(client, table, table_key_prefix) if not is_digest_item(item)]


# ---------------------------------------------------------------------------
# Lock records: one dict per lock found, the same shape for both stores.

STORE_S3 = "s3"
STORE_DYNAMODB = "dynamodb"


def s3_resource(bucket, key):
    """How errors and messages name a lock object."""
    return s3_uri(bucket, key)


def item_resource(table, table_key):
    """How errors and messages name a DynamoDB lock item."""
    return "DynamoDB table %s item %s" % (table, table_key)


def normalise_etag(etag):
    """ETags compare without their quotes (users paste them either way)."""
    return (etag or "").strip().strip('"')


def lock_record(store, bucket, state_object_key, body, table=None, workspace=None, etag=None,
                version_id=None, last_modified=None, size=None, stale_after=None, now=None):
    """Describe one lock; a corrupt or empty body gives ``corrupt: true`` and a reason.

    ``body`` None means the body was not read (``corrupt`` is then None). ``age_seconds`` comes
    from the lock's ``Created``, else from the object's LastModified (``age_source`` says which).
    """
    now = now or clock.now()
    record = {
        "store": store,
        "bucket": bucket,
        "table": table,
        # One name per key: the .tflock object's key in the bucket, or the lock item's key (LockID) in the table.
        "lock_key": lock_key(state_object_key) if store == STORE_S3 else None,
        "table_key": lock_table_key(bucket, state_object_key) if store != STORE_S3 else None,
        "state_key": state_object_key,
        "state_path": state_path(bucket, state_object_key),
        "workspace": workspace,
        "etag": etag,
        "version_id": version_id,
        "last_modified": last_modified.isoformat() if last_modified else None,
        "size": size,
        "corrupt": None,
        "reason": None,
    }
    lock = {field: None for field in LOCK_FIELDS}
    if body is not None:
        try:
            lock = parse_lock(body)
            record["corrupt"] = False
        except CorruptLock as exc:
            record["corrupt"] = True
            record["reason"] = str(exc)
    for field in LOCK_FIELDS:
        record[field.lower()] = lock[field]
    age = lock_age_seconds(lock, now) if lock["Created"] else None
    record["age_source"] = "created" if age is not None else None
    if age is None and last_modified is not None:
        age = max(0.0, (now - last_modified).total_seconds())
        record["age_source"] = "last_modified"
    record["age_seconds"] = None if age is None else int(age)
    record["stale"] = None if age is None or stale_after is None else age > stale_after
    return record


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


# ---------------------------------------------------------------------------
# Taking and releasing one state's lock, the way Terraform does, but never deleting a lock
# that changed hands: deletes are conditional on what was read.

# AWS answers 409 ConditionalRequestConflict when conditional writes on one key race; retry them.
CONFLICT_CODE = "ConditionalRequestConflict"
CONFLICT_ATTEMPTS = 5
CONFLICT_BACKOFF_SECONDS = 0.2
_sleep = time.sleep  # replaced in unit tests

KEPT_OTHER_ID = "held under another lock ID"
KEPT_NOT_STALE = "not older than stale_after"
KEPT_NO_AGE = "age unknown (no readable Created), so not provably stale"
KEPT_CORRUPT = "corrupt lock body: released only with force and, in S3, its etag"
KEPT_NO_CRITERION = "a readable lock is released only by lock_id or stale_after"
KEPT_CHANGED = "changed between read and delete: the conditional delete refused it"


def retry_conflicts(action):
    """Run ``action()``; retry a bounded number of times, with backoff, on 409 ConditionalRequestConflict."""
    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return action()
        except AwsError as exc:
            if exc.code != CONFLICT_CODE or attempt == CONFLICT_ATTEMPTS - 1:
                raise
            _sleep(CONFLICT_BACKOFF_SECONDS * (2 ** attempt))
    return None  # not reached: the last attempt returns or raises


class LockTarget:
    """One state's lock places: the ``.tflock`` object, and the DynamoDB item when a table is given."""

    def __init__(self, bucket, state_object_key, dynamodb_table=None, encrypt=False, kms_key_id=None,
                 workspace=None):
        self.bucket = bucket
        self.state_key = state_object_key
        self.table = dynamodb_table or None
        self.encrypt = encrypt
        self.kms_key_id = kms_key_id or None
        self.workspace = workspace

    @property
    def lock_key(self):
        return lock_key(self.state_key)

    @property
    def table_key(self):
        return lock_table_key(self.bucket, self.state_key)

    @property
    def path(self):
        return state_path(self.bucket, self.state_key)

    @property
    def s3_resource(self):
        return s3_resource(self.bucket, self.lock_key)

    @property
    def item_resource(self):
        return item_resource(self.table, self.table_key)

    def encryption_args(self):
        """PutObject encryption arguments as Terraform derives them from the backend settings."""
        if self.kms_key_id:
            return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": self.kms_key_id}
        if self.encrypt:
            return {"ServerSideEncryption": "AES256"}
        return {}


def read_target_locks(s3, dynamodb, target, stale_after=None, now=None):
    """The target's current lock records: ``{"s3": record or None, "dynamodb": record or None}``."""
    found = {STORE_S3: None, STORE_DYNAMODB: None}
    read = read_s3_lock(s3, target.bucket, target.lock_key)
    if read is not None:
        found[STORE_S3] = s3_read_record(target.bucket, target.state_key, read, target.workspace, stale_after, now)
    if target.table:
        item = read_dynamodb_lock(dynamodb, target.table, target.table_key)
        if item is not None:
            record = dynamodb_item_record(target.table, item, workspace=target.workspace,
                                          stale_after=stale_after, now=now)
            record["_info"] = item.get("Info")  # the exact value the conditional delete compares
            found[STORE_DYNAMODB] = record
    return found


def put_s3_lock(client, target, body):
    """Terraform's acquire: PutObject with If-None-Match: *. Returns the new ETag, None when held."""
    def put():
        return call(client, "put_object", resource=target.s3_resource, ignore_codes=("PreconditionFailed",),
                    Bucket=target.bucket, Key=target.lock_key, Body=body.encode("utf-8"), IfNoneMatch="*",
                    ContentType=CONTENT_TYPE, ChecksumAlgorithm="SHA256", **target.encryption_args())
    answer = retry_conflicts(put)
    return None if answer is None else answer.get("ETag")


def put_dynamodb_lock(client, target, body):
    """Terraform's DynamoDB acquire: PutItem if no item has the LockID. False when held."""
    answer = call(client, "put_item", resource=target.item_resource,
                  ignore_codes=("ConditionalCheckFailedException",), TableName=target.table,
                  Item={"LockID": {"S": target.table_key}, "Info": {"S": body}},
                  ConditionExpression="attribute_not_exists(LockID)")
    return answer is not None


def delete_s3_lock(client, target, etag):
    """DeleteObject only if the object still has ``etag``. False when it changed or is gone."""
    def delete():
        return call(client, "delete_object", resource=target.s3_resource,
                    ignore_codes=("PreconditionFailed", "NoSuchKey"),
                    Bucket=target.bucket, Key=target.lock_key, IfMatch=etag)
    return retry_conflicts(delete) is not None


def delete_dynamodb_lock(client, target, info):
    """DeleteItem only if ``Info`` is still exactly what was read. False when it changed or is gone."""
    if info is None:
        condition = {"ConditionExpression": "attribute_exists(LockID) AND attribute_not_exists(Info)"}
    else:
        condition = {"ConditionExpression": "Info = :info", "ExpressionAttributeValues": {":info": {"S": info}}}
    answer = call(client, "delete_item", resource=target.item_resource,
                  ignore_codes=("ConditionalCheckFailedException",), TableName=target.table,
                  Key={"LockID": {"S": target.table_key}}, **condition)
    return answer is not None


def prove_delete_item(client, target):
    """A DeleteItem of the lock item whose condition can never hold: it deletes nothing, but IAM checks
    ``dynamodb:DeleteItem`` first (AwsError AccessDenied without it)."""
    call(client, "delete_item", resource=target.item_resource, ignore_codes=("ConditionalCheckFailedException",),
         TableName=target.table, Key={"LockID": {"S": target.table_key}},
         ConditionExpression="attribute_exists(LockID) AND attribute_not_exists(LockID)")


def public(record):
    """A record without its internal fields (kept for the conditional delete)."""
    return None if record is None else {k: v for k, v in record.items() if not k.startswith("_")}


def take_s3_lock(s3, target, body, now=None):
    """PutObject If-None-Match: *. Returns ``(None, new ETag)`` when taken, ``(holder record, None)`` when held.

    A lock released between our refused PUT and our GET is simply tried again (bounded).
    """
    for dummy in range(CONFLICT_ATTEMPTS):
        etag = put_s3_lock(s3, target, body)
        if etag is not None:
            return None, etag
        read = read_s3_lock(s3, target.bucket, target.lock_key)
        if read is not None:
            return s3_read_record(target.bucket, target.state_key, read, target.workspace, now=now), None
    raise AwsError("the lock kept appearing and disappearing", operation="PutObject",
                   resource=target.s3_resource, code="LockContention")


def take_dynamodb_lock(dynamodb, target, body, now=None):
    """Conditional PutItem. Returns None when taken, the holder's record when held."""
    for dummy in range(CONFLICT_ATTEMPTS):
        if put_dynamodb_lock(dynamodb, target, body):
            return None
        item = read_dynamodb_lock(dynamodb, target.table, target.table_key)
        if item is not None:
            return dynamodb_item_record(target.table, item, workspace=target.workspace, now=now)
    raise AwsError("the lock item kept appearing and disappearing", operation="PutItem",
                   resource=target.item_resource, code="LockContention")


def acquire(s3, dynamodb, target, lock, check_mode=False, now=None):
    """Take ``target``'s lock as Terraform does: the ``.tflock`` object first, then the DynamoDB item.

    ``lock`` is a lock dict (see lock_info.new_lock). A lock already held under ``lock["ID"]``
    counts as ours (no change), so a rerun with the same ID is idempotent. If the DynamoDB item
    is held by someone else, the ``.tflock`` we just wrote is released again, as Terraform does.

    Returns ``{"changed", "acquired", "lock": record, "held_by": [records]}``.
    """
    body = dump_lock(lock)

    def ours(record):
        return record["id"] == lock["ID"]

    result = {"changed": False, "acquired": False, "lock": None, "held_by": []}
    new_record = lock_record(STORE_S3, target.bucket, target.state_key, body, workspace=target.workspace, now=now)
    if check_mode:
        current = read_target_locks(s3, dynamodb, target, now=now)
        wanted = [current[STORE_S3]] + ([current[STORE_DYNAMODB]] if target.table else [])
        result["held_by"] = [public(record) for record in wanted if record is not None and not ours(record)]
        if not result["held_by"]:
            result["acquired"] = True
            result["changed"] = any(record is None for record in wanted)
            result["lock"] = public(current[STORE_S3]) or new_record
        return result

    s3_holder, taken_etag = take_s3_lock(s3, target, body, now=now)
    if s3_holder is not None and not ours(s3_holder):
        result["held_by"].append(s3_holder)
        return result
    if target.table:
        try:
            table_holder = take_dynamodb_lock(dynamodb, target, body, now=now)
        except AwsError:
            # Table missing, access denied...: do not leave a half-taken lock behind.
            if taken_etag is not None:
                delete_s3_lock(s3, target, taken_etag)
            raise
        if table_holder is not None and not ours(table_holder):
            if taken_etag is not None:
                delete_s3_lock(s3, target, taken_etag)
            result["held_by"].append(table_holder)
            return result
        result["changed"] = table_holder is None
    result["changed"] = result["changed"] or taken_etag is not None
    result["acquired"] = True
    if s3_holder is not None:
        result["lock"] = s3_holder
    else:
        new_record["etag"] = taken_etag
        result["lock"] = new_record
    return result


def release_decision(record, lock_id=None, stale_after=None, force=False, etag=None):
    """Why a lock record must be kept, or None when the request allows releasing it."""
    if record["corrupt"]:
        if not force:
            return KEPT_CORRUPT
        if record["store"] == STORE_S3 and normalise_etag(etag) != normalise_etag(record["etag"]):
            return KEPT_CORRUPT
        return None
    if lock_id is None and stale_after is None:
        return KEPT_NO_CRITERION
    if lock_id is not None and record["id"] != lock_id:
        return KEPT_OTHER_ID
    if stale_after is not None:
        if record["age_source"] != "created":
            return KEPT_NO_AGE
        if not record["stale"]:
            return KEPT_NOT_STALE
    return None


def release(s3, dynamodb, target, lock_id=None, stale_after=None, force=False, etag=None, check_mode=False,
            now=None):
    """Release ``target``'s lock in each store where the request allows it.

    Each lock is re-read, checked (ID, age, corrupt body) and deleted conditionally on what was
    read (S3: If-Match on the ETag; DynamoDB: ``Info`` unchanged), so a lock that changed hands
    in between is kept. Returns ``{"changed", "released": [records], "kept": [records]}``; kept
    records carry ``kept_reason``.
    """
    result = {"changed": False, "released": [], "kept": []}
    found = read_target_locks(s3, dynamodb, target, stale_after=stale_after, now=now)
    decisions = {store: release_decision(found[store], lock_id, stale_after, force, etag)
                 for store in (STORE_S3, STORE_DYNAMODB) if found[store] is not None}
    if not check_mode and decisions.get(STORE_S3, KEPT_CHANGED) is None and decisions.get(STORE_DYNAMODB,
                                                                                          KEPT_CHANGED) is None:
        # Both locks go: prove dynamodb:DeleteItem first, so that a missing right releases neither.
        prove_delete_item(dynamodb, target)
    for store in (STORE_S3, STORE_DYNAMODB):
        record = found[store]
        if record is None:
            continue
        reason = decisions[store]
        if reason is None and not check_mode:
            if store == STORE_S3:
                deleted = delete_s3_lock(s3, target, record["etag"])
            else:
                deleted = delete_dynamodb_lock(dynamodb, target, record["_info"])
            reason = None if deleted else KEPT_CHANGED
        record = public(record)
        if reason is None:
            result["released"].append(record)
            result["changed"] = True
        else:
            record["kept_reason"] = reason
            result["kept"].append(record)
    return result


# ---------------------------------------------------------------------------
# Whether a bucket honours conditional writes, which use_lockfile needs, proven on a key of our own.

PROBE_SUFFIX = ".tfstate-s3-backend-probe"


def is_own_object(s3, target, body):
    """Whether ``target``'s lock object holds exactly ``body``: our own write whose answer was lost."""
    read = read_s3_lock(s3, target.bucket, target.lock_key)
    return read is not None and read["body"] == body.encode("utf-8")


def probe_conditional_writes(s3, target, lock, tag=None):
    """Whether ``target``'s bucket refuses a second PutObject with If-None-Match: * on one key.

    The probe object sits next to the state's lock, under ``<state key>.tfstate-s3-backend-probe.tflock``
    (no state has that lock key), written with the backend's encryption as Terraform writes its lock.
    ``tag`` (e.g. a run's freeze lock ID) makes it ``<state key>.tfstate-s3-backend-probe-<tag>.tflock``, so
    two runs probing one root at once do not delete each other's probe.
    It is written twice and always deleted; a probe an interrupted run left behind is deleted first.
    Returns True when the second write was refused, False when the bucket accepted it.

    The first write is retry-safe: when it landed but its answer was lost, the SDK's retry is refused
    (412); the object is then read back, and when it holds this probe's body (the lock's unique ID)
    it is ours and the probe goes on.
    """
    probe = LockTarget(target.bucket, target.state_key + PROBE_SUFFIX + ("-%s" % tag if tag else ""), encrypt=target.encrypt,
                       kms_key_id=target.kms_key_id)

    def delete_probe():
        call(s3, "delete_object", resource=probe.s3_resource, ignore_codes=("NoSuchKey",),
             Bucket=probe.bucket, Key=probe.lock_key)

    body = dump_lock(dict(lock, Path=probe.path))
    delete_probe()
    try:
        if put_s3_lock(s3, probe, body) is None and not is_own_object(s3, probe, body):
            raise AwsError("another probe object appeared while probing", operation="PutObject",
                           resource=probe.s3_resource, code="ProbeContention")
        return put_s3_lock(s3, probe, body) is None
    finally:
        delete_probe()


# ---------------------------------------------------------------------------
# Unlocking states in bulk (playbooks/unlock.yml): which locks found may go, and why the others stay.
# A lock named by its ID is released only when it is older than stale_after too, unless forced:
# an 8-second-old lock is most likely a running apply's.

DEFAULT_UNLOCK_STALE_AFTER = 3600

KEPT_YOUNG = "younger than stale_after (%s s old, stale_after %s s): a running terraform may hold it"
KEPT_YOUNG_FORCE_HINT = "; release it anyway with force"
KEPT_CORRUPT_UNLOCK = "corrupt lock body: release it with tfstate.s3_backend.lockfile, force and its etag"


class UnlockRequestError(ValueError):
    """An unlock request that does not say safely which locks may go."""


def unlock_criteria(lock_id=None, stale_after=None, force=False):
    """The ``stale_after`` that applies to an unlock request, or UnlockRequestError.

    With ``lock_id``, an unset ``stale_after`` is DEFAULT_UNLOCK_STALE_AFTER; ``force`` lifts the
    age check for that lock only. Without ``lock_id``, ``stale_after`` must be given and ``force``
    is refused (it would release every lock, running ones included).
    """
    if stale_after is not None and stale_after < 0:
        raise UnlockRequestError("stale_after must be 0 or more seconds, got %s" % stale_after)
    if lock_id:
        return DEFAULT_UNLOCK_STALE_AFTER if stale_after is None else stale_after
    if force:
        raise UnlockRequestError("force needs a lock_id: without one it would release every lock, "
                                 "those of running applies included")
    if stale_after is None:
        raise UnlockRequestError("give lock_id (the lock to release) or stale_after (release locks older than "
                                 "that many seconds)")
    return stale_after


def unlock_reason(record, lock_id=None, stale_after=DEFAULT_UNLOCK_STALE_AFTER, force=False):
    """Why a found lock record is kept, or None when the request releases it (pure)."""
    if record.get("corrupt"):
        return KEPT_CORRUPT_UNLOCK
    if lock_id and record.get("id") != lock_id:
        return KEPT_OTHER_ID
    forced = bool(lock_id and force)
    if record.get("age_source") != "created" or record.get("age_seconds") is None:
        return None if forced else KEPT_NO_AGE + (KEPT_YOUNG_FORCE_HINT if lock_id else "")
    if record["age_seconds"] <= stale_after and not forced:
        return KEPT_YOUNG % (record["age_seconds"], stale_after) + (KEPT_YOUNG_FORCE_HINT if lock_id else "")
    return None


def plan_unlock(records, lock_id=None, stale_after=DEFAULT_UNLOCK_STALE_AFTER, force=False):
    """Split found lock records into ``(to release, kept)``; kept records carry ``kept_reason`` (pure)."""
    to_release, kept = [], []
    for record in records:
        reason = unlock_reason(record, lock_id, stale_after, force)
        if reason is None:
            to_release.append(record)
        else:
            kept.append(dict(record, kept_reason=reason))
    return to_release, kept


def unlock_states(client_for, states, lock_id=None, stale_after=None, force=False, check_mode=False, now=None):
    """Find the locks of ``states`` and release those the request allows; returns ``{changed, released, kept}``.

    ``states``: dicts with ``bucket``, ``key`` and optionally ``workspace_key_prefix``, ``workspaces``,
    ``dynamodb_table``, ``region``. ``client_for(service, region)`` gives boto3 clients. Each release
    re-reads the lock and deletes it conditionally on what was read (see release()), pinned to the ID
    that was decided on, so a lock that changed hands in between is kept, with the reason.
    """
    stale_after = unlock_criteria(lock_id, stale_after, force)
    result = {"changed": False, "released": [], "kept": []}
    for state in states:
        region = state.get("region")
        request = {"bucket": state["bucket"], "key": state["key"], "region": region,
                   "workspace_key_prefix": state.get("workspace_key_prefix"), "workspaces": state.get("workspaces"),
                   "dynamodb_table": state.get("dynamodb_table")}
        found = find_locks(client_for, [request], stale_after=stale_after, now=now)
        to_release, kept = plan_unlock(found, lock_id, stale_after, force)
        result["kept"].extend(kept)
        # One release per state object and lock ID: it handles both stores of that state.
        groups = {}
        for record in to_release:
            groups.setdefault((record["state_key"], record["workspace"], record["id"]), []).append(record)
        for (state_object_key, workspace, record_id), records in sorted(groups.items(), key=lambda g: g[0][:2]):
            target = LockTarget(state["bucket"], state_object_key, dynamodb_table=state.get("dynamodb_table"),
                                workspace=workspace)
            outcome = release(client_for("s3", region),
                              client_for("dynamodb", region) if target.table else None, target,
                              lock_id=record_id, stale_after=None if (lock_id and force) else stale_after,
                              check_mode=check_mode, now=now)
            # Every lock released is reported; of those kept, the ones planned for release (another store's
            # lock under another ID is already listed as kept).
            wanted = set(record["store"] for record in records)
            result["released"].extend(outcome["released"])
            result["kept"].extend(r for r in outcome["kept"] if r["store"] in wanted)
            result["changed"] = result["changed"] or outcome["changed"]
    return result


def lock_id_not_released(result, lock_id):
    """Why the lock named by ``lock_id`` was not released by unlock_states(), None when it was (pure)."""
    if not lock_id or any(record.get("id") == lock_id for record in result["released"]):
        return None
    reasons = []
    for record in result["kept"]:
        if record.get("id") == lock_id and record["kept_reason"] not in reasons:
            reasons.append(record["kept_reason"])
    if not reasons:
        return "No lock with ID %s was found in the given states." % lock_id
    return "The lock with ID %s was kept: %s." % (lock_id, "; ".join(reasons))


# ---------------------------------------------------------------------------
# What lockfile and lockfile_probe share: where the lock is, and the probe

# The argument spec of the backend settings that place a state's lock object (doc fragment lock_target).
LOCK_TARGET_SPEC = dict(
    bucket=dict(type="str", required=True),
    key=dict(type="str", required=True, no_log=False),
    workspace=dict(type="str", default="default"),
    workspace_key_prefix=dict(type="str", no_log=False),
    encrypt=dict(type="bool", default=False),
    kms_key_id=dict(type="str", no_log=False),
)


def lock_target(params, dynamodb_table=None):
    """The LockTarget that LOCK_TARGET_SPEC's parameters name."""
    return LockTarget(
        params["bucket"],
        state_key(params["key"], params["workspace"], params["workspace_key_prefix"]),
        dynamodb_table=dynamodb_table,
        encrypt=params["encrypt"],
        kms_key_id=params["kms_key_id"],
        workspace=params["workspace"],
    )


def probe_result(module, s3, target):
    """Probe the bucket's conditional writes; fail naming the bucket when it does not honour them.

    ``module``: an AwsModule whose params hold ``operation``, ``info`` and ``who`` for the probe's lock.
    """
    if module.check_mode:
        return dict(changed=False, conditional_writes=None)
    lock = new_lock(target.path, module.params["operation"], info=module.params["info"], who=module.params["who"])
    try:
        refused = probe_conditional_writes(s3, target, lock)
    except AwsError as exc:
        module.fail_aws(exc, msg="Could not probe conditional writes in bucket %s" % target.bucket)
    if not refused:
        module.fail_json(msg="Bucket %s accepted a second PutObject with If-None-Match: * on one key: it does not "
                             "honour conditional writes, so use_lockfile cannot lock there." % target.bucket,
                         changed=False, conditional_writes=False)
    return dict(changed=False, conditional_writes=True)

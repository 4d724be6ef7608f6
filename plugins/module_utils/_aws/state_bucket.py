# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and converge a Terraform state bucket's settings. No Ansible imports.

Every setting is read, compared in a normalised form and written only when it differs, so a
second run makes no write call. A setting the caller leaves as None is not managed.
"""

import copy
import json
import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError, call, error_code

TLS_STATEMENT_SID = "DenyInsecureTransport"
NONCURRENT_RULE_ID = "tfstate-noncurrent-version-expiration"
PUBLIC_ACCESS_BLOCK_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


class BucketError(Exception):
    """Input or state that this module refuses to act on; nothing was changed."""


# What S3 answers PutBucketLogging when the target bucket cannot receive the logs.
LOGGING_TARGET_ERROR_CODES = ("InvalidTargetBucketForLogging", "CrossLocationLoggingProhibited")


def logging_target_prerequisites(target):
    """What S3 requires of ``target`` as a server access log target, as one sentence list."""
    return ("A log target bucket must be in the same region and account as the logged bucket; must let the logging "
            "service write: a bucket policy allowing s3:PutObject on arn:aws:s3:::%s/* (or the target prefix) to the "
            "service principal logging.s3.amazonaws.com (the only way when its Object Ownership is 'bucket owner "
            "enforced', the default for new buckets), or, with ACLs enabled, WRITE and READ_ACP for the Log Delivery "
            "group; must use SSE-S3 (AES256) default encryption, not SSE-KMS or DSSE-KMS; and must have neither Object "
            "Lock (with or without a default retention) nor Requester Pays." % target)


def explain_logging_target_refusal(exc, bucket, target, written):
    """Add to ``exc`` (an AwsError of PutBucketLogging) what S3 requires of a log target, in place.

    Only S3's refusals of the target (LOGGING_TARGET_ERROR_CODES) are explained; ``written`` lists the
    settings written earlier in this run, which the refusal leaves in place. Returns whether ``exc``
    was such a refusal.
    """
    if exc.code not in LOGGING_TARGET_ERROR_CODES:
        return False
    done = ("the settings written before it stay: %s" % ", ".join(written) if written
            else "nothing was changed")
    exc.message = ("%s. S3 refused bucket %s as the access log target of bucket %s; %s. %s"
                   % (exc.message.rstrip("."), target, bucket, done, logging_target_prerequisites(target)))
    exc.args = (exc.message,)
    return True


def bucket_name_problem(name):
    """Why ``name`` is not a valid general-purpose S3 bucket name, or None when it is."""
    if not isinstance(name, str) or not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not _BUCKET_NAME.match(name):
        return "may hold only lowercase letters, digits, dots and hyphens, and must begin and end with a letter or digit"
    if ".." in name:
        return "must not hold two adjacent dots"
    if _IP_ADDRESS.match(name):
        return "must not be formatted as an IP address"
    for prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(prefix):
            return "must not begin with %r" % prefix
    for suffix in ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"):
        if name.endswith(suffix):
            return "must not end with %r" % suffix
    return None


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def bucket_arn(name, region):
    return "arn:%s:s3:::%s" % (partition_of(region or "us-east-1"), name)


def tls_statement(name, region):
    arn = bucket_arn(name, region)
    return {
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, arn + "/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def _normalise(value):
    """Order-insensitive form of a policy fragment, for comparison only."""
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_normalise(item) for item in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


def merge_tls_statement(policy, name, region, require_tls):
    """The bucket policy with our TLS-only statement present or absent; other statements kept."""
    policy = copy.deepcopy(policy) if policy else {"Version": "2012-10-17", "Statement": []}
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    others = [stmt for stmt in statements if stmt.get("Sid") != TLS_STATEMENT_SID]
    if require_tls:
        mine = [stmt for stmt in statements if stmt.get("Sid") == TLS_STATEMENT_SID]
        wanted = tls_statement(name, region)
        keep = mine[0] if mine and _normalise(mine[0]) == _normalise(wanted) else wanted
        others.append(keep)
    policy["Statement"] = others
    policy.setdefault("Version", "2012-10-17")
    return policy if others else None


def policy_requires_tls(policy):
    for stmt in (policy or {}).get("Statement") or []:
        if stmt.get("Sid") == TLS_STATEMENT_SID and stmt.get("Effect") == "Deny":
            return True
    return False


def merge_noncurrent_rule(rules, days):
    """Lifecycle rules with our noncurrent-version expiry set to ``days`` (0 removes it)."""
    others = [rule for rule in (rules or []) if rule.get("ID") != NONCURRENT_RULE_ID]
    if days:
        others.append({
            "ID": NONCURRENT_RULE_ID,
            "Status": "Enabled",
            "Filter": {"Prefix": ""},
            "NoncurrentVersionExpiration": {"NoncurrentDays": int(days)},
        })
    return others


def noncurrent_days(rules):
    for rule in rules or []:
        if rule.get("ID") == NONCURRENT_RULE_ID and rule.get("Status") == "Enabled":
            return (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
    return None


def _lifecycle_key(rules):
    return sorted(json.dumps(rule, sort_keys=True) for rule in rules or [])


class BucketReader:
    """Reads one bucket's settings; each getter is a single API call."""

    def __init__(self, s3, name):
        self.s3 = s3
        self.name = name

    def _get(self, method, *missing_codes):
        return call(self.s3, method, resource=self.name, ignore_codes=missing_codes, Bucket=self.name)

    def region(self):
        """The bucket's region, or None when the bucket does not exist."""
        answer = self._get("get_bucket_location", "NoSuchBucket")
        if answer is None:
            return None
        return answer.get("LocationConstraint") or "us-east-1"

    def versioning(self):
        return self._get("get_bucket_versioning").get("Status") == "Enabled"

    def encryption(self):
        answer = self._get("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError")
        rules = ((answer or {}).get("ServerSideEncryptionConfiguration") or {}).get("Rules") or []
        if not rules:
            return None
        default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
        return {
            "algorithm": default.get("SSEAlgorithm"),
            "kms_key_id": default.get("KMSMasterKeyID"),
            "bucket_key_enabled": bool(rules[0].get("BucketKeyEnabled", False)),
        }

    def public_access_block(self):
        answer = self._get("get_public_access_block", "NoSuchPublicAccessBlockConfiguration")
        config = (answer or {}).get("PublicAccessBlockConfiguration")
        if config is None:
            return None
        return {key: bool(config.get(key, False)) for key in PUBLIC_ACCESS_BLOCK_KEYS}

    def policy(self):
        answer = self._get("get_bucket_policy", "NoSuchBucketPolicy")
        if not answer or not answer.get("Policy"):
            return None
        return json.loads(answer["Policy"])

    def object_lock_enabled(self):
        answer = self._get("get_object_lock_configuration", "ObjectLockConfigurationNotFoundError")
        return ((answer or {}).get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled") == "Enabled"

    def lifecycle_rules(self):
        answer = self._get("get_bucket_lifecycle_configuration", "NoSuchLifecycleConfiguration")
        return (answer or {}).get("Rules") or []

    def logging(self):
        enabled = self._get("get_bucket_logging").get("LoggingEnabled")
        if not enabled:
            return None
        return {"target_bucket": enabled.get("TargetBucket"), "target_prefix": enabled.get("TargetPrefix", "")}

    def tags(self):
        answer = self._get("get_bucket_tagging", "NoSuchTagSet")
        return {tag["Key"]: tag["Value"] for tag in (answer or {}).get("TagSet") or []}


def read_settings(s3, name, region):
    """Every managed setting of an existing bucket, in the module's vocabulary."""
    reader = BucketReader(s3, name)
    policy = reader.policy()
    rules = reader.lifecycle_rules()
    return {
        "name": name,
        "region": region,
        "arn": bucket_arn(name, region),
        "versioning": reader.versioning(),
        "encryption": reader.encryption(),
        "public_access_block": reader.public_access_block(),
        "policy": policy,
        "require_tls": policy_requires_tls(policy),
        "object_lock_enabled": reader.object_lock_enabled(),
        "noncurrent_version_expiration_days": noncurrent_days(rules),
        "lifecycle_rules": rules,
        "access_logging": reader.logging(),
        "tags": reader.tags(),
    }


def public(settings):
    """The settings as returned to the user (no raw lifecycle rules)."""
    result = dict(settings)
    result.pop("lifecycle_rules", None)
    return result


class BucketSpec:
    """What the caller wants; None in any field means "leave unmanaged"."""

    def __init__(self, name, region, versioning=None, encryption=None, kms_key_id=None, bucket_key_enabled=None,
                 public_access_block=None, require_tls=None, object_lock_enabled=None,
                 noncurrent_version_expiration_days=None, access_logging=None, tags=None, purge_tags=True):
        self.name = name
        self.region = region
        self.versioning = versioning
        self.encryption = encryption
        self.kms_key_id = kms_key_id
        self.bucket_key_enabled = bucket_key_enabled
        self.public_access_block = public_access_block
        self.require_tls = require_tls
        self.object_lock_enabled = object_lock_enabled
        self.noncurrent_version_expiration_days = noncurrent_version_expiration_days
        self.access_logging = access_logging
        self.tags = tags
        self.purge_tags = purge_tags

    def validate(self):
        problem = bucket_name_problem(self.name)
        if problem:
            raise BucketError("Invalid bucket name %r: it %s." % (self.name, problem))
        if self.kms_key_id and self.encryption != "aws:kms":
            raise BucketError("kms_key_id is set for bucket %s but encryption is %r: a KMS key needs encryption=aws:kms."
                              % (self.name, self.encryption))
        if self.bucket_key_enabled and self.encryption != "aws:kms":
            raise BucketError("bucket_key_enabled applies to encryption=aws:kms only (bucket %s)." % self.name)
        if self.object_lock_enabled and self.versioning is False:
            raise BucketError("Object Lock needs versioning: bucket %s cannot have object_lock_enabled=true with "
                              "versioning=false." % self.name)
        if self.noncurrent_version_expiration_days is not None and self.noncurrent_version_expiration_days < 0:
            raise BucketError("noncurrent_version_expiration_days must be 0 (remove the rule) or more.")

    def wanted_encryption(self):
        if self.encryption is None:
            return None
        return {
            "algorithm": self.encryption,
            "kms_key_id": self.kms_key_id if self.encryption == "aws:kms" else None,
            "bucket_key_enabled": bool(self.bucket_key_enabled) if self.encryption == "aws:kms" else False,
        }


def _encryption_matches(current, wanted):
    if current is None:
        return False
    if current["algorithm"] != wanted["algorithm"]:
        return False
    if wanted["algorithm"] == "aws:kms":
        # An unset key means the AWS-managed key, which S3 reports as no key id.
        if (current.get("kms_key_id") or None) != (wanted.get("kms_key_id") or None):
            return False
        return current.get("bucket_key_enabled", False) == wanted["bucket_key_enabled"]
    return True


class BucketConverger:
    """Plans and applies the changes that take a bucket from what it is to a BucketSpec."""

    def __init__(self, s3, spec, check_mode=False):
        self.s3 = s3
        self.spec = spec
        self.check_mode = check_mode
        self.changes = []  # names of the settings that changed, in order

    def _write(self, setting, method, **kwargs):
        self.changes.append(setting)
        if not self.check_mode:
            call(self.s3, method, resource=self.spec.name, Bucket=self.spec.name, **kwargs)

    def ensure_present(self):
        """Returns ``(changed, before, after)``; before is None for a new bucket."""
        spec = self.spec
        spec.validate()
        self._check_logging_target()
        region = BucketReader(self.s3, spec.name).region()
        if region is not None and region != spec.region:
            raise BucketError("Bucket %s already exists in region %s, not in %s: nothing was changed. Set region to %s "
                              "to manage it." % (spec.name, region, spec.region, region))
        if region is None:
            before = None
            current = self._create()
        else:
            current = read_settings(self.s3, spec.name, region)
            before = public(current)
            if spec.object_lock_enabled is False and current["object_lock_enabled"]:
                raise BucketError("Object Lock is enabled on bucket %s and can never be turned off (AWS allows no way "
                                  "back); remove object_lock_enabled=false or set it to true." % spec.name)
            if spec.object_lock_enabled and not current["object_lock_enabled"]:
                raise BucketError("Bucket %s exists without Object Lock, which this module sets only at creation. Use "
                                  "tfstate.s3_backend.bucket_object_lock to enable it on an existing bucket (irreversible;"
                                  " use_lockfile does not need it)." % spec.name)
            if spec.versioning is False and current["object_lock_enabled"]:
                raise BucketError("Bucket %s has Object Lock, so its versioning can never be suspended." % spec.name)
        self._converge(current)
        if self.check_mode:
            after = self._predicted(current)
        else:
            after = public(read_settings(self.s3, spec.name, spec.region)) if self.changes else public(current)
        return bool(self.changes), before, after

    def _create(self):
        spec = self.spec
        kwargs = {}
        if spec.region != "us-east-1":  # us-east-1 refuses its own name as LocationConstraint
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": spec.region}
        if spec.object_lock_enabled:
            kwargs["ObjectLockEnabledForBucket"] = True
        self._write("created", "create_bucket", **kwargs)
        if not self.check_mode:
            waiter = self.s3.get_waiter("bucket_exists")
            waiter.wait(Bucket=spec.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        return {
            "name": spec.name, "region": spec.region, "arn": bucket_arn(spec.name, spec.region),
            "versioning": bool(spec.object_lock_enabled), "encryption": None, "public_access_block": None,
            "policy": None, "require_tls": False, "object_lock_enabled": bool(spec.object_lock_enabled),
            "noncurrent_version_expiration_days": None, "lifecycle_rules": [], "access_logging": None, "tags": {},
        }

    def _check_logging_target(self):
        target = (self.spec.access_logging or {}).get("target_bucket")
        if not target:
            return
        reader = BucketReader(self.s3, target)
        target_region = reader.region()
        if target_region is None:
            raise BucketError("The access logging target bucket %s does not exist: nothing was changed on bucket %s."
                              % (target, self.spec.name))
        if target_region != self.spec.region:
            raise BucketError("The access logging target bucket %s is in region %s, bucket %s in %s: S3 delivers logs "
                              "only within one region. Nothing was changed. %s"
                              % (target, target_region, self.spec.name, self.spec.region,
                                 logging_target_prerequisites(target)))
        if reader.object_lock_enabled():
            raise BucketError("The access logging target bucket %s has Object Lock, which S3 does not allow for a log "
                              "target: nothing was changed on bucket %s." % (target, self.spec.name))

    def _converge(self, current):
        spec = self.spec
        # The public access block goes first so the bucket is never public for a moment.
        if spec.public_access_block is not None and current["public_access_block"] != spec.public_access_block:
            if any(spec.public_access_block.values()) or current["public_access_block"] is not None:
                self._write("public_access_block", "put_public_access_block",
                            PublicAccessBlockConfiguration=spec.public_access_block)
        if spec.versioning is not None and current["versioning"] != spec.versioning:
            self._write("versioning", "put_bucket_versioning",
                        VersioningConfiguration={"Status": "Enabled" if spec.versioning else "Suspended"})
        wanted = spec.wanted_encryption()
        if wanted is not None and not _encryption_matches(current["encryption"], wanted):
            default = {"SSEAlgorithm": wanted["algorithm"]}
            if wanted["kms_key_id"]:
                default["KMSMasterKeyID"] = wanted["kms_key_id"]
            rule = {"ApplyServerSideEncryptionByDefault": default, "BucketKeyEnabled": wanted["bucket_key_enabled"]}
            self._write("encryption", "put_bucket_encryption",
                        ServerSideEncryptionConfiguration={"Rules": [rule]})
        if spec.require_tls is not None:
            new_policy = merge_tls_statement(current["policy"], spec.name, spec.region, spec.require_tls)
            if _normalise(new_policy) != _normalise(current["policy"]):
                if new_policy is None:
                    self._write("policy", "delete_bucket_policy")
                else:
                    self._write("policy", "put_bucket_policy", Policy=json.dumps(new_policy))
                current = dict(current, policy=new_policy)
        if spec.noncurrent_version_expiration_days is not None:
            rules = merge_noncurrent_rule(current["lifecycle_rules"], spec.noncurrent_version_expiration_days)
            if _lifecycle_key(rules) != _lifecycle_key(current["lifecycle_rules"]):
                if rules:
                    self._write("lifecycle", "put_bucket_lifecycle_configuration",
                                LifecycleConfiguration={"Rules": rules})
                else:
                    self._write("lifecycle", "delete_bucket_lifecycle")
        if spec.access_logging is not None and current["access_logging"] != spec.access_logging:
            if spec.access_logging.get("target_bucket"):
                status = {"LoggingEnabled": {"TargetBucket": spec.access_logging["target_bucket"],
                                             "TargetPrefix": spec.access_logging.get("target_prefix") or ""}}
            else:
                status = {}
            if status or current["access_logging"] is not None:
                try:
                    self._write("access_logging", "put_bucket_logging", BucketLoggingStatus=status)
                except AwsError as exc:
                    explain_logging_target_refusal(exc, spec.name, spec.access_logging["target_bucket"],
                                                   self.changes[:-1])
                    raise
        if spec.tags is not None:
            wanted_tags = dict(spec.tags) if spec.purge_tags else dict(current["tags"], **spec.tags)
            if wanted_tags != current["tags"]:
                if wanted_tags:
                    tag_set = [{"Key": key, "Value": str(value)} for key, value in sorted(wanted_tags.items())]
                    self._write("tags", "put_bucket_tagging", Tagging={"TagSet": tag_set})
                else:
                    self._write("tags", "delete_bucket_tagging")

    def _predicted(self, current):
        """What check mode expects the bucket to look like after the changes."""
        spec = self.spec
        after = public(current)
        if spec.public_access_block is not None:
            after["public_access_block"] = spec.public_access_block
        if spec.versioning is not None:
            after["versioning"] = spec.versioning
        wanted = spec.wanted_encryption()
        if wanted is not None and not _encryption_matches(current["encryption"], wanted):
            after["encryption"] = wanted
        if spec.require_tls is not None:
            after["policy"] = merge_tls_statement(current["policy"], spec.name, spec.region, spec.require_tls)
            after["require_tls"] = spec.require_tls
        if spec.noncurrent_version_expiration_days is not None:
            after["noncurrent_version_expiration_days"] = spec.noncurrent_version_expiration_days or None
        if spec.access_logging is not None:
            after["access_logging"] = spec.access_logging if spec.access_logging.get("target_bucket") else None
        if spec.tags is not None:
            after["tags"] = dict(spec.tags) if spec.purge_tags else dict(current["tags"], **spec.tags)
        return after


def ensure_absent(s3, name, force=False, check_mode=False):
    """Delete the bucket; refuse a non-empty one unless ``force``. Returns ``(changed, before)``."""
    problem = bucket_name_problem(name)
    if problem:
        raise BucketError("Invalid bucket name %r: it %s." % (name, problem))
    region = BucketReader(s3, name).region()
    if region is None:
        return False, None
    before = public(read_settings(s3, name, region))
    page = call(s3, "list_object_versions", resource=name, Bucket=name, MaxKeys=1)
    non_empty = bool(page.get("Versions") or page.get("DeleteMarkers"))
    if non_empty and not force:
        raise BucketError("Bucket %s is not empty (it holds object versions, maybe Terraform state): nothing was "
                          "deleted. Set force=true to delete every object version and the bucket." % name)
    if check_mode:
        return True, before
    if non_empty:
        _delete_all_versions(s3, name)
    call(s3, "delete_bucket", resource=name, Bucket=name)
    return True, before


def _delete_all_versions(s3, name):
    paginator = s3.get_paginator("list_object_versions")
    try:
        for page in paginator.paginate(Bucket=name):
            objects = [{"Key": item["Key"], "VersionId": item["VersionId"]}
                       for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
            if not objects:
                continue
            answer = call(s3, "delete_objects", resource=name, Bucket=name, Delete={"Objects": objects, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise AwsError(first.get("Message", ""), operation="DeleteObjects",
                               resource="%s/%s" % (name, first.get("Key")), code=first.get("Code"))
    except AwsError:
        raise
    except Exception as exc:  # botocore errors raised by the paginator
        raise AwsError(str(exc), operation="ListObjectVersions", resource=name, code=error_code(exc))

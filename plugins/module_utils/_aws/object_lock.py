# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""S3 Object Lock on an existing bucket: read, plan and apply, refusing what AWS cannot undo.

Pure logic, no Ansible imports: functions take a boto3 S3 client and plain values.
Object Lock is optional hardening; Terraform's ``use_lockfile`` calls no Object Lock API.
Once on, Object Lock can never be turned off and versioning can never be suspended.
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import call

RETENTION_MODES = ("GOVERNANCE", "COMPLIANCE")
VERSIONING_ENABLED = "Enabled"
# GetBucketVersioning has no Status for a bucket that never had versioning.
VERSIONING_NEVER_ENABLED = "Disabled"


class ObjectLockRefused(ValueError):
    """A request this code refuses before changing anything; the message says why."""


def normalise_retention(retention):
    """A default retention as ``{"mode", "days", "years"}`` (the unused period None), or None.

    Accepts the module's option or the API's ``DefaultRetention`` (``Mode``/``Days``/``Years``;
    moto sends the unused period as 0). Raises ObjectLockRefused when it is not exactly one
    positive period with a known mode.
    """
    if not retention:
        return None
    mode = retention.get("mode", retention.get("Mode"))
    days = retention.get("days", retention.get("Days")) or None
    years = retention.get("years", retention.get("Years")) or None
    if mode not in RETENTION_MODES:
        raise ObjectLockRefused("default retention mode must be one of %s, not %r" % (", ".join(RETENTION_MODES), mode))
    if (days is None) == (years is None):
        raise ObjectLockRefused("a default retention needs exactly one of days or years")
    period = days if days is not None else years
    if int(period) < 1:
        raise ObjectLockRefused("a default retention period must be at least 1, not %s" % period)
    return {"mode": mode, "days": int(days) if days else None, "years": int(years) if years else None}


def read_configuration(s3, bucket):
    """The bucket's versioning status and Object Lock configuration, normalised."""
    resource = "bucket %s" % bucket
    versioning = call(s3, "get_bucket_versioning", resource=resource, Bucket=bucket)
    answer = call(s3, "get_object_lock_configuration", resource=resource,
                  ignore_codes=("ObjectLockConfigurationNotFoundError",), Bucket=bucket)
    config = (answer or {}).get("ObjectLockConfiguration") or {}
    rule = config.get("Rule") or {}
    return {
        "versioning": versioning.get("Status") or VERSIONING_NEVER_ENABLED,
        "object_lock_enabled": config.get("ObjectLockEnabled") == "Enabled",
        "default_retention": normalise_retention(rule.get("DefaultRetention")),
    }


def plan_object_lock(current, default_retention=None, remove_default_retention=False,
                     enable_versioning=False, allow_compliance_mode=False):
    """The configuration to reach from ``current`` (as read_configuration returns it).

    ``default_retention`` None leaves the current default retention alone. Raises
    ObjectLockRefused, before anything is written, for COMPLIANCE without opt-in and for a
    bucket whose versioning is not Enabled when ``enable_versioning`` is false.
    """
    if default_retention and remove_default_retention:
        raise ObjectLockRefused("default_retention and remove_default_retention exclude each other")
    wanted_retention = normalise_retention(default_retention)
    if wanted_retention and wanted_retention["mode"] == "COMPLIANCE" and not allow_compliance_mode:
        current_retention = current["default_retention"] or {}
        if wanted_retention != current_retention:
            raise ObjectLockRefused(
                "COMPLIANCE default retention makes every new object version, .tflock files included, "
                "undeletable by anyone (root too) until it expires; set allow_compliance_mode: true to ask for it "
                "knowingly, or use mode GOVERNANCE")
    desired = dict(current)
    desired["object_lock_enabled"] = True
    if remove_default_retention:
        desired["default_retention"] = None
    elif wanted_retention:
        desired["default_retention"] = wanted_retention
    if desired != current and current["versioning"] != VERSIONING_ENABLED:
        if not enable_versioning:
            raise ObjectLockRefused(
                "Object Lock needs versioning Enabled and it is %s; nothing was changed. Set enable_versioning: true "
                "to enable it first (versioning can then never be suspended)" % current["versioning"])
        desired["versioning"] = VERSIONING_ENABLED
    return desired


def lock_configuration_request(configuration):
    """The PutObjectLockConfiguration ``ObjectLockConfiguration`` for a normalised configuration."""
    request = {"ObjectLockEnabled": "Enabled"}
    retention = configuration.get("default_retention")
    if retention:
        period = {"Days": retention["days"]} if retention["days"] else {"Years": retention["years"]}
        period["Mode"] = retention["mode"]
        request["Rule"] = {"DefaultRetention": period}
    return request


def ensure_object_lock(s3, bucket, default_retention=None, remove_default_retention=False,
                       enable_versioning=False, allow_compliance_mode=False, check_mode=False):
    """Enable Object Lock (and the default retention asked for) on an existing bucket.

    Returns ``(changed, before, after)``, both configurations as read_configuration gives them.
    """
    before = read_configuration(s3, bucket)
    after = plan_object_lock(before, default_retention, remove_default_retention, enable_versioning,
                             allow_compliance_mode)
    if after == before:
        return False, before, before
    if check_mode:
        return True, before, after
    resource = "bucket %s" % bucket
    if before["versioning"] != VERSIONING_ENABLED:
        call(s3, "put_bucket_versioning", resource=resource, Bucket=bucket,
             VersioningConfiguration={"Status": VERSIONING_ENABLED})
    call(s3, "put_object_lock_configuration", resource=resource, Bucket=bucket,
         ObjectLockConfiguration=lock_configuration_request(after))
    return True, before, read_configuration(s3, bucket)


def ensure_object_lock_absent(s3, bucket):
    """Object Lock off: a no-op when it is off, else a refusal (AWS cannot turn it off).

    Returns ``(False, configuration)``.
    """
    current = read_configuration(s3, bucket)
    if current["object_lock_enabled"]:
        raise ObjectLockRefused(
            "Object Lock is enabled and AWS cannot turn it off (nor suspend the bucket's versioning); "
            "only its default retention can be removed (remove_default_retention: true)")
    return False, current


def result_of(configuration):
    """The task result of a bucket's Object Lock configuration (bucket_object_lock's and the cut-over's)."""
    return {
        "object_lock": {
            "enabled": configuration["object_lock_enabled"],
            "default_retention": configuration["default_retention"],
        },
        "versioning": configuration["versioning"],
    }

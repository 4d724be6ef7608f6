#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: bucket_object_lock
short_description: Enable S3 Object Lock on an existing Terraform state bucket
version_added: 0.1.0
description:
  - Enables S3 Object Lock on an existing bucket (PutObjectLockConfiguration with C(ObjectLockEnabled=Enabled)),
    optionally with a default retention, or removes that default retention.
  - B(This is irreversible.) AWS can never turn Object Lock off again, and the bucket's versioning can then never
    be suspended.
  - B(Terraform does not need it.) C(use_lockfile) locks with a conditional PutObject of the C(.tflock) object and
    calls no Object Lock API; it works on any bucket that honours conditional writes. Treat Object Lock as optional
    hardening of the state history that you ask for knowingly.
  - A bucket with Object Lock cannot be the target bucket of S3 server access logging; do not enable it on a
    bucket that receives access logs.
  - A default retention applies to every new object version, C(.tflock) lock files included. Each lock taken by
    Terraform writes a new C(.tflock) version that becomes undeletable until its retention expires (in
    V(COMPLIANCE) mode not even by the account root user; in V(GOVERNANCE) mode only with
    C(s3:BypassGovernanceRetention)). Terraform's release is a plain DeleteObject, which only adds a delete
    marker, so locking keeps working, but lock and state versions pile up and cannot be expired by a lifecycle
    rule before their retention ends.
  - Terraform 1.10.0 failed to lock on Object Lock buckets (a missing checksum header); use Terraform >= 1.10.1.
  - Object Lock needs versioning V(Enabled). Without O(enable_versioning=true) the module fails on a bucket
    without it and changes nothing.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  bucket:
    description:
      - Name of the existing bucket.
    type: str
    required: true
    aliases: [name]
  state:
    description:
      - V(present) enables Object Lock (a no-op when it is on) and manages the default retention as asked.
      - V(absent) only succeeds when Object Lock is off; on a bucket where it is on, the module fails with the
        reason, since AWS cannot turn Object Lock off.
    type: str
    choices: [present, absent]
    default: present
  enable_versioning:
    description:
      - Enable versioning first when it is not V(Enabled). Versioning can never be suspended afterwards.
      - When V(false) and versioning is not V(Enabled), the module fails and changes nothing.
    type: bool
    default: false
  default_retention:
    description:
      - The bucket's default retention for new object versions. Unset leaves the current one alone.
      - Mutually exclusive with O(remove_default_retention).
    type: dict
    suboptions:
      mode:
        description:
          - V(GOVERNANCE) can be bypassed by principals with C(s3:BypassGovernanceRetention).
          - V(COMPLIANCE) cannot be bypassed by anyone, root included; it needs O(allow_compliance_mode=true).
        type: str
        choices: [GOVERNANCE, COMPLIANCE]
        required: true
      days:
        description:
          - Retention period in days. Exactly one of O(default_retention.days) and O(default_retention.years).
        type: int
      years:
        description:
          - Retention period in years. Exactly one of O(default_retention.days) and O(default_retention.years).
        type: int
  remove_default_retention:
    description:
      - Remove the bucket's default retention (Object Lock itself stays on). Versions written before keep
        their retention.
    type: bool
    default: false
  allow_compliance_mode:
    description:
      - Opt in to a V(COMPLIANCE) default retention. Without it such a request fails before anything is changed.
    type: bool
    default: false
extends_documentation_fragment:
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description: Reads the bucket and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Before and after of the versioning status and the Object Lock configuration.
  platform:
    platforms: aws
    support: full
    description: Talks to the Amazon S3 API (or an S3-compatible endpoint).
notes:
  - "Permissions: C(s3:GetBucketVersioning), C(s3:GetBucketObjectLockConfiguration),
    C(s3:PutBucketObjectLockConfiguration), and C(s3:PutBucketVersioning) with O(enable_versioning)."
seealso:
  - name: Enabling S3 Object Lock
    description: AWS's documentation of Object Lock on existing buckets.
    link: https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-configure.html
"""

EXAMPLES = r"""
- name: Enable Object Lock on the state bucket, enabling versioning first
  tfstate.s3_backend.bucket_object_lock:
    bucket: acme-terraform-state
    enable_versioning: true

- name: Keep every state and lock version for 30 days (GOVERNANCE can be bypassed by admins)
  tfstate.s3_backend.bucket_object_lock:
    bucket: acme-terraform-state
    default_retention:
      mode: GOVERNANCE
      days: 30

- name: Remove the default retention again (Object Lock stays on)
  tfstate.s3_backend.bucket_object_lock:
    bucket: acme-terraform-state
    remove_default_retention: true
"""

RETURN = r"""
object_lock:
  description: The bucket's Object Lock configuration after the run (in check mode, the one that would result).
  returned: always
  type: dict
  contains:
    enabled:
      description: Whether Object Lock is enabled.
      type: bool
      sample: true
    default_retention:
      description: The default retention, or V(null) when there is none.
      type: dict
      sample: {"mode": "GOVERNANCE", "days": 30, "years": null}
versioning:
  description: The bucket's versioning status after the run (V(Enabled), V(Suspended) or V(Disabled)).
  returned: always
  type: str
  sample: Enabled
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.object_lock import (
    ObjectLockRefused,
    ensure_object_lock,
    ensure_object_lock_absent,
    result_of,
)


def main():
    module = AwsModule(
        argument_spec=dict(
            bucket=dict(type="str", required=True, aliases=["name"]),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            enable_versioning=dict(type="bool", default=False),
            default_retention=dict(
                type="dict",
                options=dict(
                    mode=dict(type="str", choices=["GOVERNANCE", "COMPLIANCE"], required=True),
                    days=dict(type="int"),
                    years=dict(type="int"),
                ),
                mutually_exclusive=[["days", "years"]],
                required_one_of=[["days", "years"]],
            ),
            remove_default_retention=dict(type="bool", default=False),
            allow_compliance_mode=dict(type="bool", default=False),
        ),
        mutually_exclusive=[["default_retention", "remove_default_retention"]],
        supports_check_mode=True,
    )
    params = module.params
    s3 = module.client("s3")
    try:
        if params["state"] == "absent":
            changed, before = ensure_object_lock_absent(s3, params["bucket"])
            after = before
        else:
            changed, before, after = ensure_object_lock(
                s3, params["bucket"],
                default_retention=params["default_retention"],
                remove_default_retention=params["remove_default_retention"],
                enable_versioning=params["enable_versioning"],
                allow_compliance_mode=params["allow_compliance_mode"],
                check_mode=module.check_mode,
            )
    except ObjectLockRefused as exc:
        module.fail_json(msg="bucket %s: %s" % (params["bucket"], exc), changed=False)
    except AwsError as exc:
        module.fail_aws(exc)
    result = result_of(after)
    module.exit_json(changed=changed, diff={"before": result_of(before), "after": result}, **result)


if __name__ == "__main__":
    main()

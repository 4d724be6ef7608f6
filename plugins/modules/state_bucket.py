#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
---
module: state_bucket
short_description: Manage a hardened S3 bucket for Terraform and OpenTofu state
version_added: 0.1.0
description:
  - Creates, converges or deletes an S3 bucket that holds Terraform or OpenTofu state.
  - Manages versioning, default encryption, the four public access block settings, a TLS-only statement in the
    bucket policy (other statements are kept), Object Lock at creation, a noncurrent-version expiry rule, server
    access logging and tags.
  - An option left unset is left unmanaged. Each setting is read and compared before it is written, so a run that
    changes nothing makes no write call.
  - S3 native locking (C(use_lockfile = true)) needs none of the optional settings; versioning is what Terraform's
    documentation recommends for state buckets.
author:
  - tfstate.s3_backend maintainers (@tfstate)
options:
  name:
    description:
      - The bucket name. It is checked against S3's naming rules before any call is made.
    type: str
    required: true
    aliases: [bucket]
  state:
    description:
      - V(present) creates or converges the bucket; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  versioning:
    description:
      - Whether versioning is enabled (V(true)) or suspended (V(false)).
      - A bucket with Object Lock can never have versioning suspended.
    type: bool
  encryption:
    description:
      - Default server-side encryption of new objects.
    type: str
    choices: [AES256, aws:kms]
  kms_key_id:
    description:
      - The KMS key ID or ARN for O(encryption=aws:kms). Unset means the AWS-managed key.
      - Only valid with O(encryption=aws:kms).
      - The alias C(encryption_key_id) is M(amazon.aws.s3_bucket)'s name for this option.
    type: str
    aliases: [encryption_key_id]
  bucket_key_enabled:
    description:
      - Whether S3 Bucket Keys reduce KMS calls. Only valid with O(encryption=aws:kms).
    type: bool
  public_access_block:
    description:
      - The bucket's public access block. Each setting defaults to V(true) when this option is given.
      - The alias C(public_access) is M(amazon.aws.s3_bucket)'s name for this option, with the same four settings.
        Unlike there, a setting left out is V(true) here, not V(false) - a state bucket is
        never public - so a task copied from M(amazon.aws.s3_bucket) that lists only some settings blocks more.
    type: dict
    aliases: [public_access]
    suboptions:
      block_public_acls:
        description: Block public ACLs.
        type: bool
        default: true
      ignore_public_acls:
        description: Ignore public ACLs.
        type: bool
        default: true
      block_public_policy:
        description: Block public bucket policies.
        type: bool
        default: true
      restrict_public_buckets:
        description: Restrict access to buckets with public policies.
        type: bool
        default: true
  require_tls:
    description:
      - V(true) merges a statement with Sid C(DenyInsecureTransport) into the bucket policy that denies every request
        made without TLS; V(false) removes that statement. Other statements are never touched.
    type: bool
  object_lock_enabled:
    description:
      - Create the bucket with Object Lock enabled (this also enables versioning).
      - Object Lock can never be turned off, so V(false) on a bucket that has it fails with the reason.
      - On an existing bucket without Object Lock, V(true) fails and points to M(tfstate.s3_backend.bucket_object_lock).
      - C(use_lockfile) does not need Object Lock.
    type: bool
  noncurrent_version_expiration_days:
    description:
      - Expire noncurrent object versions (old states, old lock versions) after this many days, with a lifecycle rule
        of ID C(tfstate-noncurrent-version-expiration). Other lifecycle rules are kept.
      - V(0) removes that rule.
    type: int
  access_logging:
    description:
      - Server access logging to a target bucket, which must exist already.
      - "S3 accepts a target bucket only if it is in the same region and account as this bucket; lets the logging
        service write - a bucket policy that allows C(s3:PutObject) on the target (or its prefix) to the service
        principal C(logging.s3.amazonaws.com), the only way when its Object Ownership is C(BucketOwnerEnforced), the
        default for new buckets, or with ACLs enabled WRITE and READ_ACP for the Log Delivery group; uses SSE-S3
        (V(AES256)) default encryption, not SSE-KMS or DSSE-KMS; and has neither Object Lock nor Requester Pays."
      - A missing target, one in another region or one with Object Lock is refused before any change. When S3 refuses
        the target (C(InvalidTargetBucketForLogging), C(CrossLocationLoggingProhibited)), the error lists these
        prerequisites and the settings written before the refusal; a new bucket stays created.
    type: dict
    suboptions:
      enabled:
        description: V(false) turns logging off.
        type: bool
        default: true
      target_bucket:
        description: The bucket that receives the logs. Required when O(access_logging.enabled=true).
        type: str
      target_prefix:
        description: The key prefix of the log objects.
        type: str
        default: ""
  tags:
    description:
      - Tags of the bucket.
    type: dict
  purge_tags:
    description:
      - With O(tags) given, remove tags that are not listed.
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), delete every object version (Terraform state included) and then the bucket.
      - Without it, a bucket that holds any object version is not deleted.
    type: bool
    default: false
extends_documentation_fragment:
  - tfstate.s3_backend.aws
attributes:
  check_mode:
    support: full
    description: Reports what would change without any write call.
  diff_mode:
    support: full
    description: Shows the managed settings before and after.
  platform:
    platforms: aws
    support: full
    description: Talks to the S3 API of AWS or of an S3-compatible endpoint.
notes:
  - The bucket is created in O(region); an existing bucket in another region is refused, not moved.
seealso:
  - module: tfstate.s3_backend.bucket_object_lock
  - name: Terraform S3 backend
    description: The backend's settings, including use_lockfile.
    link: https://developer.hashicorp.com/terraform/language/backend/s3
  - name: Enabling Amazon S3 server access logging
    description: The target bucket's prerequisites and the bucket policy for the logging service.
    link: https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
"""

EXAMPLES = r"""
- name: Create a hardened state bucket
  tfstate.s3_backend.state_bucket:
    name: acme-terraform-state
    region: eu-west-1
    versioning: true
    encryption: AES256
    public_access_block: {}
    require_tls: true
    noncurrent_version_expiration_days: 90
    tags:
      owner: platform

- name: Encrypt state with a customer-managed KMS key and log access
  tfstate.s3_backend.state_bucket:
    name: acme-terraform-state
    region: eu-west-1
    encryption: aws:kms
    kms_key_id: arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab
    bucket_key_enabled: true
    access_logging:
      target_bucket: acme-access-logs
      target_prefix: s3/acme-terraform-state/

- name: Set AWS options once for every module of the collection
  module_defaults:
    group/tfstate.s3_backend.aws:
      profile: prod
      region: eu-west-1
  block:
    - name: Create the bucket with Object Lock (irreversible)
      tfstate.s3_backend.state_bucket:
        name: acme-terraform-state-locked
        versioning: true
        object_lock_enabled: true

- name: Delete an empty bucket
  tfstate.s3_backend.state_bucket:
    name: acme-terraform-state-old
    state: absent
"""

RETURN = r"""
bucket:
  description:
    - The bucket's settings as read back from S3 after the changes (predicted in check mode).
    - Empty after O(state=absent).
  returned: always
  type: dict
  contains:
    name:
      description: The bucket name.
      type: str
      sample: acme-terraform-state
    region:
      description: The bucket's region.
      type: str
      sample: eu-west-1
    arn:
      description: The bucket's ARN.
      type: str
      sample: arn:aws:s3:::acme-terraform-state
    versioning:
      description: Whether versioning is enabled.
      type: bool
      sample: true
    encryption:
      description: Default encryption, or null when none is configured.
      type: dict
      sample: {"algorithm": "AES256", "kms_key_id": null, "bucket_key_enabled": false}
    public_access_block:
      description: The public access block in S3's names, or null when none is set.
      type: dict
      sample: {"BlockPublicAcls": true, "IgnorePublicAcls": true, "BlockPublicPolicy": true,
               "RestrictPublicBuckets": true}
    policy:
      description: The bucket policy document, or null.
      type: dict
    require_tls:
      description: Whether the policy holds the TLS-only statement.
      type: bool
      sample: true
    object_lock_enabled:
      description: Whether Object Lock is enabled.
      type: bool
      sample: false
    noncurrent_version_expiration_days:
      description: Days after which noncurrent versions expire, or null.
      type: int
      sample: 90
    access_logging:
      description: Server access logging target, or null.
      type: dict
      sample: {"target_bucket": "acme-access-logs", "target_prefix": "s3/"}
    tags:
      description: The bucket's tags.
      type: dict
      sample: {"owner": "platform"}
changes:
  description: The settings that were (or in check mode would be) changed, in the order they were written.
  returned: always
  type: list
  elements: str
  sample: ["created", "public_access_block", "versioning", "encryption", "policy"]
"""

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AwsModule
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.state_bucket import (
    BucketConverger,
    BucketError,
    BucketSpec,
    ensure_absent,
)

_PAB_NAMES = (
    ("block_public_acls", "BlockPublicAcls"),
    ("ignore_public_acls", "IgnorePublicAcls"),
    ("block_public_policy", "BlockPublicPolicy"),
    ("restrict_public_buckets", "RestrictPublicBuckets"),
)


def spec_from_params(params, region):
    pab = params["public_access_block"]
    logging = params["access_logging"]
    if logging is not None:
        logging = ({"target_bucket": logging["target_bucket"], "target_prefix": logging["target_prefix"] or ""}
                   if logging["enabled"] else {})
    return BucketSpec(
        name=params["name"],
        region=region,
        versioning=params["versioning"],
        encryption=params["encryption"],
        kms_key_id=params["kms_key_id"],
        bucket_key_enabled=params["bucket_key_enabled"],
        public_access_block=None if pab is None else {aws: bool(pab[ours]) for ours, aws in _PAB_NAMES},
        require_tls=params["require_tls"],
        object_lock_enabled=params["object_lock_enabled"],
        noncurrent_version_expiration_days=params["noncurrent_version_expiration_days"],
        access_logging=logging,
        tags=params["tags"],
        purge_tags=params["purge_tags"],
    )


def main():
    argument_spec = dict(
        name=dict(type="str", required=True, aliases=["bucket"]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        versioning=dict(type="bool"),
        encryption=dict(type="str", choices=["AES256", "aws:kms"]),
        kms_key_id=dict(type="str", no_log=False, aliases=["encryption_key_id"]),
        bucket_key_enabled=dict(type="bool"),
        public_access_block=dict(type="dict", aliases=["public_access"], options=dict(
            block_public_acls=dict(type="bool", default=True),
            ignore_public_acls=dict(type="bool", default=True),
            block_public_policy=dict(type="bool", default=True),
            restrict_public_buckets=dict(type="bool", default=True),
        )),
        require_tls=dict(type="bool"),
        object_lock_enabled=dict(type="bool"),
        noncurrent_version_expiration_days=dict(type="int"),
        access_logging=dict(type="dict", options=dict(
            enabled=dict(type="bool", default=True),
            target_bucket=dict(type="str"),
            target_prefix=dict(type="str", default=""),
        ), required_if=[("enabled", True, ["target_bucket"])]),
        tags=dict(type="dict"),
        purge_tags=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
    )
    module = AwsModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    try:
        s3 = module.client("s3")
        if params["state"] == "absent":
            changed, before = ensure_absent(s3, params["name"], force=params["force"], check_mode=module.check_mode)
            result = dict(changed=changed, bucket={}, changes=["deleted"] if changed else [])
            after = None
        else:
            region = module.connection.region or "us-east-1"
            converger = BucketConverger(s3, spec_from_params(params, region), check_mode=module.check_mode)
            changed, before, after = converger.ensure_present()
            result = dict(changed=changed, bucket=after, changes=converger.changes)
    except BucketError as exc:
        module.fail_json(msg=str(exc), changed=False)
    except AwsError as exc:
        module.fail_aws(exc, msg="Bucket %s" % params["name"])
    if module.module._diff:
        result["diff"] = dict(before=before or {}, after=after or {},
                              before_header="s3://%s" % params["name"], after_header="s3://%s" % params["name"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()

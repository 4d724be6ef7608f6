"""A moto server that answers like AWS where moto 5.2 is stricter than AWS.

moto refuses PutObjectLockConfiguration on a bucket that holds any object ("InvalidBucket:
Bucket needs to be empty"); AWS has allowed enabling Object Lock on existing, non-empty buckets
since November 2023 (versioning must still be Enabled, which moto checks first, as AWS does).
moto also evaluates a bucket policy's conditions wrongly: it knows no ``Bool`` operator (so
``Deny ... Bool aws:SecureTransport false`` denies every request, TLS or not) and treats a
statement whose condition does not match as a Deny. This launcher lifts the Object Lock check,
evaluates ``aws:SecureTransport`` from the scheme it serves (HTTPS when given ``-c``/``-k``), and
then runs moto_server unchanged:

    python tests/testbed/moto_aws_faithful.py -H 127.0.0.1 -p PORT    # moto_server's arguments

From Python: ``start_faithful_server(log_path=...)`` gives a ``MotoServer``.
"""

import os
import sys


def allow_object_lock_on_non_empty_buckets():
    """Patch moto's S3 backend so PutObjectLockConfiguration works on a non-empty bucket."""
    from moto.s3 import models

    original = models.S3Backend.put_object_lock_configuration
    if getattr(original, "faithful_to_aws", False):
        return

    def put_object_lock_configuration(self, bucket_name, lock_enabled, mode=None, days=None, years=None):
        try:
            return original(self, bucket_name, lock_enabled, mode=mode, days=days, years=years)
        except models.BucketNeedsToBeNew:
            # Raised after moto's versioning check passed: apply the configuration as moto
            # does for an empty bucket (same attributes, same order).
            bucket = self.get_bucket(bucket_name)
            if lock_enabled:
                bucket.object_lock_enabled = True
                bucket.versioning_status = "Enabled"
            bucket.default_lock_mode = mode
            bucket.default_lock_days = days
            bucket.default_lock_years = years
            return None

    put_object_lock_configuration.faithful_to_aws = True
    models.S3Backend.put_object_lock_configuration = put_object_lock_configuration


def evaluate_conditions_like_aws(secure_transport):
    """Bucket policies: Bool conditions work, aws:SecureTransport is known, unmatched = no effect."""
    from moto.iam import access_control, policy_conditions
    from moto.s3 import models

    if getattr(models.FakeBucket.get_permission, "faithful_to_aws", False):
        return
    policy_conditions.CONDITION_OPERATIONS["Bool"] = (
        lambda expected, actual: str(actual).lower() in [
            str(item).lower() for item in (expected if isinstance(expected, list) else [expected])])
    context = {"aws:SecureTransport": "true" if secure_transport else "false"}
    statement_class = access_control.IAMPolicyStatement
    original_is_action_permitted = statement_class.is_action_permitted

    def is_action_permitted(self, action, resource="*", principal=None, incoming_condition_values=None):
        values = dict(context, **(incoming_condition_values or {}))
        if self._statement.get("Condition") and not self._check_conditions(values):
            return access_control.PermissionResult.NEUTRAL  # AWS: a statement that does not apply
        return original_is_action_permitted(self, action, resource, principal, values)

    def get_permission(self, action, resource):
        if self.policy is None:
            return access_control.PermissionResult.NEUTRAL
        return access_control.IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values=context)

    get_permission.faithful_to_aws = True
    statement_class.is_action_permitted = is_action_permitted
    models.FakeBucket.get_permission = get_permission


def start_faithful_server(log_path=None, **kwargs):
    """Start this launcher as a MotoServer (same stop/reset/url as the plain one)."""
    from tests.testbed.moto_server import MotoServer  # imported here: the launcher itself runs without it

    return MotoServer.start(log_path=log_path, command=[sys.executable, os.path.abspath(__file__)], **kwargs)


def main(argv=None):
    argv = argv if argv is not None else sys.argv[1:]
    allow_object_lock_on_non_empty_buckets()
    evaluate_conditions_like_aws(secure_transport="-c" in argv or "--ssl-cert" in argv)
    from moto.server import main as moto_main

    return moto_main(argv)


if __name__ == "__main__":
    sys.exit(main())

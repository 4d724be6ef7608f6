"""The explanation added to S3's refusal of an access log target (module_utils/state_bucket.py)."""

from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils.state_bucket import (
    explain_logging_target_refusal,
)


def test_cross_region_refusal_is_explained_with_nothing_changed():
    exc = AwsError("Cross S3 location logging not allowed.", operation="PutBucketLogging", resource="state",
                   code="CrossLocationLoggingProhibited", status=403)
    assert explain_logging_target_refusal(exc, "state", "logs", []) is True
    text = str(exc)
    assert text.startswith("PutBucketLogging on state failed (CrossLocationLoggingProhibited): "
                           "Cross S3 location logging not allowed. S3 refused bucket logs as the access log target "
                           "of bucket state; nothing was changed. A log target bucket must be in the same region")
    assert exc.code == "CrossLocationLoggingProhibited" and exc.status == 403


def test_other_errors_are_left_as_they_are():
    exc = AwsError("Access Denied", operation="PutBucketLogging", resource="state", code="AccessDenied", status=403)
    assert explain_logging_target_refusal(exc, "state", "logs", ["created"]) is False
    assert str(exc) == "PutBucketLogging on state failed (AccessDenied): Access Denied"

"""module_utils/state_bucket.py's pure helpers: names, ARNs, the TLS statement, the lifecycle rule, and the
explanation added to S3's refusal of an access log target."""

import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import state_bucket as sb
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.state_bucket import explain_logging_target_refusal


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


@pytest.mark.parametrize("name, problem", [
    ("acme-tfstate", None), ("a.b-1", None),
    ("ab", "must be 3 to 63 characters long"), ("x" * 64, "must be 3 to 63 characters long"),
    ("Acme", "may hold only lowercase"), ("-acme", "may hold only lowercase"), ("acme..state", "two adjacent dots"),
    ("192.168.1.2", "formatted as an IP address"), ("xn--acme", "must not begin with 'xn--'"),
    ("acme-s3alias", "must not end with '-s3alias'"),
])
def test_bucket_name_problem_names_the_rule_broken(name, problem):
    found = sb.bucket_name_problem(name)
    assert found is None if problem is None else problem in found, found


def test_arns_follow_the_region_partition():
    assert sb.bucket_arn("b", "eu-west-1") == "arn:aws:s3:::b"
    assert sb.bucket_arn("b", "cn-north-1") == "arn:aws-cn:s3:::b"
    assert sb.bucket_arn("b", "us-gov-west-1") == "arn:aws-us-gov:s3:::b"
    assert sb.bucket_arn("b", None) == "arn:aws:s3:::b"


def test_tls_statement_is_added_kept_and_removed_without_touching_the_others():
    other = {"Sid": "Theirs", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:GetObject",
             "Resource": "arn:aws:s3:::b/*"}
    added = sb.merge_tls_statement({"Version": "2012-10-17", "Statement": [other]}, "b", "eu-west-1", True)
    assert added["Statement"][0] == other and sb.policy_requires_tls(added)
    mine = added["Statement"][1]
    assert mine["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    # the same statement with its resources in the other order is kept as it is (no rewrite)
    reordered = dict(mine, Resource=list(reversed(mine["Resource"])))
    kept = sb.merge_tls_statement({"Statement": [other, reordered]}, "b", "eu-west-1", True)
    assert kept["Statement"][1] is not reordered and kept["Statement"][1] == reordered
    removed = sb.merge_tls_statement(added, "b", "eu-west-1", False)
    assert removed["Statement"] == [other] and not sb.policy_requires_tls(removed)
    assert sb.merge_tls_statement({"Statement": [mine]}, "b", "eu-west-1", False) is None


def test_noncurrent_rule_is_set_read_back_and_removed():
    theirs = {"ID": "theirs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 3}}
    rules = sb.merge_noncurrent_rule([theirs], 30)
    assert rules[0] == theirs and sb.noncurrent_days(rules) == 30
    assert sb.noncurrent_days(sb.merge_noncurrent_rule(rules, 7)) == 7
    assert sb.merge_noncurrent_rule(rules, 0) == [theirs] and sb.noncurrent_days([theirs]) is None

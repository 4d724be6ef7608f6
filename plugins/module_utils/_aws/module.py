# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible side of the AWS layer: the shared connection options and a thin module wrapper."""

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import HAS_BOTO3, AwsConnection, AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.identity import (
    IdentityError,
    describe_identity,
    effective_identity,
)

# amazon.aws's names, aliases and environment fallbacks, so users' habits carry over.
# Keys and profile fall through to boto3's own chain when unset.
AWS_ARGUMENT_SPEC = dict(
    access_key=dict(type="str", aliases=["aws_access_key_id", "aws_access_key", "ec2_access_key"], no_log=False),
    secret_key=dict(type="str", aliases=["aws_secret_access_key", "aws_secret_key", "ec2_secret_key"], no_log=True),
    session_token=dict(type="str", aliases=["aws_session_token", "security_token", "aws_security_token", "access_token"],
                       no_log=True),
    profile=dict(type="str", aliases=["aws_profile"]),
    region=dict(type="str", aliases=["aws_region", "ec2_region"],
                fallback=(env_fallback, ["AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"])),
    endpoint_url=dict(type="str", aliases=["aws_endpoint_url", "ec2_url", "s3_url"],
                      fallback=(env_fallback, ["AWS_URL", "EC2_URL"])),
    validate_certs=dict(type="bool", default=True),
    aws_ca_bundle=dict(type="path"),
    aws_config=dict(type="dict"),
    connect_timeout=dict(type="float"),
    read_timeout=dict(type="float"),
    max_attempts=dict(type="int"),
    retry_budget=dict(type="float"),
)


class AwsModule:
    """An AnsibleModule with the AWS options added and a lazily built connection."""

    def __init__(self, argument_spec, **kwargs):
        spec = dict(AWS_ARGUMENT_SPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        for name in ("connect_timeout", "read_timeout", "retry_budget"):
            if self.params.get(name) is not None and self.params[name] <= 0:
                self.module.fail_json(msg="%s must be a positive number of seconds, got %s" % (name, self.params[name]))
        if self.params.get("max_attempts") is not None and self.params["max_attempts"] < 1:
            self.module.fail_json(msg="max_attempts must be at least 1, got %s" % self.params["max_attempts"])
        try:
            clock.simulated()  # a TFSTATE_NOW that cannot be read fails here, named, before anything is read
        except ValueError as exc:
            self.module.fail_json(msg=str(exc))
        self.check_mode = self.module.check_mode
        self._connection = None
        if not HAS_BOTO3:
            self.module.fail_json(msg=missing_required_lib("boto3 and botocore"))

    @property
    def connection(self):
        if self._connection is None:
            try:
                self._connection = AwsConnection.from_params(self.params)
            except AwsError as exc:
                self.fail_aws(exc)
        return self._connection

    def act_as_backend(self, backend):
        """Connect as the principal terraform runs as for ``backend`` (terraform_root_info's ``backend``, the
        terraform_roots inventory's ``tfstate_backend``): its profile, assume_role, region and endpoints laid
        over the task's AWS options, as the migrate phases do. Returns the identity without secrets."""
        options = dict((name, self.params.get(name)) for name in AWS_ARGUMENT_SPEC)
        where = "%s:%s" % (backend.get("file") or backend.get("root") or "the backend", backend.get("line") or 1)
        settings = backend["identity_settings"] if "identity_settings" in backend else backend.get("settings")
        try:
            identity = effective_identity(settings, options, where=where,
                                          unresolved=backend.get("identity_unresolved") or ())
        except IdentityError as exc:
            self.fail_json(msg=str(exc))
        role = identity["assume_role"]
        try:
            self._connection = AwsConnection.from_params(dict(identity["params"], assume_role=role))
        except AwsError as exc:
            if role:
                self.fail_aws(exc, msg="cannot act as the backend's role %s (assume_role at %s, session %s)"
                              % (role["role_arn"], where, role.get("session_name")), role_arn=role["role_arn"])
            self.fail_aws(exc, msg="%s: the backend's identity cannot be used" % where)
        return dict(describe_identity(identity), where=where)

    def client(self, service, region=None):
        return self.connection.client(service, region=region)

    def fail_aws(self, exc, msg=None, **result):
        """Fail with one message naming the AWS error code, the operation and the resource."""
        result.update(exc.to_result())
        self.module.fail_json(msg="%s: %s" % (msg, exc) if msg else str(exc), **result)

    def fail_json(self, **kwargs):
        self.module.fail_json(**kwargs)

    def exit_json(self, **kwargs):
        self.module.exit_json(**kwargs)

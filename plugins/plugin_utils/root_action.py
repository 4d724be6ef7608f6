# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the migration phases' action plugins.

The phases run on the controller, inside Ansible's worker process, instead of shipping a module
per step: a fleet run pays Ansible's per-task cost once per phase and root, not a module start
(about 0.4 s of CPU each) plus a boto3 import. The work itself is in module_utils; a phase only
validates its options, builds AWS clients and turns a PhaseFailed into a failed task whose
message is the reason a report shows.
"""

from __future__ import annotations

import os

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.tfstate.s3_backend.plugins.module_utils import clock
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.client import HAS_BOTO3, AwsConnection, AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws.module import AWS_ARGUMENT_SPEC
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.contract import PHASE_KEY, Migration
from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.identity import (
    IdentityError,
    connection_params,
    describe_identity,
    effective_identity,
)
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.vocabulary import CAUSE_CREDENTIALS
from ansible_collections.tfstate.s3_backend.plugins.module_utils._migration.outcome import aws_cause
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import TerraformFailed, aws_env, terraform_env

# What every phase after the preflight receives: the preflight's `migration` result.
MIGRATION_OPTION = dict(type="dict", required=True)
SERVICES = ("s3", "dynamodb", "sts")
# The option of the phase that reads a root (root_preflight): whether the root's calls take the
# backend's own identity (profile, assume_role, region, endpoints), as terraform does.
IDENTITY_SPEC = dict(backend_identity=dict(type="bool", default=True))


def _warm_loader():
    """A botocore data loader with the services' models already parsed, shared by every client.

    Ansible's strategy imports an action plugin in the playbook process before it forks the
    workers, so the models are read once per run instead of once per task (about 0.3 s of CPU
    per task saved).
    """
    if not HAS_BOTO3:
        return None
    import boto3
    from botocore.loaders import create_loader

    loader = create_loader()
    session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="warm-up",
                                    aws_secret_access_key="warm-up")
    session._session.register_component("data_loader", loader)
    for service in SERVICES:
        session.client(service)
    return loader


_LOADER = _warm_loader()
# Set to a file path, every AWS call the phases make is appended to it as "<service> <operation>"
# (the fleet benchmark counts the write calls of an idempotent rerun with it).
CALL_LOG_VARIABLE = "TFSTATE_AWS_CALL_LOG"


def _log_call(model, **kwargs):
    line = "%s %s\n" % (model.service_model.service_name, model.name)
    handle = os.open(os.environ[CALL_LOG_VARIABLE], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(handle, line.encode("utf-8"))
    finally:
        os.close(handle)


class PhaseFailed(Exception):
    """The phase cannot go on; ``message`` is the reason, ``result`` extra fields of the failed task."""

    def __init__(self, message, **result):
        super().__init__(message)
        self.message = message
        self.result = result


class RootAction(ActionBase):
    """One phase of one root's migration: ``phase(args, task_vars)`` returns the task result."""

    TRANSFERS_FILES = False
    _requires_connection = False
    # The phase's name, stamped into its result under contract.PHASE_KEY (``phase_name``) by run_phase.
    PHASE = None
    ARGUMENT_SPEC: dict = {}
    USES_AWS = True
    # The phase reads the root's backend and decides its identity (documented by the backend_identity fragment).
    RESOLVES_IDENTITY = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        self.check_mode = bool(self._task.check_mode)
        self._phase_warnings = []
        result.update(self.run_phase(self._task.args, task_vars or {}))
        if self._phase_warnings:
            result["warnings"] = list(result.get("warnings") or []) + self._phase_warnings
        return result

    def run_phase(self, raw_args, task_vars):
        """The phase's task result for ``raw_args`` (validated here): a PhaseFailed, an AWS or a terraform error
        is a failed result whose ``msg`` is the reason, never an exception."""
        spec = dict(self.ARGUMENT_SPEC)
        if self.USES_AWS:
            spec.update(AWS_ARGUMENT_SPEC)
        if self.RESOLVES_IDENTITY:
            spec.update(IDENTITY_SPEC)
        validation = ArgumentSpecValidator(spec).validate(raw_args)
        if validation.error_messages:
            return {"failed": True, "changed": False, "msg": "; ".join(validation.error_messages),
                    PHASE_KEY: self.phase_label(raw_args)}
        try:
            clock.simulated()  # a TFSTATE_NOW that cannot be read fails here, named, not in the middle of a phase
        except ValueError as exc:
            return {"failed": True, "changed": False, "msg": str(exc), PHASE_KEY: self.phase_label(raw_args)}
        result = {}
        try:
            result.update(self.phase(validation.validated_parameters, task_vars))
        except PhaseFailed as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.message)
        except AwsError as exc:
            result.update(exc.to_result())
            result.update(failed=True, msg=str(exc))
            cause = aws_cause(exc.code)
            if cause:
                # next_step names the variables that give credentials (migration.cause_step).
                result.update(cause=cause, cause_detail={"profile": validation.validated_parameters.get("profile")})
        except TerraformFailed as exc:
            result.update(failed=True, msg=str(exc), rc=exc.rc)
        result.setdefault("changed", False)
        result["check_mode"] = self.check_mode
        result[PHASE_KEY] = self.phase_label(validation.validated_parameters)
        return result

    def phase_label(self, args):
        """The name stamped into this phase's result (its PHASE; a class that runs as two phases says which)."""
        return self.PHASE

    @staticmethod
    def migration_of(args):
        """The preflight's ``migration`` option read through the contract (contract.Migration)."""
        return Migration.from_dict(args.get("migration"))

    def compose(self, action_class, raw_args, task_vars, check_mode=None, **given):
        """Run another phase (a RootAction class) inside this task, in its check mode (or ``check_mode``), with its
        warnings: the pipeline of one root is Python calling phases, not YAML passing their results along.
        ``given``: attributes the other phase reads instead of reading them again (root_stage's ``resolved``)."""
        other = action_class(self._task, self._connection, self._play_context, self._loader, self._templar,
                             self._shared_loader_obj)
        other.check_mode = self.check_mode if check_mode is None else check_mode
        other._phase_warnings = self._phase_warnings
        for name, value in given.items():
            setattr(other, name, value)
        return other.run_phase(raw_args, task_vars)

    @staticmethod
    def aws_options(args):
        """The task's AWS options (as given to this phase), to hand to a composed phase."""
        return dict((name, args[name]) for name in AWS_ARGUMENT_SPEC if args.get(name) is not None)

    def phase(self, args, task_vars):
        raise NotImplementedError

    @staticmethod
    def terraform_env(args, **extra):
        """The environment of the root's terraform runs: the controller's, with the task's AWS options (profile,
        region, endpoint_url, aws_ca_bundle) as terraform reads them, no prompts, and ``extra``."""
        return dict(terraform_env(extra=aws_env(args)), **extra)

    @staticmethod
    def connection(args, region=None):
        """AWS clients for this root: the task's options, the root's own region first.

        A phase given the preflight's ``migration`` connects as its ``identity`` says (the backend's
        profile, region, endpoints and role over the task's options), as the preflight did.
        """
        params = dict((name, args.get(name)) for name in AWS_ARGUMENT_SPEC)
        identity = Migration.from_dict(args.get("migration")).identity
        params, role = connection_params(params, identity)
        if region:
            params["region"] = region
        return RootAction._open(params, role, identity)

    def root_connection(self, args, backend, run_id):
        """``(connection, identity)`` of a root read by the preflight: its backend's identity unless
        ``backend_identity`` is false; ``identity`` (no secrets) names the caller STS answered."""
        options = dict((name, args.get(name)) for name in AWS_ARGUMENT_SPEC)
        where = "%s:%s" % (backend["file"], backend["line"])
        try:
            identity = effective_identity(backend.get("identity_settings"), options,
                                          use_backend=args.get("backend_identity", True), where=where,
                                          run_id=run_id, unresolved=backend.get("identity_unresolved"))
        except IdentityError as exc:
            raise PhaseFailed(str(exc))
        described = dict(describe_identity(identity), where=where,
                         elsewhere=list(backend.get("identity_elsewhere") or []))
        if backend.get("identity_elsewhere") and identity["use_backend"]:
            self._phase_warnings.append(
                "%s: partial configurations not in this root's init arguments name an identity (%s); the collection "
                "used the backend's settings without them: pass the file terraform is given in tfstate_init_args"
                % (backend["root"], "; ".join(backend["identity_elsewhere"])))
        try:
            connection = RootAction._open(identity["params"], identity["assume_role"], described)
        except AwsError as exc:
            if identity["origin"]["profile"] != "backend":
                raise
            raise PhaseFailed("%s: the backend's profile %s cannot be used: %s" % (where, described["profile"], exc),
                              cause=CAUSE_CREDENTIALS, cause_detail={"profile": described["profile"]}, **exc.to_result())
        try:
            caller = connection.caller_identity()
        except AwsError as exc:
            # Only a denial leaves the principal unnamed (some STS endpoints deny GetCallerIdentity);
            # a dead endpoint or refused credentials stop the root here, at its first call.
            if exc.code not in ("AccessDenied", "AccessDeniedException"):
                raise
            caller = {}
        described.update(principal=caller.get("arn"), account=caller.get("account"))
        return connection, described

    @staticmethod
    def _open(params, role, identity):
        try:
            connection = AwsConnection.from_params(dict(params, assume_role=role))
        except AwsError as exc:
            if not role:
                raise
            identity = identity or {}
            raise PhaseFailed("cannot act as the backend's role %s (assume_role at %s, session %s%s): %s" % (
                role["role_arn"], identity.get("where") or "the backend", role.get("session_name"),
                ", source profile %s" % identity["profile"] if identity.get("profile") else "", exc),
                aws_error_code=exc.code, role_arn=role["role_arn"])
        if _LOADER is not None:
            connection.session._session.register_component("data_loader", _LOADER)
        if os.environ.get(CALL_LOG_VARIABLE):
            connection.session.events.register("before-call", _log_call)
        return connection

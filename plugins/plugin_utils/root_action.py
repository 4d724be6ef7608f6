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

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws import AwsConnection, AwsError
from ansible_collections.tfstate.s3_backend.plugins.module_utils.aws_module import AWS_ARGUMENT_SPEC
from ansible_collections.tfstate.s3_backend.plugins.module_utils.terraform_cli import TerraformFailed

# What every phase after the preflight receives: the preflight's `migration` result.
MIGRATION_OPTION = dict(type="dict", required=True)


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
    ARGUMENT_SPEC: dict = {}
    USES_AWS = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        spec = dict(self.ARGUMENT_SPEC)
        if self.USES_AWS:
            spec.update(AWS_ARGUMENT_SPEC)
        validation = ArgumentSpecValidator(spec).validate(self._task.args)
        if validation.error_messages:
            return dict(result, failed=True, msg="; ".join(validation.error_messages))
        self.check_mode = bool(self._task.check_mode)
        try:
            result.update(self.phase(validation.validated_parameters, task_vars or {}))
        except PhaseFailed as exc:
            result.update(exc.result)
            result.update(failed=True, msg=exc.message)
        except AwsError as exc:
            result.update(exc.to_result())
            result.update(failed=True, msg=str(exc))
        except TerraformFailed as exc:
            result.update(failed=True, msg=str(exc), rc=exc.rc)
        result.setdefault("changed", False)
        result["check_mode"] = self.check_mode
        return result

    def phase(self, args, task_vars):
        raise NotImplementedError

    @staticmethod
    def connection(args, region=None):
        """AWS clients for this root: the task's options, the root's own region first."""
        params = dict(args)
        if region:
            params["region"] = region
        return AwsConnection.from_params(params)

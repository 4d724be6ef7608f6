# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The words of a migration: lock modes, actions, statuses and causes of a stop. The decisions that
use them are in ``runs``, ``blockers`` and ``outcome``; everything they say is measured by the caller
(files, ``.terraform``, S3, DynamoDB, terraform) and passed in. No Ansible imports, no AWS calls."""


# Lock modes, as _backend/settings.py names them.
LOCKFILE = "lockfile"
DUAL = "dual"
DYNAMODB = "dynamodb"
UNLOCKED = "none"   # a backend that does not lock: left alone in every mode

# What a root needs, from the preflight:
ACTION_NONE = "none"        # files, last init and record already say the target: nothing to do
ACTION_VERIFY = "verify"    # files and init are done, but a run was interrupted: prove and record again
ACTION_INIT = "init"        # files are done, the last terraform init is not
ACTION_REWRITE = "rewrite"  # the backend configuration still has another lock mode
ACTION_UNSUPPORTED = "unsupported"  # the role cannot re-initialise the root (Terragrunt without a binary)
ACTION_AHEAD = "ahead"      # the files are already past the target (lockfile-only when the target is dual)

# Root statuses. A check-mode run never says a root was migrated: it says what would happen.
MIGRATED = "migrated"
RESUMED = "resumed"
UNCHANGED = "unchanged"
STOPPED = "stopped"
FAILED = "failed"
WOULD_MIGRATE = "would_migrate"
WOULD_RESUME = "would_resume"
WOULD_STOP = "would_stop"
WOULD_FAIL = "would_fail"
# A root moved back to DynamoDB locking (target dynamodb, the rollback role).
ROLLED_BACK = "rolled_back"
WOULD_ROLL_BACK = "would_roll_back"
# Nothing was (or would be) changed because the role cannot re-initialise the root: the same in check mode.
UNSUPPORTED = "unsupported"
# The root is past the target (a stage-1 rerun after stage 2): nothing was (or would be) changed; not a problem.
AHEAD = "ahead"
PROBLEM_STATUSES = (STOPPED, FAILED, WOULD_STOP, WOULD_FAIL, UNSUPPORTED)
# Why a root is unsupported (the result's ``unsupported`` field).
TERRAGRUNT = "terragrunt"
TERRAGRUNT_FORMS = ("terragrunt", "terragrunt_generate", "terragrunt_tfvars")
# Phases after which a failure leaves the root's files and locks as they were (a freeze that
# meets a lock is released again by the thaw).
READ_ONLY_PHASES = ("checkout", "preflight", "freeze")
# Why a root stopped, decided where the failure is found (a failed phase's ``cause``); next_step reads it.
CAUSE_ROOT_MISSING = "root_missing"
CAUSE_CREDENTIALS = "credentials"
CAUSE_BUCKET_MISSING = "bucket_missing"
CAUSE_LOCK_HELD = "lock_held"
CAUSE_VERSIONING = "versioning"
# AWS error codes that mean the credentials are missing, unknown, expired or refused.
CREDENTIAL_ERRORS = ("NoCredentials", "NoCredentialsError", "PartialCredentials", "ProfileNotFound",
                     "InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch", "ExpiredToken",
                     "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure", "TokenRefreshRequired",
                     "CredentialRetrievalError", "SSOTokenLoadError", "UnauthorizedSSOTokenError")

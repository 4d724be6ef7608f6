# -*- coding: utf-8 -*-
# Copyright: tfstate.s3_backend contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which AWS principal, region and endpoints one root's calls use: the ones terraform uses.

Pure Python, no Ansible imports. Terraform's S3 backend takes its identity from the backend's
own settings (``profile``, ``assume_role``, ``region``, ``endpoints``, ...) before the process
environment; :func:`effective_identity` maps a resolved backend's settings and the task's AWS
options (amazon.aws names, the collection's equivalent of that environment) to the connection
the collection should open, in the same order: a setting of the backend wins, the task's option
fills what the backend leaves unset. With ``use_backend=False`` the task's options alone are
used (the inventory overrides the backend).

The result never holds a secret: static keys written in a backend are refused (the collection
does not read credentials from backend files), and the task's keys are passed on by reference
(``"credentials": "options"``), never copied.
"""

import re

from ansible_collections.tfstate.s3_backend.plugins.module_utils._backend.settings import truthy

# The backend settings that decide who the calls run as and where they go.
ASSUME_ROLE_KEYS = ("role_arn", "session_name", "external_id", "duration", "policy", "policy_arns", "tags",
                    "transitive_tag_keys", "source_identity")
# Deprecated top-level spellings (Terraform < 1.11, OpenTofu) -> assume_role keys.
LEGACY_ASSUME_ROLE = (
    ("role_arn", "role_arn"),
    ("session_name", "session_name"),
    ("external_id", "external_id"),
    ("assume_role_duration_seconds", "duration"),
    ("assume_role_policy", "policy"),
    ("assume_role_policy_arns", "policy_arns"),
    ("assume_role_tags", "tags"),
    ("assume_role_transitive_tag_keys", "transitive_tag_keys"),
)
ENDPOINT_SERVICES = ("s3", "dynamodb", "sts", "iam")
# Deprecated endpoint settings -> endpoints keys.
LEGACY_ENDPOINTS = (("endpoint", "s3"), ("dynamodb_endpoint", "dynamodb"), ("sts_endpoint", "sts"),
                    ("iam_endpoint", "iam"))
STATIC_KEYS = ("access_key", "secret_key", "token")
IDENTITY_SETTINGS = tuple(sorted(set(
    ("profile", "region", "sts_region", "assume_role", "assume_role_with_web_identity", "endpoints",
     "shared_credentials_files", "shared_credentials_file", "shared_config_files", "use_path_style",
     "force_path_style", "insecure", "custom_ca_bundle")
    + STATIC_KEYS + tuple(name for name, _key in LEGACY_ASSUME_ROLE) + tuple(name for name, _s in LEGACY_ENDPOINTS))))

# The task's options that say who the caller is (a backend profile replaces all of them).
CREDENTIAL_OPTIONS = ("profile", "access_key", "secret_key", "session_token")
SESSION_NAME_LIMIT = 64
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|m|s)")
_ROLE_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/.+$")
_UNKNOWN_VALUE = re.compile(r"^\s*(var|local|data|module)\.|\$\{")


class IdentityError(Exception):
    """The backend's identity cannot be used as written; the message names the setting and where it is."""


def session_name(run_id):
    """``tfstate-s3-backend-<run id>``, within STS's 64 characters and character set."""
    name = _SESSION_NAME_BAD.sub("-", "tfstate-s3-backend-%s" % (run_id or "run"))
    return name[:SESSION_NAME_LIMIT]


def duration_seconds(value):
    """Seconds of Terraform's ``duration`` (a Go duration such as ``"1h"``, ``"15m30s"``) or a number."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError("not a duration: %r" % (value,))
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    total, position = 0.0, 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * {"h": 3600, "m": 60, "s": 1}[match.group(2)]
        position = match.end()
    if position != len(text) or not text:
        raise ValueError("not a duration: %r" % (value,))
    return int(total)


def _unknown(value):
    """Whether a setting's value is an expression Terraform would fill from elsewhere (var.x, ${...})."""
    if isinstance(value, str):
        return bool(_UNKNOWN_VALUE.search(value))
    if isinstance(value, dict):
        return any(_unknown(item) for item in value.values())
    if isinstance(value, list):
        return any(_unknown(item) for item in value)
    return False


def _single_file(settings, plural, singular, where):
    """The one shared file of a setting (botocore reads one config and one credentials file)."""
    value = settings.get(plural)
    if value in (None, "", []):
        value = settings.get(singular) if singular else None
        return value or None
    if isinstance(value, str):
        return value
    files = [item for item in value if item]
    if len(files) > 1:
        raise IdentityError("%s: %s lists %d files (%s); the collection reads one: merge them, or set "
                            "tfstate_aws_use_backend_identity: false and give the profile or keys as options"
                            % (where, plural, len(files), ", ".join(files)))
    return files[0] if files else None


def _assume_role(settings, where):
    """The backend's assume_role as a dict of ASSUME_ROLE_KEYS (the block wins over the legacy spellings)."""
    block = settings.get("assume_role")
    if block not in (None, "", {}) and not isinstance(block, dict):
        raise IdentityError("%s: assume_role is not an object the collection can read (%r): write it in the "
                            "backend block or a -backend-config file" % (where, block))
    role = {key: value for key, value in (block or {}).items() if value not in (None, "", [], {})}
    unknown = sorted(set(role) - set(ASSUME_ROLE_KEYS))
    if unknown:
        raise IdentityError("%s: assume_role holds settings the collection does not know: %s" % (
            where, ", ".join(unknown)))
    if not role:
        for legacy, key in LEGACY_ASSUME_ROLE:
            if settings.get(legacy) not in (None, "", [], {}):
                role[key] = settings[legacy]
    if not role:
        return None
    if not role.get("role_arn"):
        raise IdentityError("%s: assume_role has no role_arn" % where)
    if not _ROLE_ARN.match(str(role["role_arn"])):
        raise IdentityError("%s: assume_role role_arn %r is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)"
                            % (where, role["role_arn"]))
    try:
        role["duration"] = duration_seconds(role.get("duration"))
    except ValueError as exc:
        raise IdentityError("%s: assume_role duration: %s" % (where, exc))
    return role


def _endpoints(settings, where):
    endpoints = {}
    for legacy, service in LEGACY_ENDPOINTS:
        if settings.get(legacy):
            endpoints[service] = settings[legacy]
    block = settings.get("endpoints")
    if block not in (None, "", {}):
        if not isinstance(block, dict):
            raise IdentityError("%s: endpoints is not an object the collection can read (%r)" % (where, block))
        for service, url in block.items():
            if url:
                endpoints[service] = url
    return {service: url for service, url in endpoints.items() if service in ENDPOINT_SERVICES}


def _refuse_unusable(settings, unresolved, where):
    """Raise IdentityError when the backend names an identity the collection cannot take on as written."""
    unknown = sorted({name for name, value in settings.items() if _unknown(value)}
                     | {name for name in unresolved or () if name in IDENTITY_SETTINGS})
    if unknown:
        raise IdentityError("%s: backend settings %s are left to variables or templates, so the collection cannot "
                            "tell which principal terraform uses: give their values in a -backend-config file "
                            "(tfstate_init_args), or set tfstate_aws_use_backend_identity: false and give the "
                            "connection as options" % (where, ", ".join(unknown)))
    statics = [name for name in STATIC_KEYS if name in settings]
    if statics:
        raise IdentityError("%s: the backend holds %s; the collection never reads credentials from backend files: "
                            "give the same credentials as options (tfstate_aws_profile or the environment) and set "
                            "tfstate_aws_use_backend_identity: false" % (where, "/".join(statics)))
    if "assume_role_with_web_identity" in settings:
        raise IdentityError("%s: assume_role_with_web_identity is not supported by the collection: set "
                            "tfstate_aws_use_backend_identity: false and give credentials of the same role as "
                            "options" % where)


def _lay_backend_over(settings, params, origin, where):
    """The backend's profile, shared files, endpoints and connection settings over the task's ``params``."""
    config_file = _single_file(settings, "shared_config_files", None, where)
    credentials_file = _single_file(settings, "shared_credentials_files", "shared_credentials_file", where)
    if settings.get("profile"):
        # A backend profile replaces the task's credentials, as it replaces AWS_PROFILE and the
        # AWS_ACCESS_KEY_ID of terraform's environment.
        for name in CREDENTIAL_OPTIONS:
            params.pop(name, None)
        params["profile"] = settings["profile"]
        origin["profile"] = origin["credentials"] = "backend"
    if config_file:
        params["config_file"] = config_file
    if credentials_file:
        params["credentials_file"] = credentials_file
    endpoints = _endpoints(settings, where)
    if endpoints:
        params["endpoints"] = endpoints
        origin["endpoints"] = "backend"
    if truthy(settings.get("use_path_style")) or truthy(settings.get("force_path_style")):
        params["path_style"] = True
    if truthy(settings.get("insecure")):
        params["validate_certs"] = False
    if settings.get("custom_ca_bundle"):
        params["aws_ca_bundle"] = settings["custom_ca_bundle"]
    if settings.get("sts_region"):
        params["sts_region"] = settings["sts_region"]


def effective_identity(settings, options, use_backend=True, where="the backend", run_id=None, unresolved=()):
    """The connection of one root: ``{"params", "assume_role", "origin", "ignored"}``.

    ``settings``: the resolved backend's settings (block, -backend-config files and arguments merged);
    ``options``: the task's AWS options (amazon.aws names; their values are not copied into the
    result's ``origin``); ``where``: ``<file>:<line>`` of the backend, for messages; ``unresolved``:
    names of settings whose value the discovery could not read as a literal.

    ``params``: AwsConnection keyword arguments (the task's own, with the backend's settings laid
    over them). ``assume_role``: the role to assume through STS first, or None. ``origin``: for
    each of profile, credentials, region, endpoints, assume_role, whether it comes from the
    ``backend``, the ``options`` or boto3's ``default`` chain. ``ignored``: backend identity
    settings not used because ``use_backend`` is false.

    Raises IdentityError when the backend names an identity the collection cannot take on as
    written (a value left to a variable, several shared files, static keys, web identity).
    """
    settings = {name: value for name, value in (settings or {}).items()
                if name in IDENTITY_SETTINGS and value not in (None, "", [], {})}
    options = dict(options or {})
    params = {name: value for name, value in options.items() if value is not None}
    has_keys = bool(options.get("access_key") or options.get("secret_key"))
    origin = {
        "profile": "options" if options.get("profile") else "default",
        "credentials": "options" if (has_keys or options.get("profile")) else "default",
        "region": "options" if options.get("region") else "default",
        "endpoints": "options" if options.get("endpoint_url") else "default",
        "assume_role": None,
    }
    if settings.get("region"):
        # The bucket's region is where the state is, whoever asks: it wins in both modes (as before).
        params["region"] = settings["region"]
        origin["region"] = "backend"
    if not use_backend:
        return {"use_backend": False, "params": params, "assume_role": None, "origin": origin,
                "ignored": sorted(name for name in settings if name != "region")}

    _refuse_unusable(settings, unresolved, where)
    _lay_backend_over(settings, params, origin, where)
    role = _assume_role(settings, where)
    if role:
        role.setdefault("session_name", session_name(run_id))
        origin["assume_role"] = "backend"
    return {"use_backend": True, "params": params, "assume_role": role, "origin": origin, "ignored": []}


def describe_identity(identity, principal=None, account=None):
    """What a report and the ``migration`` result keep of an identity: no keys, no tokens.

    The profile name, the region, the endpoints, the role (ARN, session name, external ID, which
    AWS documents as not secret) and the caller ARN STS answered.
    """
    params = identity["params"]
    role = identity.get("assume_role")
    return {
        "use_backend": bool(identity.get("use_backend")),
        "origin": dict(identity["origin"]),
        "ignored": list(identity.get("ignored") or []),
        "profile": params.get("profile"),
        "region": params.get("region"),
        "sts_region": params.get("sts_region"),
        "endpoints": dict(params.get("endpoints") or {}),
        "config_file": params.get("config_file"),
        "credentials_file": params.get("credentials_file"),
        "path_style": params.get("path_style"),
        "validate_certs": params.get("validate_certs", True),
        "aws_ca_bundle": params.get("aws_ca_bundle"),
        "assume_role": dict(role) if role else None,
        "principal": principal,
        "account": account,
    }


def connection_params(options, described):
    """AwsConnection keyword arguments for a later phase, from the task's options and a described identity.

    The task's credentials are used unless the described identity took a backend profile; the
    backend's region, endpoints, files and role are laid over the options again.
    """
    params = {name: value for name, value in (options or {}).items() if value is not None}
    if not described or not described.get("use_backend"):
        return params, None
    if described.get("origin", {}).get("profile") == "backend":
        for name in CREDENTIAL_OPTIONS:
            params.pop(name, None)
        params["profile"] = described["profile"]
    for name in ("region", "sts_region", "config_file", "credentials_file", "aws_ca_bundle"):
        if described.get(name):
            params[name] = described[name]
    if described.get("endpoints"):
        params["endpoints"] = dict(described["endpoints"])
    if described.get("path_style"):
        params["path_style"] = True
    if described.get("validate_certs") is False:
        params["validate_certs"] = False
    return params, described.get("assume_role")

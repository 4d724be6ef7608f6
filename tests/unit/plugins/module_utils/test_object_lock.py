import pytest

from ansible_collections.tfstate.s3_backend.plugins.module_utils._aws import object_lock as ol

VERSIONED_NO_LOCK = {"versioning": "Enabled", "object_lock_enabled": False, "default_retention": None}
GOVERNANCE_30 = {"mode": "GOVERNANCE", "days": 30, "years": None}


@pytest.mark.parametrize("given, expected", [
    (None, None),
    ({"mode": "GOVERNANCE", "days": 30}, GOVERNANCE_30),
    ({"Mode": "GOVERNANCE", "Days": 30, "Years": 0}, GOVERNANCE_30),  # moto sends the unused period as 0
    ({"Mode": "COMPLIANCE", "Years": 1}, {"mode": "COMPLIANCE", "days": None, "years": 1}),
])
def test_normalise_retention(given, expected):
    assert ol.normalise_retention(given) == expected


@pytest.mark.parametrize("given, message", [
    ({"mode": "GOVERNANCE"}, "exactly one of days or years"),
    ({"mode": "GOVERNANCE", "days": 1, "years": 1}, "exactly one of days or years"),
    ({"mode": "GOVERNANCE", "days": -3}, "at least 1"),
    ({"mode": "LEGAL", "days": 1}, "mode must be one of"),
])
def test_normalise_retention_refuses_bad_periods(given, message):
    with pytest.raises(ol.ObjectLockRefused, match=message):
        ol.normalise_retention(given)


def test_plan_enables_lock_and_keeps_retention_unmanaged_when_unset():
    current = dict(VERSIONED_NO_LOCK, object_lock_enabled=True, default_retention=GOVERNANCE_30)
    assert ol.plan_object_lock(current) == current
    assert ol.plan_object_lock(VERSIONED_NO_LOCK) == dict(VERSIONED_NO_LOCK, object_lock_enabled=True)


def test_plan_refuses_unversioned_bucket_unless_asked_to_enable_versioning():
    for status in ("Disabled", "Suspended"):
        current = dict(VERSIONED_NO_LOCK, versioning=status)
        with pytest.raises(ol.ObjectLockRefused, match="needs versioning Enabled and it is %s" % status):
            ol.plan_object_lock(current)
        planned = ol.plan_object_lock(current, enable_versioning=True)
        assert planned == {"versioning": "Enabled", "object_lock_enabled": True, "default_retention": None}


def test_plan_refuses_compliance_without_opt_in_but_accepts_it_already_in_place():
    compliance = {"mode": "COMPLIANCE", "days": 1}
    with pytest.raises(ol.ObjectLockRefused, match="allow_compliance_mode"):
        ol.plan_object_lock(VERSIONED_NO_LOCK, default_retention=compliance)
    planned = ol.plan_object_lock(VERSIONED_NO_LOCK, default_retention=compliance, allow_compliance_mode=True)
    assert planned["default_retention"] == {"mode": "COMPLIANCE", "days": 1, "years": None}
    # Already in place: restating it is a no-op, not a new risk.
    assert ol.plan_object_lock(planned, default_retention=compliance) == planned


def test_plan_removes_retention_only_when_asked():
    current = dict(VERSIONED_NO_LOCK, object_lock_enabled=True, default_retention=GOVERNANCE_30)
    assert ol.plan_object_lock(current, remove_default_retention=True)["default_retention"] is None
    with pytest.raises(ol.ObjectLockRefused, match="exclude each other"):
        ol.plan_object_lock(current, default_retention=GOVERNANCE_30, remove_default_retention=True)


def test_lock_configuration_request():
    assert ol.lock_configuration_request({"default_retention": None}) == {"ObjectLockEnabled": "Enabled"}
    assert ol.lock_configuration_request({"default_retention": GOVERNANCE_30}) == {
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 30}}}
    years = {"mode": "COMPLIANCE", "days": None, "years": 2}
    assert ol.lock_configuration_request({"default_retention": years})["Rule"] == {
        "DefaultRetention": {"Mode": "COMPLIANCE", "Years": 2}}

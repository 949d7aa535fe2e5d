"""ForwardingRun end to end over the fake ARM: reads, writes, 412s, partial failure."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.calico.azure.plugins.module_utils._nic.run import ForwardingRun
from ansible_collections.calico.azure.plugins.module_utils._nic.transform import (
    NIC_TYPE,
    VM_TYPE,
    Failure,
    forwarding_diff,
    failure_message,
    json_differences,
    parse_targets,
)

from .fake_arm import (
    ERRORS,
    SUBSCRIPTION,
    FakeArm,
    FakeError,
    FakeForbidden,
    FakePreconditionFailed,
    FakeTransportError,
    make_nic,
    make_vm,
    nic_id,
)


def run(arm, vms=(), nics=(), group="rg1", **options):
    vm_refs, vm_failures = parse_targets(vms, VM_TYPE, SUBSCRIPTION, group)
    nic_refs, nic_failures = parse_targets(nics, NIC_TYPE, SUBSCRIPTION, group)
    forwarding = ForwardingRun(arm, ERRORS, **options)
    return forwarding.run(vm_refs, nic_refs, vm_failures + nic_failures)


def cluster(count, group="rg1", forwarding=False):
    resources = []
    for index in range(count):
        name = "node-%d" % index
        resources.append(make_nic(name + "-nic", group, "10.0.0.%d" % (index + 4), forwarding, vm=name))
        resources.append(make_vm(name, [name + "-nic"], group))
    return FakeArm(resources)


def test_writes_the_flag_with_if_match_and_reports_each_nic():
    arm = cluster(2)
    before = arm.stored(nic_id("node-0-nic"))

    outcome = run(arm, vms=["node-0", "node-1"])

    assert outcome.failures == [] and outcome.changed
    assert outcome.records[0] == {
        "name": "node-0-nic",
        "id": nic_id("node-0-nic"),
        "resource_group": "rg1",
        "vm": "node-0",
        "private_ip": "10.0.0.4",
        "private_ipv6": None,
        "forwarding_before": False,
        "forwarding_after": True,
        "changed": True,
    }
    puts = [c for c in arm.calls if c[0] == "put"]
    assert sorted(c[2] for c in puts if c[1] == nic_id("node-0-nic")) == [before["etag"]]
    after = arm.stored(nic_id("node-0-nic"))
    assert json_differences(before, after) == ["properties.enableIPForwarding"]


def test_rerun_is_idempotent_with_zero_writes():
    arm = cluster(3)
    run(arm, vms=["node-0", "node-1", "node-2"])
    writes = arm.count("put")

    outcome = run(arm, vms=["node-0", "node-1", "node-2"])

    assert arm.count("put") == writes == 3
    assert not outcome.changed
    assert [r["forwarding_before"] for r in outcome.records] == [True, True, True]


def test_check_mode_writes_nothing_and_predicts_changed_exactly():
    arm = cluster(2)
    arm.outside_write(nic_id("node-1-nic"), lambda nic: nic["properties"].update(enableIPForwarding=True))

    outcome = run(arm, vms=["node-0", "node-1"], check_mode=True)

    assert arm.count("put") == 0
    assert [(r["name"], r["changed"], r["forwarding_after"]) for r in outcome.records] == [
        ("node-0-nic", True, True),
        ("node-1-nic", False, True),
    ]
    # only the NIC that changes is in the diff
    diff = forwarding_diff(outcome.records)
    assert (diff["before"], diff["after"]) == ("NIC rg1/node-0-nic on VM node-0 enableIPForwarding: false\n",
                                               "NIC rg1/node-0-nic on VM node-0 enableIPForwarding: true\n")


def test_disabling_is_symmetric():
    arm = cluster(1, forwarding=True)
    outcome = run(arm, nics=["node-0-nic"], enabled=False)
    assert outcome.records[0]["forwarding_after"] is False and outcome.changed
    assert arm.stored(nic_id("node-0-nic"))["properties"]["enableIPForwarding"] is False


def test_a_shared_group_costs_one_list_per_type_instead_of_a_get_per_item():
    arm = cluster(20)
    outcome = run(arm, vms=["node-%d" % i for i in range(20)])
    assert len(outcome.records) == 20
    assert arm.count("list") == 2  # VMs, then NICs
    assert arm.count("get") == 0
    assert arm.count("put") == 20


def test_few_targets_in_a_group_are_read_one_by_one():
    arm = cluster(5)
    run(arm, nics=["node-0-nic", "node-1-nic"])
    assert (arm.count("list"), arm.count("get")) == (0, 2)


def test_the_worker_pool_bounds_requests_in_flight():
    arm = cluster(30)
    arm.latency = 0.01
    run(arm, nics=["node-%d-nic" % i for i in range(30)], max_parallel=4, list_threshold=100)
    assert arm.count("get") == 30 and arm.count("put") == 30
    assert 2 <= arm.max_in_flight <= 4


def test_outside_change_between_read_and_write_is_retried_and_survives():
    arm = cluster(1)
    target = nic_id("node-0-nic")

    def someone_else_adds_dns():
        arm.outside_write(target, lambda nic: nic["properties"].update(dnsSettings={"dnsServers": ["10.9.9.9"]}))

    arm.before_put[target.lower()] = [someone_else_adds_dns]

    outcome = run(arm, nics=["node-0-nic"])

    assert outcome.failures == []
    puts = [c for c in arm.calls if c[0] == "put"]
    assert len(puts) == 2, "first PUT gets 412, the re-read one succeeds"
    assert arm.count("get") == 2, "the read, then the re-read after 412"
    stored = arm.stored(target)
    assert stored["properties"]["dnsSettings"] == {"dnsServers": ["10.9.9.9"]}
    assert stored["properties"]["enableIPForwarding"] is True


def test_outside_change_that_already_enabled_forwarding_needs_no_write():
    arm = cluster(1)
    target = nic_id("node-0-nic")
    arm.before_put[target.lower()] = [
        lambda: arm.outside_write(target, lambda nic: nic["properties"].update(enableIPForwarding=True))
    ]
    outcome = run(arm, nics=["node-0-nic"])
    assert outcome.failures == [] and not outcome.changed
    assert arm.count("put") == 1  # the one that hit 412


def test_412_retries_are_bounded():
    arm = cluster(1)
    target = nic_id("node-0-nic")

    def touch():
        arm.outside_write(target, lambda nic: nic.setdefault("tags", {}).update(t="x"))

    arm.before_put[target.lower()] = [touch]
    original_get = arm.get

    def get_and_race(resource_id):
        document = original_get(resource_id)
        arm.before_put.setdefault(resource_id.lower(), []).append(touch)
        return document

    arm.get = get_and_race

    outcome = run(arm, nics=["node-0-nic"], max_write_attempts=3)

    assert arm.count("put") == 3
    assert len(outcome.failures) == 1
    assert "changed by someone else before each of 3 writes" in outcome.failures[0].reason
    assert arm.stored(target)["properties"]["enableIPForwarding"] is False


def test_partial_failure_lets_the_others_complete_and_names_each_failure():
    arm = cluster(6)
    arm.fail_put[nic_id("node-1-nic").lower()] = FakeForbidden("AuthorizationFailed: no write permission (HTTP 403).")
    arm.fail_lro[nic_id("node-2-nic").lower()] = FakeError("The long-running operation ended Failed: InternalError.")

    outcome = run(arm, vms=["node-%d" % i for i in range(6)])

    # node-1's PUT was refused and node-2's operation failed: neither is reported as changed.
    assert [r["name"] for r in outcome.records] == ["node-0-nic", "node-3-nic", "node-4-nic", "node-5-nic"]
    targets = {f.target: f.reason for f in outcome.failures}
    assert "AuthorizationFailed" in targets["NIC node-1-nic (resource group rg1)"]
    assert "ended Failed" in targets["NIC node-2-nic (resource group rg1)"]
    for name in ("node-0-nic", "node-3-nic", "node-4-nic", "node-5-nic"):
        assert arm.stored(nic_id(name))["properties"]["enableIPForwarding"] is True
    # A definite refusal (403) is not a lost answer: no re-read after it.
    assert ("get", nic_id("node-1-nic")) not in arm.calls

    message = failure_message(outcome.failures, outcome.records, True)
    assert message.startswith("Could not enable IP forwarding on 2 target(s): ")
    for fragment in ("node-1-nic", "node-2-nic", "changed: node-0-nic, node-3-nic"):
        assert fragment in message


def test_unknown_targets_stop_the_run_before_any_write():
    """Issue 13 item 10: the known VMs' NICs were written before failing on an unknown one."""
    arm = cluster(4)

    outcome = run(arm, vms=["node-0", "node-1", "ghost"], nics=["missing-nic", "node-2-nic"])

    assert arm.count("put") == 0
    assert outcome.written is False and outcome.records == [] and not outcome.changed
    targets = {f.target: f.reason for f in outcome.failures}
    assert set(targets) == {"VM ghost", "NIC missing-nic"}
    assert targets["VM ghost"].startswith("not found in resource group rg1")
    for index in range(3):
        assert arm.stored(nic_id("node-%d-nic" % index))["properties"]["enableIPForwarding"] is False
    message = failure_message(outcome.failures, outcome.records, True, written=outcome.written)
    assert message.endswith("Nothing was written: every target is resolved and read before the first write.")
    assert "handled" not in message and "changed" not in message


def test_check_mode_failure_message_says_nothing_was_written():
    """Issue 13 item 10: the check-mode message said NICs were "changed"."""
    arm = cluster(3)
    arm.fail_get[nic_id("node-2-nic").lower()] = FakeForbidden("AuthorizationFailed: no read permission (HTTP 403).")
    outcome = run(arm, nics=["node-0-nic", "node-1-nic"], check_mode=True, list_threshold=99)
    failures = [Failure("NIC node-9-nic", "its operation failed")]

    message = failure_message(failures, outcome.records, True, check_mode=True)

    assert arm.count("put") == 0
    assert "changed:" not in message and "were handled" not in message
    assert message.endswith("Check mode, nothing was written; of the other 2 NIC(s) these would change: "
                            "node-0-nic, node-1-nic.")


@pytest.mark.parametrize("state", ["Failed", "Updating"])
def test_a_failed_nic_holding_the_wanted_value_is_reapplied_and_said_so(state):
    """Issue 13 item 1: a NIC left Failed with the desired value was reported converged forever."""
    arm = cluster(2, forwarding=True)
    arm.outside_write(nic_id("node-0-nic"), lambda nic: nic["properties"].update(provisioningState=state))

    checked = run(arm, nics=["node-0-nic", "node-1-nic"], check_mode=True, list_threshold=99)
    assert arm.count("put") == 0
    assert [(r["name"], r["changed"]) for r in checked.records] == [("node-0-nic", True), ("node-1-nic", False)]
    assert checked.notes == ["NIC node-0-nic (resource group rg1): Azure reported provisioningState %s, so it would "
                             "be re-applied even where it held the wanted values (Azure's remedy for a failed update)"
                             % state]

    outcome = run(arm, nics=["node-0-nic", "node-1-nic"], list_threshold=99)

    assert outcome.changed and outcome.failures == []
    assert [c[1] for c in arm.calls if c[0] == "put"] == [nic_id("node-0-nic")]
    assert "so it was re-applied" in outcome.notes[0]
    assert arm.stored(nic_id("node-0-nic"))["properties"]["provisioningState"] == "Succeeded"
    again = run(arm, nics=["node-0-nic", "node-1-nic"], list_threshold=99)
    assert not again.changed and again.notes == [] and arm.count("put") == 1


def test_a_write_applied_whose_answer_was_lost_is_reported_changed():
    """Issue 13 item 10: the end state was right but changed was false."""
    arm = cluster(2)
    arm.lose_answer.add(nic_id("node-0-nic").lower())

    outcome = run(arm, nics=["node-0-nic", "node-1-nic"], list_threshold=99)

    assert outcome.failures == []
    assert [(r["name"], r["changed"], r["forwarding_after"]) for r in outcome.records] == [
        ("node-0-nic", True, True), ("node-1-nic", True, True)]
    assert outcome.notes == ["NIC node-0-nic (resource group rg1): the answer to the write was lost; the NIC as read "
                             "again holds the wanted values, so it is reported changed"]
    assert arm.count("put") == 2


def test_a_retried_write_answered_412_by_its_own_first_attempt_is_reported_changed():
    """The client re-sent a PUT whose first answer was lost: 412, because that first one applied."""
    arm = cluster(1)
    original = arm.begin_put

    def applied_then_412(resource_id, body, if_match):
        original(resource_id, body, if_match)
        raise FakePreconditionFailed("PreconditionFailed (HTTP 412) after 1 retries.", retries=1)

    arm.begin_put = applied_then_412
    outcome = run(arm, nics=["node-0-nic"])
    assert outcome.failures == [] and outcome.changed
    assert outcome.records[0]["forwarding_after"] is True


def test_a_lost_answer_whose_write_did_not_apply_stays_a_failure():
    arm = cluster(1)
    arm.fail_put[nic_id("node-0-nic").lower()] = FakeTransportError("Connection reset by peer.")
    outcome = run(arm, nics=["node-0-nic"])
    assert [f.reason for f in outcome.failures] == ["Connection reset by peer."]
    assert outcome.records == []
    assert arm.stored(nic_id("node-0-nic"))["properties"]["enableIPForwarding"] is False


def test_a_listing_error_stops_the_run_before_any_write():
    arm = cluster(3, group="rg1")
    for index in range(3):
        arm.add(make_nic("far-%d" % index, "rg2"))
    arm.fail_list[(SUBSCRIPTION.lower(), "rg2", NIC_TYPE)] = FakeForbidden("AuthorizationFailed on rg2 (HTTP 403).")

    outcome = run(arm, nics=["node-0-nic", "node-1-nic", "node-2-nic"]
                  + [nic_id("far-%d" % i, "rg2") for i in range(3)])

    assert outcome.records == [] and arm.count("put") == 0
    assert [f.target for f in outcome.failures] == ["NIC far-%d (resource group rg2)" % i for i in range(3)]


def test_vm_and_nic_naming_the_same_nic_write_it_once():
    arm = cluster(1)
    outcome = run(arm, vms=["node-0"], nics=["node-0-nic", nic_id("NODE-0-NIC")])
    assert arm.count("put") == 1
    assert len(outcome.records) == 1 and outcome.records[0]["vm"] == "node-0"


def test_all_nics_of_a_multi_nic_vm():
    arm = FakeArm([
        make_vm("vm", ["eth0", "eth1"], primary="eth0"),
        make_nic("eth0", ip="10.0.0.4"),
        make_nic("eth1", ip="10.1.0.4"),
    ])
    assert [r["name"] for r in run(arm, vms=["vm"], check_mode=True).records] == ["eth0"]
    assert [r["private_ip"] for r in run(arm, vms=["vm"], all_nics=True).records] == ["10.0.0.4", "10.1.0.4"]


def test_bad_target_syntax_is_reported_and_nothing_is_written():
    arm = cluster(1)
    outcome = run(arm, vms=["node-0"], nics=["a/b"])
    assert outcome.records == [] and arm.count("put") == 0
    assert outcome.failures[0].target == "a/b"


def test_arm_reporting_the_old_value_after_the_write_is_a_failure():
    arm = cluster(1)
    original = arm.begin_put

    def put_ignored(resource_id, body, if_match):
        ignored = copy.deepcopy(body)
        ignored["properties"]["enableIPForwarding"] = False
        return original(resource_id, ignored, if_match)

    arm.begin_put = put_ignored
    outcome = run(arm, nics=["node-0-nic"])
    assert outcome.records[0]["forwarding_after"] is False
    assert "reports enableIPForwarding=false" in outcome.failures[0].reason


def test_max_parallel_must_be_positive():
    with pytest.raises(ValueError):
        ForwardingRun(FakeArm(), ERRORS, max_parallel=0)


class FakeClock:
    """Time that only moves when the run sleeps, so waits are checked, not endured."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def test_operations_are_polled_no_sooner_than_retry_after_until_done():
    arm = cluster(3)
    arm.retry_after = 2.0
    arm.lro_polls_needed = 3
    clock = FakeClock()

    outcome = run(arm, nics=["node-%d-nic" % i for i in range(3)], clock=clock, sleep=clock.sleep, list_threshold=99)

    assert outcome.failures == [] and len(outcome.records) == 3
    assert arm.count("poll") == 9
    assert clock.now - 1000.0 == pytest.approx(6.0), "three polls, each after a 2 s Retry-After"


def test_polls_share_the_worker_pool_bound():
    arm = cluster(12)
    arm.latency = 0.01
    arm.lro_polls_needed = 2
    run(arm, nics=["node-%d-nic" % i for i in range(12)], max_parallel=3, list_threshold=99)
    assert arm.count("poll") == 24
    assert arm.max_in_flight <= 3


def test_an_operation_that_never_finishes_is_reported_after_the_timeout():
    arm = cluster(2)
    arm.retry_after = 10.0
    arm.lro_polls_needed = 10**6
    clock = FakeClock()

    outcome = run(arm, nics=["node-0-nic", "node-1-nic"], clock=clock, sleep=clock.sleep,
                  operation_timeout=60, list_threshold=99)

    assert [f.target for f in outcome.failures] == ["NIC node-0-nic (resource group rg1)",
                                                    "NIC node-1-nic (resource group rg1)"]
    assert "still running after 60 seconds" in outcome.failures[0].reason
    assert 60 <= clock.now - 1000.0 <= 80


def test_a_listed_nic_without_etag_is_read_alone_before_its_conditional_write():
    arm = cluster(3)
    original_list = arm.list_group

    def list_without_etags(*args):
        return [{k: v for k, v in item.items() if k != "etag"} for item in original_list(*args)]

    arm.list_group = list_without_etags
    outcome = run(arm, nics=["node-0-nic", "node-1-nic", "node-2-nic"])

    assert outcome.failures == [] and outcome.changed
    assert arm.count("get") == 3
    assert all(call[2] for call in arm.calls if call[0] == "put"), "every PUT carries If-Match"

"""calico.azure.azure_nic_forwarding against the Azure stand-in, through ansible-playbook.

Each test follows the collection's pattern where it applies: check mode ->
nothing written (the stand-in's request log) -> apply -> verify in the
stand-in -> re-run unchanged with zero writes.
"""

from __future__ import annotations

import copy
import json

import pytest

from ansible_collections.calico.azure.plugins.module_utils._nic.transform import json_differences
from helpers.ansible_run import run_playbook

SUB = "5ab50000-0000-4000-8000-00000000c0de"
OTHER_SUB = "07e00000-0000-4000-8000-00000000c0de"
TASK = "Set IP forwarding"
NET = "Microsoft.Network"


def rid(group: str, kind: str, name: str, sub: str = SUB, provider: str = NET) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{provider}/{kind}/{name}"


def nic_id(name: str, group: str = "rg-k8s", sub: str = SUB) -> str:
    return rid(group, "networkInterfaces", name, sub)


def playbook(args: dict) -> str:
    return "\n".join(
        [
            "- hosts: localhost",
            "  gather_facts: false",
            "  tasks:",
            f"    - name: {TASK}",
            f"      calico.azure.azure_nic_forwarding: {json.dumps(args)}",
        ]
    )


def run(emu, args: dict, **kwargs):
    """Run the module once; the stand-in's log then holds exactly this run's requests."""
    emu.clear_log()
    result = run_playbook(playbook(args), env=emu.env(), **kwargs)
    assert result.data, f"ansible-playbook gave no JSON result:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result.task(TASK)


def arm_writes(emu) -> list:
    return [r for r in emu.requests() if r["kind"] == "arm" and r["method"] in ("PUT", "PATCH", "POST", "DELETE")]


def without_volatile(document):
    """The NIC minus what ARM changes on any write and the flag itself.

    etag and provisioningState are rewritten by ARM at every level (embedded
    ipConfigurations carry the NIC's etag and state too).
    """
    if isinstance(document, dict):
        return {
            key: without_volatile(value)
            for key, value in document.items()
            if key not in ("etag", "provisioningState", "enableIPForwarding")
        }
    if isinstance(document, list):
        return [without_volatile(item) for item in document]
    return copy.deepcopy(document)


RICH_SEED = {
    "subscription_id": SUB,
    "resource_groups": [{"name": "rg-k8s", "location": "westeurope"}],
    "network_security_groups": [{"name": "nsg-nodes", "resource_group": "rg-k8s"}],
    "public_ip_addresses": [{"name": "pip-0", "resource_group": "rg-k8s"}],
    "application_security_groups": [{"name": "asg-nodes", "resource_group": "rg-k8s"}],
    "load_balancers": [{"name": "lb", "resource_group": "rg-k8s", "backend_pools": ["pool"]}],
    "virtual_networks": [
        {
            "name": "vnet-k8s",
            "resource_group": "rg-k8s",
            "address_prefixes": ["10.0.0.0/8", "fd00::/48"],
            "subnets": [
                {"name": "nodes", "address_prefixes": ["10.240.0.0/16", "fd00::/64"]},
            ],
        }
    ],
    "virtual_machines": [
        {
            "name": "node-0",
            "resource_group": "rg-k8s",
            "nics": [
                {
                    "name": "node-0-nic",
                    "primary": True,
                    "enable_ip_forwarding": False,
                    "accelerated_networking": True,
                    "network_security_group": "nsg-nodes",
                    "dns_servers": ["10.0.0.10", "10.0.0.11"],
                    "tags": {"role": "node", "team": "platform"},
                    "ip_configurations": [
                        {
                            "name": "ipconfig1",
                            "subnet": "vnet-k8s/nodes",
                            "private_ip": "10.240.0.4",
                            "public_ip": "pip-0",
                            "load_balancer_backend_pools": ["lb/pool"],
                            "application_security_groups": ["asg-nodes"],
                        },
                        {"name": "ipconfig-v6", "subnet": "vnet-k8s/nodes", "private_ip": "fd00::4", "primary": False},
                    ],
                }
            ],
        }
    ],
}


@pytest.mark.azure_seed(RICH_SEED)
def test_full_nic_is_kept_check_apply_rerun(azure_emulator):
    emu = azure_emulator
    target = nic_id("node-0-nic")
    before = emu.get_resource(target)
    props = before["properties"]
    # The seed really describes the NIC the issue names.
    assert props["networkSecurityGroup"] and props["enableAcceleratedNetworking"] is True
    assert props["dnsSettings"]["dnsServers"] == ["10.0.0.10", "10.0.0.11"] and before["tags"]
    first = props["ipConfigurations"][0]["properties"]
    assert first["publicIPAddress"] and first["loadBalancerBackendAddressPools"] and first["applicationSecurityGroups"]
    assert len(props["ipConfigurations"]) == 2

    args = {"resource_group": "rg-k8s", "vms": ["node-0"]}

    checked = run(emu, args, check=True, diff=True)
    assert checked["changed"] is True
    assert arm_writes(emu) == []
    assert emu.get_resource(target) == before
    assert checked["diff"] == {
        "before": "NIC rg-k8s/node-0-nic on VM node-0 enableIPForwarding: false\n",
        "after": "NIC rg-k8s/node-0-nic on VM node-0 enableIPForwarding: true\n",
        "before_header": "network interfaces", "after_header": "network interfaces",
    }

    applied = run(emu, args)
    assert applied["changed"] is True
    assert applied["nics"] == [
        {
            "name": "node-0-nic",
            "id": target,
            "resource_group": "rg-k8s",
            "vm": "node-0",
            "private_ip": "10.240.0.4",
            "private_ipv6": "fd00::4",
            "forwarding_before": False,
            "forwarding_after": True,
            "changed": True,
        }
    ]
    writes = arm_writes(emu)
    assert [(w["method"], w["resource_id"].lower(), w["if_match"]) for w in writes] == [
        ("PUT", target.lower(), before["etag"])
    ]
    after = emu.get_resource(target)
    assert after["properties"]["enableIPForwarding"] is True
    assert after["etag"] != before["etag"]
    assert json_differences(before, after) == ["properties.enableIPForwarding"]
    assert without_volatile(after) == without_volatile(before)

    again = run(emu, args)
    assert again["changed"] is False
    assert again["nics"][0]["forwarding_before"] is True and again["nics"][0]["changed"] is False
    assert arm_writes(emu) == []


OTHER_GROUP_SEED = {
    "subscription_id": SUB,
    "subscriptions": [{"subscription_id": OTHER_SUB, "display_name": "other"}],
    "resource_groups": [
        {"name": "rg-vms", "location": "westeurope"},
        {"name": "rg-nics", "location": "westeurope"},
        {"name": "rg-far", "location": "westeurope", "subscription_id": OTHER_SUB},
    ],
    "virtual_networks": [
        {
            "name": "vnet",
            "resource_group": "rg-nics",
            "address_prefixes": ["10.0.0.0/8"],
            "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/16"}],
        }
    ],
    "virtual_machines": [
        {
            "name": "gw-0",
            "resource_group": "rg-vms",
            # The primary NIC is listed second: the module must go by the primary flag, not the order.
            "nics": [
                {"name": "gw-0-eth1", "resource_group": "rg-nics", "subnet": "vnet/nodes", "private_ip": "10.240.1.5",
                 "primary": False},
                {"name": "gw-0-eth0", "resource_group": "rg-nics", "subnet": "vnet/nodes", "private_ip": "10.240.1.4",
                 "primary": True},
            ],
        }
    ],
}


@pytest.mark.azure_seed(OTHER_GROUP_SEED)
def test_vm_nics_in_another_group_and_a_nic_id_in_another_subscription(azure_emulator):
    emu = azure_emulator
    far = nic_id("far-nic", "rg-far", OTHER_SUB)
    emu.put_resource(
        far,
        {
            "location": "westeurope",
            "properties": {
                "ipConfigurations": [
                    {
                        "name": "ipconfig1",
                        "properties": {
                            "subnet": {"id": rid("rg-nics", "virtualNetworks", "vnet") + "/subnets/nodes"},
                            "privateIPAddress": "10.240.9.9",
                            "privateIPAllocationMethod": "Static",
                        },
                    }
                ]
            },
        },
    )
    vm_id = rid("rg-vms", "virtualMachines", "gw-0", provider="Microsoft.Compute")

    primary_only = run(emu, {"vms": [vm_id], "nics": [far]}, check=True)
    assert [(n["name"], n["resource_group"], n["vm"]) for n in primary_only["nics"]] == [
        ("gw-0-eth0", "rg-nics", "gw-0"),
        ("far-nic", "rg-far", None),
    ]
    assert arm_writes(emu) == []

    applied = run(emu, {"vms": [vm_id], "all_nics": True, "nics": [far]})
    assert [(n["name"], n["private_ip"], n["changed"]) for n in applied["nics"]] == [
        ("gw-0-eth0", "10.240.1.4", True),
        ("gw-0-eth1", "10.240.1.5", True),
        ("far-nic", "10.240.9.9", True),
    ]
    for target in (nic_id("gw-0-eth0", "rg-nics"), nic_id("gw-0-eth1", "rg-nics"), far):
        assert emu.get_resource(target)["properties"]["enableIPForwarding"] is True
    assert {w["resource_id"].lower() for w in arm_writes(emu)} == {
        nic_id("gw-0-eth0", "rg-nics").lower(), nic_id("gw-0-eth1", "rg-nics").lower(), far.lower()
    }


def test_outside_change_between_read_and_write_is_retried_and_kept(azure_emulator):
    emu = azure_emulator
    target = nic_id("node-1-nic")
    # Someone adds a DNS server and a tag right after the module read the NIC.
    emu.schedule_mutation(
        target, {"tags": {"changed-by": "someone-else"}, "properties": {"dnsSettings": {"dnsServers": ["10.9.9.9"]}}},
        after_method="GET", after_path_contains="node-1-nic",
    )

    result = run(emu, {"resource_group": "rg-k8s", "nics": ["node-1-nic"]})

    assert result["changed"] is True
    puts = [w for w in arm_writes(emu) if w["method"] == "PUT"]
    assert [p["status"] for p in puts] == [412, 200], "the stale write is refused, the re-read one applies"
    assert puts[0]["if_match"] != puts[1]["if_match"]
    stored = emu.get_resource(target)
    assert stored["properties"]["enableIPForwarding"] is True
    assert stored["tags"] == {"changed-by": "someone-else"}
    assert stored["properties"]["dnsSettings"]["dnsServers"] == ["10.9.9.9"]


def test_vm_names_throttling_and_transient_errors(azure_emulator):
    emu = azure_emulator
    emu.inject_faults(count=2, status=500, method="GET")
    emu.inject_faults(count=3, status=429, method="PUT", retry_after=1)

    result = run(emu, {"resource_group": "rg-k8s", "vms": ["node-0", "node-1", "node-2"]})

    assert result["changed"] is True and "failures" not in result
    assert [(n["vm"], n["private_ip"], n["changed"]) for n in result["nics"]] == [
        ("node-0", "10.240.0.4", True),
        ("node-1", "10.240.0.5", True),
        ("node-2", "10.240.0.6", True),
    ]
    arm = [r for r in emu.requests() if r["kind"] == "arm"]
    statuses = [(r["method"], r["status"]) for r in arm]
    assert statuses.count(("GET", 500)) == 2
    assert statuses.count(("PUT", 429)) == 3
    assert statuses.count(("PUT", 200)) == 3
    answered_reads = [r["path"].rsplit("/", 1)[-1] for r in arm if r["method"] == "GET" and r["status"] == 200]
    assert sorted(answered_reads) == ["networkInterfaces", "virtualMachines"], (
        "three targets in one group: one list of its VMs and one of its NICs, no GET per item"
    )
    for index in range(3):
        assert emu.get_resource(nic_id(f"node-{index}-nic"))["properties"]["enableIPForwarding"] is True


def test_partial_failure_completes_the_others_and_names_each_failure(azure_emulator):
    emu = azure_emulator
    emu.inject_faults(count=1, status=403, method="PUT", path_contains="node-1-nic")
    # One of the two writes that get through ends Failed (which one depends on timing).
    emu.fail_next_lro(count=1, code="InternalServerError", message="The NIC update failed on the host.")

    result = run(emu, {"resource_group": "rg-k8s", "vms": ["node-0", "node-1"], "nics": ["node-2-nic"]})

    assert result["failed"] is True
    message = result["msg"]
    assert message.startswith("Could not enable IP forwarding on 2 target(s): ")
    assert "NIC node-1-nic (resource group rg-k8s): " in message and "403" in message
    assert "The NIC update failed on the host." in message
    failed = {f["target"]: f["reason"] for f in result["failures"]}
    lro_failed = [t for t, reason in failed.items() if "failed on the host" in reason]
    assert len(lro_failed) == 1 and lro_failed[0] in (
        "NIC node-0-nic (resource group rg-k8s)", "NIC node-2-nic (resource group rg-k8s)"
    )
    completed = "node-2-nic" if "node-0-nic" in lro_failed[0] else "node-0-nic"
    assert [(n["name"], n["changed"]) for n in result["nics"]] == [(completed, True)]
    assert f"changed: {completed}" in message
    assert set(failed) == {"NIC node-1-nic (resource group rg-k8s)", lro_failed[0]}
    assert emu.get_resource(nic_id(completed))["properties"]["enableIPForwarding"] is True
    assert emu.get_resource(nic_id("node-1-nic"))["properties"]["enableIPForwarding"] is False


def test_an_unknown_vm_or_nic_fails_the_task_before_any_write(azure_emulator):
    """Issue 13 item 10: the known VMs' NICs used to be written before failing on the unknown one."""
    emu = azure_emulator
    before = {name: emu.get_resource(nic_id(name)) for name in ("node-0-nic", "node-1-nic", "node-2-nic")}

    result = run(
        emu, {"resource_group": "rg-k8s", "vms": ["node-0", "node-1", "ghost-vm"], "nics": ["node-2-nic", "missing-nic"]}
    )

    assert result["failed"] is True and result["changed"] is False
    assert arm_writes(emu) == []
    assert result["nics"] == []
    assert {f["target"] for f in result["failures"]} == {"VM ghost-vm", "NIC missing-nic"}
    message = result["msg"]
    assert message.startswith("Could not enable IP forwarding on 2 target(s): ")
    assert "VM ghost-vm: not found in resource group rg-k8s" in message
    assert message.endswith("Nothing was written: every target is resolved and read before the first write.")
    for name, document in before.items():
        assert emu.get_resource(nic_id(name)) == document


def test_check_mode_failure_says_what_would_change_not_what_changed(azure_emulator):
    """Issue 13 item 10: in check mode the failure message listed NICs as "changed"."""
    emu = azure_emulator
    emu.inject_faults(count=1, status=403, method="GET", path_contains="node-1-nic")

    result = run(emu, {"resource_group": "rg-k8s", "nics": ["node-0-nic", "node-1-nic"]}, check=True)

    assert result["failed"] is True
    assert arm_writes(emu) == []
    assert "changed:" not in result["msg"] and "were handled" not in result["msg"]
    assert "Nothing was written" in result["msg"]


def test_a_nic_left_failed_with_the_wanted_value_is_written_again(azure_emulator):
    """Issue 13 item 1: a Failed NIC holding the value was reported converged forever."""
    emu = azure_emulator
    target = nic_id("node-0-nic")
    emu.mutate(target, {"properties": {"enableIPForwarding": True, "provisioningState": "Failed"}})
    args = {"resource_group": "rg-k8s", "nics": ["node-0-nic"]}

    checked = run(emu, args, check=True)
    assert checked["changed"] is True and arm_writes(emu) == []
    assert emu.get_resource(target)["properties"]["provisioningState"] == "Failed"

    applied = run(emu, args)
    assert applied["changed"] is True
    assert [w["resource_id"].lower() for w in arm_writes(emu)] == [target.lower()]
    assert any("provisioningState Failed" in w and "re-applied" in w for w in applied.get("warnings", []))
    stored = emu.get_resource(target)
    assert stored["properties"]["provisioningState"] == "Succeeded"
    assert stored["properties"]["enableIPForwarding"] is True

    again = run(emu, args)
    assert again["changed"] is False and arm_writes(emu) == []


def test_targets_the_options_cannot_name_fail_before_any_request(azure_emulator):
    emu = azure_emulator
    vm_as_nic = rid("rg-k8s", "virtualMachines", "node-0", provider="Microsoft.Compute")

    result = run(emu, {"vms": ["node-0"], "nics": [vm_as_nic, nic_id("node-1-nic")]})

    assert result["failed"] is True
    assert result["msg"].startswith("Could not enable IP forwarding on 2 target(s): node-0: VM names need resource_group")
    assert f"{vm_as_nic}: is a Microsoft.Compute/virtualMachines id, not a NIC id" in result["msg"]
    assert result["nics"] == []
    assert [r for r in emu.requests() if r["kind"] == "arm"] == []


def test_a_write_applied_whose_answer_was_lost_is_read_again_not_written_twice(azure_emulator):
    """The stand-in applies node-0's PUT and resets the connection: the module must re-read, not fail or rewrite."""
    emu = azure_emulator
    target = nic_id("node-0-nic")
    other = nic_id("node-1-nic")
    emu.clear_log()
    emu.inject_faults(count=1, kind="apply_then_reset", method="PUT", path_contains="/networkInterfaces/node-0-nic")

    result = run(emu, {"resource_group": "rg-k8s", "nics": ["node-0-nic", "node-1-nic"]})

    assert result.get("failed") is not True and "failures" not in result, result
    assert result["changed"] is True
    assert [(n["name"], n["changed"], n["forwarding_after"]) for n in result["nics"]] == [
        ("node-0-nic", True, True), ("node-1-nic", True, True)]
    puts = [w for w in arm_writes(emu) if w["method"] == "PUT"]
    lost = [p for p in puts if p["status"] == 0]
    assert [p["resource_id"].lower() for p in lost] == [target.lower()], "the lost answer is the one injected"
    # The write that landed is not applied a second time: any re-send is refused by its If-Match (412).
    applied = sorted(p["resource_id"].lower() for p in puts if p["status"] in (200, 201))
    assert applied == [other.lower()], puts
    assert all(p["status"] == 412 for p in puts if p["resource_id"].lower() == target.lower() and p not in lost)
    for nic in (target, other):
        assert emu.get_resource(nic)["properties"]["enableIPForwarding"] is True

    again = run(emu, {"resource_group": "rg-k8s", "nics": ["node-0-nic", "node-1-nic"]})
    assert again["changed"] is False and arm_writes(emu) == []

"""Microsoft.Compute/virtualMachines: enough of a VM for NIC discovery.

A VM's ``networkProfile.networkInterfaces[]`` (each with ``properties.primary``)
is what modules follow from a node name to its NICs; the NIC's read-only
``virtualMachine`` back-reference is kept in sync by this module. Compute etags
are quoted integers that grow by one per write, as Compute answers them.
"""

from __future__ import annotations

import copy
import hashlib
import uuid

from ..store import stamp_etag, new_etag
from .errors import ArmError
from .ids import key
from .kinds import ResourceKind
from ..responses import Response

NS = "Microsoft.Compute"
VM = f"{NS}/virtualMachines"


def _nic_ids(doc: dict | None) -> list[str]:
    profile = ((doc or {}).get("properties") or {}).get("networkProfile") or {}
    return [n["id"] for n in profile.get("networkInterfaces") or [] if isinstance(n, dict) and n.get("id")]


def _mac_for(nic_id: str) -> str:
    digest = hashlib.sha256(key(nic_id).encode()).digest()
    return "00-0D-3A-" + "-".join(f"{b:02X}" for b in digest[:3])


class VirtualMachineKind(ResourceKind):
    full_type = VM
    namespace = NS
    operation_noun = "VirtualMachine"
    etag_style = "counter"

    def build(self, engine, resource_id, name, existing, body):
        doc = self.base_document(engine, resource_id, name, existing, body)
        props = copy.deepcopy(body.get("properties") or {})
        old_props = (existing or {}).get("properties") or {}
        props.pop("provisioningState", None)
        props.pop("instanceView", None)
        if "instanceView" in old_props:  # read-only: reported by the platform, kept across PUTs
            props["instanceView"] = copy.deepcopy(old_props["instanceView"])
        props["vmId"] = old_props.get("vmId") or str(uuid.uuid4())
        if "timeCreated" in old_props:
            props["timeCreated"] = old_props["timeCreated"]
        # Read-only, owned by things the stand-in does not model (extensions, scale sets): kept as stored.
        for owned in ("resources", "managedBy"):
            if existing and owned in existing:
                doc[owned] = copy.deepcopy(existing[owned])
        nics = (props.get("networkProfile") or {}).get("networkInterfaces") or []
        for nic in nics:
            nic_id = nic.get("id") if isinstance(nic, dict) else None
            target = engine.store.get(nic_id) if nic_id else None
            if target is None:
                raise ArmError(
                    400,
                    "InvalidParameter",
                    f"Network interface {nic_id} referenced by virtual machine {resource_id} was not found.",
                )
            owner = ((target.get("properties") or {}).get("virtualMachine") or {}).get("id")
            if owner and key(owner) != key(resource_id):
                raise ArmError(
                    400,
                    "NicInUse",
                    f"Network Interface {nic_id} is used by existing resource {owner}.",
                )
        if len(nics) > 1 and not any((n.get("properties") or {}).get("primary") for n in nics):
            raise ArmError(
                400,
                "VirtualMachineMustHavePrimaryNetworkInterface",
                f"Virtual machine {resource_id} has more than one network interface; one must be marked primary.",
            )
        doc["properties"] = props
        return doc

    def route(self, engine, method, path, path_str, query, headers, body, version):
        """``GET .../virtualMachines/{vm}/instanceView`` and ``GET ...?$expand=instanceView``."""
        if method != "GET" or not path.names:
            return None
        wants_view = path.kind == "child_list" and path.types[1].lower() == "instanceview"
        expanded = path.kind == "resource" and "instanceview" in str(query.get("$expand", "")).lower()
        if not (wants_view or expanded):
            return None
        engine.require_resource_group(path)
        stored = engine.store.get(path.top_id())
        if stored is None:
            from .errors import not_found_top

            raise not_found_top(VM, path.names[0], path.resource_group)
        view = vm_instance_view(stored)
        if wants_view:
            return Response(200, view)
        answer = self.render(engine, stored)
        answer.setdefault("properties", {})["instanceView"] = view
        return Response(200, answer)

    def after_write(self, engine, old, new):
        before = {key(i): i for i in _nic_ids(old)}
        after = {key(i): i for i in _nic_ids(new)}
        primary = None
        for nic in ((new or {}).get("properties") or {}).get("networkProfile", {}).get("networkInterfaces") or []:
            if (nic.get("properties") or {}).get("primary") or len(after) == 1:
                primary = key(nic["id"])
                break
        for nic_key, nic_id in {**before, **after}.items():
            nic = engine.store.get(nic_id)
            if nic is None:
                continue
            props = nic.setdefault("properties", {})
            if nic_key in after:
                props["virtualMachine"] = {"id": new["id"]}
                props["primary"] = nic_key == primary
                # A NIC gets its MAC address when the VM it is attached to is allocated.
                props.setdefault("macAddress", _mac_for(nic["id"]))
            else:
                props.pop("virtualMachine", None)
                props.pop("primary", None)
            stamp_etag(nic, new_etag(), ("ipConfigurations",))


def vm_instance_view(vm: dict) -> dict:
    """What Compute reports for a VM: the stored one when the platform set it (a seed), else a running VM's."""
    from .vmss import instance_view

    props = vm.get("properties") or {}
    if props.get("instanceView"):
        return copy.deepcopy(props["instanceView"])
    name = (props.get("osProfile") or {}).get("computerName") or vm["name"]
    os_disk = ((props.get("storageProfile") or {}).get("osDisk") or {}).get("name")
    return instance_view(name, props.get("timeCreated"), os_disk)


KINDS: dict[str, ResourceKind] = {VM: VirtualMachineKind()}

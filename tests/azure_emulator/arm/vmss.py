# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Microsoft.Compute/virtualMachineScaleSets: the model, its instances and their NICs.

Uniform scale sets keep their instances inside the stored document (under
:data:`STATE`, never rendered): each instance remembers the model
(``virtualMachineProfile``) it runs and the private IPs it was given. A model
write (PUT, or PATCH as a JSON merge of the body) bumps the model version;
``latestModelApplied`` is true when an instance runs the current version.
Upgrade policies, as Compute applies them:

* ``Manual``: instances stay on their model until ``POST .../manualupgrade``
  (body ``{"instanceIds": [...]}``, an LRO answered 202 + Location) names them;
* ``Automatic`` and ``Rolling``: the platform upgrades every instance itself.
  The stand-in does it when the model write's LRO completes (``Rolling``'s
  batches are not modelled: all instances at once, at that moment).

The instances' NICs are served read-only by Microsoft.Network's scale-set NIC
API on the Compute path (``.../virtualMachineScaleSets/{ss}/networkInterfaces``,
``.../virtualMachines/{id}/networkInterfaces[/{nic}[/ipConfigurations[/{ip}]]]``)
with the instance's *applied* model: ``enableIPForwarding`` changes on an
instance NIC only when the instance gets the new model.

Flexible scale sets: their instances are ordinary ``virtualMachines`` (with
``properties.virtualMachineScaleSet.id``) and ordinary NICs; the scale set's
``virtualMachines`` list names them by ``virtualMachineResourceId``.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import uuid

from ..responses import Response
from . import errors
from .errors import ArmError
from .ids import key
from .kinds import ResourceKind
from .references import normalize_references
from .writes import commit_top, finish_callbacks

NS = "Microsoft.Compute"
VMSS = f"{NS}/virtualMachineScaleSets"
VMSS_VM = f"{VMSS}/virtualMachines"
VM = f"{NS}/virtualMachines"
STATE = "__emulatorScaleSetState"  # instances and model version; stripped from every answer
UPGRADE_MODES = ("Manual", "Automatic", "Rolling")
# Read-only properties Compute keeps whatever a PUT says.
SERVER_OWNED = ("uniqueId", "timeCreated", "provisioningState")


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def computer_name(prefix: str, instance_id: str) -> str:
    """Uniform instances are named prefix + the instance id in base 36, six characters ("pool000000")."""
    return f"{prefix}{_base36(int(instance_id)).rjust(6, '0')}"


def nic_configurations(model: dict | None) -> list[dict]:
    return (((model or {}).get("networkProfile") or {}).get("networkInterfaceConfigurations")) or []


def _merge(target: dict, patch: dict) -> dict:
    """A PATCH of a Compute resource: objects merge, arrays and scalars replace (null removes)."""
    for name, value in patch.items():
        if value is None:
            target.pop(name, None)
        elif isinstance(value, dict) and isinstance(target.get(name), dict):
            _merge(target[name], value)
        else:
            target[name] = copy.deepcopy(value)
    return target


def instance_view(name: str, created: str | None, os_disk: str | None = None) -> dict:
    """The Compute RP's instanceView of a running, provisioned VM (ordinary or scale-set)."""
    when = created or _now()
    view = {
        "computerName": name,
        "osName": "ubuntu",
        "osVersion": "24.04",
        "vmAgent": {
            "vmAgentVersion": "2.12.0.2",
            "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Ready",
                          "message": "Guest Agent is running", "time": when}],
            "extensionHandlers": [],
        },
        "disks": [{"name": os_disk or f"{name}_OsDisk_1", "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": when}]}],
        "hyperVGeneration": "V2",
        "statuses": [
            {"code": "ProvisioningState/succeeded", "level": "Info", "displayStatus": "Provisioning succeeded", "time": when},
            {"code": "PowerState/running", "level": "Info", "displayStatus": "VM running"},
        ],
    }
    return view


def _model_defaults(model: dict) -> None:
    """What Compute fills in a model it stores (and answers) when the PUT left it out."""
    os_profile = model.get("osProfile")
    if os_profile is not None:
        os_profile.setdefault("secrets", [])
        image = ((model.get("storageProfile") or {}).get("imageReference") or {})
        os_type = (((model.get("storageProfile") or {}).get("osDisk")) or {}).get("osType")
        windows = os_type == "Windows" or "windows" in str(image.get("publisher", "")).lower()
        if windows and "linuxConfiguration" not in os_profile:
            os_profile.setdefault("windowsConfiguration", {"provisionVMAgent": True, "enableAutomaticUpdates": True})
        elif not windows and "windowsConfiguration" not in os_profile:
            linux = os_profile.setdefault("linuxConfiguration", {})
            linux.setdefault("disablePasswordAuthentication", False)
            linux.setdefault("provisionVMAgent", True)
    if model:
        model.setdefault("securityProfile", {}).setdefault("securityType", "Standard")
    for config in nic_configurations(model):
        cprops = config.setdefault("properties", {})
        cprops.setdefault("dnsSettings", {"dnsServers": []})
        cprops.setdefault("enableAcceleratedNetworking", False)
        cprops.setdefault("enableFpga", False)
        cprops.setdefault("enableIPForwarding", False)
        for ipc in cprops.get("ipConfigurations") or []:
            ipc.setdefault("properties", {}).setdefault("privateIPAddressVersion", "IPv4")


class ScaleSetKind(ResourceKind):
    full_type = VMSS
    namespace = NS
    operation_noun = "VirtualMachineScaleSet"
    etag_style = "counter"

    # ------------------------------------------------------------------ documents
    def build(self, engine, resource_id, name, existing, body):
        doc = self.base_document(engine, resource_id, name, existing, body)
        props = copy.deepcopy(body.get("properties") or {})
        old_props = (existing or {}).get("properties") or {}
        for read_only in SERVER_OWNED:
            props.pop(read_only, None)
        props["uniqueId"] = old_props.get("uniqueId") or str(uuid.uuid4())
        props["timeCreated"] = old_props.get("timeCreated") or _now()
        mode = props.get("orchestrationMode") or old_props.get("orchestrationMode") or "Uniform"
        if existing and old_props.get("orchestrationMode") and mode != old_props["orchestrationMode"]:
            raise ArmError(400, "PropertyChangeNotAllowed",
                           "Changing property 'orchestrationMode' is not allowed.")
        if mode not in ("Uniform", "Flexible"):
            raise ArmError(400, "InvalidParameter", f"The value '{mode}' of parameter 'orchestrationMode' is not valid.")
        props["orchestrationMode"] = mode
        policy = props.setdefault("upgradePolicy", {"mode": "Manual"}) if mode == "Uniform" else props.get("upgradePolicy")
        if policy is not None:
            policy.setdefault("mode", "Manual")
            if policy["mode"] not in UPGRADE_MODES:
                raise ArmError(400, "InvalidParameter",
                               f"The value '{policy['mode']}' of parameter 'upgradePolicy.mode' is not valid.")
        model = props.get("virtualMachineProfile")
        if model is not None:
            _model_defaults(model)
        if mode == "Uniform":
            props.setdefault("singlePlacementGroup", old_props.get("singlePlacementGroup", True))
        for config in nic_configurations(model):
            for ipc in (config.get("properties") or {}).get("ipConfigurations") or []:
                subnet_id = (((ipc.get("properties") or {}).get("subnet")) or {}).get("id")
                if subnet_id and engine.get_document(subnet_id)[3] is None:
                    raise ArmError(400, "InvalidParameter",
                                   f"Subnet {subnet_id} referenced by scale set {resource_id} was not found.")
        state = copy.deepcopy((existing or {}).get(STATE) or {"modelVersion": 1, "instances": [], "nextInstanceId": 0})
        if existing is not None and model != old_props.get("virtualMachineProfile"):
            state["modelVersion"] += 1
        doc["properties"] = props
        doc[STATE] = state
        if mode == "Uniform":
            self._scale(engine, doc, int(((doc.get("sku") or {}).get("capacity")) or 0))
        return doc

    def _scale(self, engine, doc: dict, capacity: int) -> None:
        """New instances start on the current model; a lower capacity removes the highest instance ids."""
        state = doc[STATE]
        instances = state["instances"]
        while len(instances) > capacity:
            instances.pop()
        while len(instances) < capacity:
            instance_id = str(state["nextInstanceId"])
            state["nextInstanceId"] += 1
            instance = {"instanceId": instance_id, "vmId": str(uuid.uuid4()), "timeCreated": _now(), "etag": 1, "ips": {}}
            instances.append(instance)
            self._apply_model(engine, doc, instance)

    def _apply_model(self, engine, doc: dict, instance: dict) -> None:
        model = copy.deepcopy(doc["properties"].get("virtualMachineProfile") or {})
        instance["model"] = model
        instance["modelVersion"] = doc[STATE]["modelVersion"]
        for config in nic_configurations(model):
            for ipc in (config.get("properties") or {}).get("ipConfigurations") or []:
                slot = f"{config.get('name')}/{ipc.get('name')}".lower()
                if slot in instance["ips"]:
                    continue
                subnet_id = (((ipc.get("properties") or {}).get("subnet")) or {}).get("id")
                subnet = engine.get_document(subnet_id)[3] if subnet_id else None
                if subnet is not None:
                    from .network import _allocate_ip  # local: network imports this module's iterator

                    taken = {ip for other in doc[STATE]["instances"] for ip in other["ips"].values()}
                    taken |= {ip for ip in scale_set_addresses(engine) if ip}
                    address = _allocate_ip(engine, subnet, "IPv4", taken)
                    if address:
                        instance["ips"][slot] = address

    def upgrade(self, engine, doc: dict, instance_ids: list[str] | None) -> None:
        for instance in doc[STATE]["instances"]:
            if instance_ids is None or instance["instanceId"] in instance_ids:
                if instance["modelVersion"] != doc[STATE]["modelVersion"]:
                    self._apply_model(engine, doc, instance)
                    instance["etag"] += 1

    def render(self, engine, stored):
        doc = copy.deepcopy(stored)
        doc.pop(STATE, None)
        return doc

    # ------------------------------------------------------------------ routing
    def route(self, engine, method, path, path_str, query, headers, body, version):
        """Serve what the generic engine does not: model PATCH, manualupgrade, instances and their NICs."""
        if path.kind == "resource" and method in ("PUT", "PATCH"):
            return self._write_model(engine, path, method, headers, body, version)
        if len(path.types) < 2:
            return None
        segment = path.types[1].lower()
        if path.kind == "child_list" and segment == "manualupgrade" and method == "POST":
            return self._manual_upgrade(engine, path, body, version)
        if segment not in ("virtualmachines", "networkinterfaces"):
            return None
        if method != "GET":
            raise ArmError(405, "MethodNotAllowed", f"The requested method '{method}' is not allowed for this resource.")
        scale_set = self._scale_set(engine, path)
        if segment == "networkinterfaces":
            if path.kind != "child_list":
                return None
            nics = [nic for inst in self._uniform_instances(scale_set) for nic in self.instance_nics(scale_set, inst)]
            return engine.page(nics, path_str, query, version)
        if path.kind == "child_list":
            items = [self.render_instance(engine, scale_set, inst, query) for inst in self._instances(engine, scale_set)]
            return engine.page(items, path_str, query, version)
        instance = self._find_instance(engine, scale_set, path.names[1])
        rest = [t.lower() for t in path.types[2:]]
        if not rest:
            return Response(200, self.render_instance(engine, scale_set, instance, query, single=True))
        if rest == ["instanceview"] and len(path.names) == 2:
            return Response(200, self._instance_view(engine, scale_set, instance))
        if rest[0] != "networkinterfaces" or not isinstance(instance, dict) or "model" not in instance:
            return None
        nics = self.instance_nics(scale_set, instance)
        if len(path.names) == 2:
            return engine.page(nics, path_str, query, version)
        nic = next((n for n in nics if n["name"].lower() == path.names[2].lower()), None)
        if nic is None:
            raise errors.not_found_child(path.item_id())
        configs = nic["properties"]["ipConfigurations"]
        if len(rest) == 1:
            return Response(200, nic)
        if rest[1] != "ipconfigurations":
            return None
        if len(path.names) == 3:
            return engine.page(configs, path_str, query, version)
        config = next((c for c in configs if c["name"].lower() == path.names[3].lower()), None)
        if config is None:
            raise errors.not_found_child(path.item_id())
        return Response(200, config)

    def _scale_set(self, engine, path) -> dict:
        engine.require_resource_group(path)
        stored = engine.store.get(path.top_id())
        if stored is None:
            raise errors.not_found_top(VMSS, path.names[0], path.resource_group)
        return stored

    @staticmethod
    def _uniform_instances(scale_set: dict) -> list[dict]:
        return list((scale_set.get(STATE) or {}).get("instances") or [])

    def _instances(self, engine, scale_set: dict) -> list:
        """Uniform: the stored instances. Flexible: the ordinary VMs that name this scale set."""
        if scale_set["properties"].get("orchestrationMode") == "Flexible":
            return [vm for vm in engine.store.of_type(VM) if key(
                (((vm.get("properties") or {}).get("virtualMachineScaleSet")) or {}).get("id") or "") == key(scale_set["id"])]
        return self._uniform_instances(scale_set)

    def _find_instance(self, engine, scale_set: dict, instance_id: str):
        for instance in self._instances(engine, scale_set):
            name = instance["instanceId"] if "instanceId" in instance else instance["name"]
            if str(name).lower() == instance_id.lower():
                return instance
        raise ArmError(404, "NotFound", f"The entity was not found in this Azure location. Instance '{instance_id}' "
                                        f"of scale set '{scale_set['name']}' does not exist.")

    # ------------------------------------------------------------------ instances
    def render_instance(self, engine, scale_set: dict, instance: dict, query: dict, single: bool = False) -> dict:
        ss_id = scale_set["id"]
        if "model" not in instance:  # a Flexible member: an ordinary VM
            vm_id = instance["id"]
            out = {"name": instance["name"], "id": f"{ss_id}/virtualMachines/{instance['name']}", "type": VMSS_VM,
                   "location": instance.get("location"), "instanceId": instance["name"], "etag": instance.get("etag"),
                   "properties": {"virtualMachineResourceId": vm_id}}
            if single:  # Microsoft's Get example names the VM at the top level, the List example under properties
                out["virtualMachineResourceId"] = vm_id
            return out
        model = instance["model"]
        vm_id = f"{ss_id}/virtualMachines/{instance['instanceId']}"
        os_profile = copy.deepcopy(model.get("osProfile") or {})
        prefix = os_profile.pop("computerNamePrefix", scale_set["name"])
        os_profile["computerName"] = computer_name(prefix, instance["instanceId"])
        os_profile.pop("adminPassword", None)  # never answered
        latest = instance["modelVersion"] == scale_set[STATE]["modelVersion"]
        props = {
            "latestModelApplied": latest,
            "modelDefinitionApplied": "VirtualMachineScaleSet",
            "vmId": instance["vmId"],
            "hardwareProfile": copy.deepcopy(model.get("hardwareProfile") or {}),
            "storageProfile": copy.deepcopy(model.get("storageProfile") or {}),
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [
                {"id": f"{vm_id}/networkInterfaces/{c['name']}"} for c in nic_configurations(model)]},
            "networkProfileConfiguration": {"networkInterfaceConfigurations": copy.deepcopy(nic_configurations(model))},
            "provisioningState": "Succeeded",
            "timeCreated": instance["timeCreated"],
        }
        for name, value in model.items():  # the rest of the model as the instance runs it
            if name not in props and name not in ("networkProfile", "userData"):
                props[name] = copy.deepcopy(value)
        if "userdata" in str(query.get("$expand", "")).lower() and "userData" in model:
            props["userData"] = model["userData"]
        if "instanceview" in str(query.get("$expand", "")).lower():
            props["instanceView"] = self._instance_view(engine, scale_set, instance)
        out = {"name": f"{scale_set['name']}_{instance['instanceId']}", "id": vm_id, "type": VMSS_VM,
               "location": scale_set.get("location"), "instanceId": instance["instanceId"],
               "etag": f'"{instance["etag"]}"', "properties": props}
        if scale_set.get("sku"):
            out["sku"] = {"name": scale_set["sku"].get("name"), "tier": scale_set["sku"].get("tier", "Standard")}
        if scale_set.get("tags"):
            out["tags"] = dict(scale_set["tags"])
        if scale_set.get("zones"):
            out["zones"] = list(scale_set["zones"])
        return out

    def _instance_view(self, engine, scale_set: dict, instance: dict) -> dict:
        if "model" not in instance:
            from .compute import vm_instance_view

            return vm_instance_view(instance)
        name = self.render_instance(engine, scale_set, instance, {})["properties"]["osProfile"]["computerName"]
        view = instance_view(name, instance["timeCreated"])
        view.update({"platformUpdateDomain": 0, "platformFaultDomain": 0})
        return view

    def instance_nics(self, scale_set: dict, instance: dict) -> list[dict]:
        """Microsoft.Network's view of one Uniform instance's NICs, from the model the instance runs."""
        vm_id = f"{scale_set['id']}/virtualMachines/{instance['instanceId']}"
        nics = []
        for config in nic_configurations(instance["model"]):
            cprops = config.get("properties") or {}
            nic_id = f"{vm_id}/networkInterfaces/{config['name']}"
            etag = 'W/"' + str(uuid.uuid5(uuid.NAMESPACE_URL, f"{key(nic_id)}#{instance['etag']}")) + '"'
            ip_configs = []
            for index, ipc in enumerate(cprops.get("ipConfigurations") or []):
                iprops = ipc.get("properties") or {}
                slot = f"{config['name']}/{ipc['name']}".lower()
                out_props = {
                    "provisioningState": "Succeeded",
                    "privateIPAllocationMethod": "Dynamic",
                    "primary": bool(iprops.get("primary", index == 0)),
                    "privateIPAddressVersion": iprops.get("privateIPAddressVersion", "IPv4"),
                }
                if instance["ips"].get(slot):
                    out_props["privateIPAddress"] = instance["ips"][slot]
                if iprops.get("subnet"):
                    out_props["subnet"] = {"id": iprops["subnet"]["id"]}
                for pools in ("loadBalancerBackendAddressPools", "applicationGatewayBackendAddressPools", "applicationSecurityGroups"):
                    if iprops.get(pools):
                        out_props[pools] = [{"id": p["id"]} for p in iprops[pools]]
                # Each instance gets one NAT rule per inbound NAT pool: <pool>.<instance id>.
                out_props["loadBalancerInboundNatRules"] = [
                    {"id": p["id"].replace("/inboundNatPools/", "/inboundNatRules/") + f".{instance['instanceId']}"}
                    for p in iprops.get("loadBalancerInboundNatPools") or []]
                ip_configs.append({"name": ipc["name"], "id": f"{nic_id}/ipConfigurations/{ipc['name']}", "etag": etag,
                                   "properties": out_props})
            props = {
                "provisioningState": "Succeeded",
                "resourceGuid": str(uuid.uuid5(uuid.NAMESPACE_URL, key(nic_id))),
                "ipConfigurations": ip_configs,
                "dnsSettings": {"dnsServers": list(((cprops.get("dnsSettings") or {}).get("dnsServers")) or []),
                                "appliedDnsServers": [],
                                "internalDomainNameSuffix": f"{scale_set['properties']['uniqueId'].replace('-', '')[:26]}.ax.internal.cloudapp.net"},
                "macAddress": "00-0D-3A-" + "-".join(f"{b:02X}" for b in hashlib.sha256(key(nic_id).encode()).digest()[:3]),
                "enableAcceleratedNetworking": bool(cprops.get("enableAcceleratedNetworking", False)),
                "enableIPForwarding": bool(cprops.get("enableIPForwarding", False)),
                "primary": bool(cprops.get("primary", len(nic_configurations(instance["model"])) == 1)),
                "virtualMachine": {"id": vm_id},
                "nicType": "Standard",
            }
            if cprops.get("networkSecurityGroup"):
                props["networkSecurityGroup"] = {"id": cprops["networkSecurityGroup"]["id"]}
            nics.append({"name": config["name"], "id": nic_id, "etag": etag, "properties": props})
        return nics

    # ------------------------------------------------------------------ writes
    def _write_model(self, engine, path, method, headers, body, version):
        engine.require_resource_group(path)
        existing = engine.store.get(path.item_id())
        if method == "PATCH":
            if existing is None:
                raise errors.not_found_top(VMSS, path.names[0], path.resource_group)
            merged = self.render(engine, existing)
            merged.pop("etag", None)
            body = _merge(merged, body)
        resource_id = existing["id"] if existing else path.item_id()
        engine.check_preconditions(headers, existing, resource_id)
        noun = "Put" if method == "PUT" else "Patch"
        engine.check_not_busy(resource_id, f"{noun}{self.operation_noun}Operation")
        body = normalize_references(copy.deepcopy(body), resource_id)
        doc = self.build(engine, resource_id, existing["name"] if existing else path.names[0], existing, body)
        commit_top(engine, self, existing, doc)
        op = engine.start_operation("put", path, self, resource_id, resource_id, f"{noun}{self.operation_noun}Operation",
                                    doc.get("location"))
        succeed, fail = finish_callbacks(engine, resource_id, self)

        def finished() -> None:
            succeed()
            current = engine.store.get(resource_id)
            mode = ((current or {}).get("properties", {}).get("upgradePolicy") or {}).get("mode", "Manual")
            if current is not None and mode in ("Automatic", "Rolling"):
                # The platform rolls the new model out itself (Rolling's batches: all at once, here).
                self.upgrade(engine, current, None)

        op.on_success, op.on_failure = finished, fail
        status = 201 if existing is None else 200
        return Response(status, self.render(engine, doc), engine.operation_headers(op, version, location_header=False))

    def _manual_upgrade(self, engine, path, body, version):
        scale_set = self._scale_set(engine, path)
        ids = body.get("instanceIds")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ArmError(400, "InvalidParameter", "The parameter 'instanceIds' must be a non-empty list of instance ids.")
        if scale_set["properties"].get("orchestrationMode") == "Flexible":
            raise ArmError(400, "OperationNotAllowed",
                           f"Manual upgrade is not supported on scale set '{scale_set['name']}' with Flexible orchestration: "
                           "update its virtual machines directly.")
        known = {i["instanceId"] for i in self._uniform_instances(scale_set)}
        unknown = [i for i in ids if i not in known]
        if unknown:
            raise ArmError(400, "InvalidParameter", f"The instance ids {unknown} are not in scale set '{scale_set['name']}'.")
        resource_id = scale_set["id"]
        engine.check_not_busy(resource_id, "UpdateInstancesVirtualMachineScaleSetOperation")
        op = engine.start_operation("post", path, self, resource_id, resource_id,
                                    "UpdateInstancesVirtualMachineScaleSetOperation", scale_set.get("location"))

        def upgraded() -> None:
            current = engine.store.get(resource_id)
            if current is not None:
                self.upgrade(engine, current, list(ids))

        op.on_success = upgraded
        headers = engine.operation_headers(op, version, location_header=True)
        return Response(202, None, headers)


def scale_set_addresses(engine):
    """Private IPs of every Uniform instance (so ordinary NICs are not given one of them)."""
    for scale_set in engine.store.of_type(VMSS):
        for instance in (scale_set.get(STATE) or {}).get("instances") or []:
            yield from instance["ips"].values()


KINDS: dict[str, ResourceKind] = {VMSS: ScaleSetKind()}

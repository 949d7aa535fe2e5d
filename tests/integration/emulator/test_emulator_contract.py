"""Contract: Microsoft's published REST examples replayed against the stand-in.

For every example under ``shared/azure-rest-examples`` (beside the checkout) (``network/*.json``,
``compute/*.json``) the test seeds what the example refers to, sends the example's
request, and checks that the answer has every field of Microsoft's response with the
same structure and JSON types (values such as ids, etags and GUIDs may differ), that
the status code is one the example lists, and that the LRO headers it shows are sent.

How subjects are seeded: the resources a request refers to (subnets, public IPs, NSGs,
NAT gateways, NICs, VMs) are created first; for GET/list examples the resources in the
example's answer are written through the same validated PUT a client would send, so
the stand-in itself produces every server-owned field. The only fields set out of band
are ones no PUT can set (``dscpConfiguration``: linked by a DSCP configuration resource
the stand-in does not model). Out of scope examples are listed in OUT_OF_SCOPE with the
reason.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
import time
import uuid
from pathlib import Path

import pytest

from azure_emulator.arm.errors import ArmError
from azure_emulator.arm.ids import parse
from helpers.shared import shared_dir

# ../shared beside the checkout (or CALICO_AZURE_SHARED); a missing contract fails collection loudly.
EXAMPLES = shared_dir("azure-rest-examples")
FILES = sorted(EXAMPLES.glob("network/*.json")) + sorted(EXAMPLES.glob("compute/*.json"))

# Example -> why it is not replayed as-is. Empty when every example passes.
OUT_OF_SCOPE: dict[str, str] = {}

GENERIC_NETWORK_TYPES = ("networksecuritygroups", "publicipaddresses", "natgateways", "applicationsecuritygroups", "loadbalancers")
SUB_PLACEHOLDERS = ("{subscription-id}", "{subscriptionId}")
NAME_PARAMS = {
    "routeTableName": "routeTables", "routeName": "routes", "virtualNetworkName": "virtualNetworks",
    "subnetName": "subnets", "networkInterfaceName": "networkInterfaces", "vmName": "virtualMachines",
}


def load_example(path: Path) -> dict:
    """The example with placeholders made concrete: subscription placeholders -> one uuid, {x} -> x."""
    text = path.read_text()
    sub = str(uuid.uuid5(uuid.NAMESPACE_URL, path.name))
    for placeholder in SUB_PLACEHOLDERS:
        text = text.replace(placeholder, sub)
    text = re.sub(r"\{([A-Za-z0-9_-]+)\}", r"\1", text)
    return json.loads(text)


# ------------------------------------------------------------------------------------ shape check
def shape_mismatches(expected, actual, where: str = "$") -> list[str]:
    """Every field of ``expected`` must be in ``actual`` with the same JSON type, recursively."""
    if expected is None:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {type(actual).__name__}"]
        problems = []
        for name, value in expected.items():
            if name not in actual:
                problems.append(f"{where}.{name}: missing")
            else:
                problems += shape_mismatches(value, actual[name], f"{where}.{name}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected an array, got {type(actual).__name__}"]
        if expected and not actual:
            return [f"{where}: expected {len(expected)} items, got none"]
        problems = []
        for index, item in enumerate(expected):
            problems += shape_mismatches(item, actual[min(index, len(actual) - 1)], f"{where}[{index}]")
        return problems
    if isinstance(expected, bool) or isinstance(actual, bool):
        ok = isinstance(expected, bool) and isinstance(actual, bool)
    elif isinstance(expected, (int, float)):
        ok = isinstance(actual, (int, float))
    else:
        ok = isinstance(actual, type(expected))
    return [] if ok else [f"{where}: expected {type(expected).__name__}, got {type(actual).__name__} ({actual!r})"]


def test_shape_check_catches_missing_and_mistyped_fields():
    expected = {"a": {"b": [{"c": 1, "d": "x"}]}, "e": True, "f": None}
    assert shape_mismatches(expected, {"a": {"b": [{"c": 2.5, "d": "y", "extra": 1}]}, "e": False, "f": 3}) == []
    assert shape_mismatches(expected, {"a": {"b": [{"c": "1"}]}, "e": 1, "f": None}) == [
        "$.a.b[0].c: expected int, got str ('1')",
        "$.a.b[0].d: missing",
        "$.e: expected bool, got int (1)",
    ]
    assert shape_mismatches(expected, {"a": {"b": []}, "e": True, "f": None}) == ["$.a.b: expected 1 items, got none"]


# ------------------------------------------------------------------------------------ seeding
class Seeder:
    """Creates what an example refers to, through the stand-in's validated out-of-band writes."""

    def __init__(self, emu, example: dict) -> None:
        self.emu = emu
        self.params = example["parameters"]
        self.sub = self.params["subscriptionId"]
        self.location = "westus"
        self._prefixes = (f"192.168.{i}.0/24" for i in itertools.count())

    def resource_group(self, name: str, sub: str | None = None) -> None:
        rg_id = f"/subscriptions/{sub or self.sub}/resourceGroups/{name}"
        if self.emu.get_resource(rg_id) is None:
            self.emu.put_resource(rg_id, {"location": self.location})

    def ensure(self, resource_id: str, skip: tuple[str, ...] = ()) -> None:
        """Make a referenced resource exist (creating its parents), unless it is the subject."""
        if any(resource_id.lower().startswith(s.lower()) for s in skip) or self.emu.get_resource(resource_id) is not None:
            return
        path = parse(resource_id)
        if path.kind not in ("resource", "child") or path.namespace is None:
            return
        self.resource_group(path.resource_group, path.subscription)
        top_type = path.types[0].lower()
        top_id = path.top_id()
        if top_type == "routetables":
            if self.emu.get_resource(top_id) is None:
                self.emu.put_resource(top_id, {"location": self.location, "properties": {"routes": []}})
            if path.kind == "child" and path.types[1].lower() == "routes":
                self.emu.put_resource(resource_id, {"properties": {"addressPrefix": next(self._prefixes), "nextHopType": "VnetLocal"}})
        elif top_type == "virtualnetworks":
            if self.emu.get_resource(top_id) is None:
                self.emu.put_resource(top_id, {"location": self.location, "properties": {
                    "addressSpace": {"addressPrefixes": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]}}})
            if path.kind == "child" and path.types[1].lower() == "subnets":
                self.emu.put_resource(resource_id, {"properties": {"addressPrefix": next(self._prefixes)}})
        elif top_type == "networkinterfaces" and path.kind == "resource":
            subnet = (f"/subscriptions/{path.subscription}/resourceGroups/{path.resource_group}"
                      "/providers/Microsoft.Network/virtualNetworks/contract-vnet/subnets/contract-subnet")
            self.ensure(subnet)
            self.emu.put_resource(resource_id, {"location": self.location, "properties": {
                "ipConfigurations": [{"name": "ipconfig1", "properties": {"subnet": {"id": subnet}}}]}})
        elif top_type in GENERIC_NETWORK_TYPES and path.kind == "resource":
            self.emu.put_resource(resource_id, {"location": self.location, "properties": {}})
        elif top_type == "virtualmachines" and path.namespace.lower() == "microsoft.compute" and path.kind == "resource":
            self.emu.put_resource(resource_id, {"location": self.location, "properties": {"hardwareProfile": {"vmSize": "Standard_D2s_v5"}}})

    def references(self, document, skip: tuple[str, ...]) -> None:
        for found in sorted(set(re.findall(r'"(/subscriptions/[^"]+)"', json.dumps(document))), key=len):
            self.ensure(found, skip)

    def subject(self, body: dict) -> None:
        """Write a resource of an example answer the way a client would PUT it."""
        resource_id = body["id"]
        self.location = body.get("location", self.location)
        self.resource_group(parse(resource_id).resource_group, parse(resource_id).subscription)
        self.references(body, skip=(resource_id,))
        path = parse(resource_id)
        if path.kind == "child":
            self.ensure(path.top_id(), skip=())
        if path.namespace.lower() == "microsoft.compute":
            body = self.own_nics(body)
        try:
            self.emu.put_resource(resource_id, body)
        except ArmError as exc:
            if exc.code != "NetcfgSubnetRangesOverlap":
                raise
            # Microsoft's list example shows two subnets with one prefix, which the RP refuses: values may differ.
            body = copy.deepcopy(body)
            body["properties"]["addressPrefix"] = next(self._prefixes)
            self.emu.put_resource(resource_id, body)
        # Read-only fields no PUT can set, owned by resources the stand-in does not model
        # (a DSCP configuration, VM extensions and agent status, a scale set): set out of band, as those would.
        owned = {k: body["properties"][k] for k in ("dscpConfiguration", "instanceView") if k in body.get("properties", {})}
        top_owned = {k: body[k] for k in ("resources", "managedBy") if k in body}
        if owned or top_owned:
            self.emu.mutate(resource_id, {**top_owned, **({"properties": owned} if owned else {})})
        self.load_balancer_frontends(body)
        vm = (body.get("properties") or {}).get("virtualMachine")
        if vm and path.types[0].lower() == "networkinterfaces":
            # The NIC's virtualMachine/primary/macAddress come from attaching it to a VM.
            self.emu.put_resource(vm["id"], {"location": body.get("location", self.location), "properties": {
                "hardwareProfile": {"vmSize": "Standard_D2s_v5"},
                "networkProfile": {"networkInterfaces": [{"id": resource_id, "properties": {"primary": True}}]}}})

    def own_nics(self, vm: dict) -> dict:
        """Give a VM NICs of its own: generated examples let two VMs share one, which Compute refuses."""
        vm = copy.deepcopy(vm)
        for nic in ((vm.get("properties") or {}).get("networkProfile") or {}).get("networkInterfaces") or []:
            current = self.emu.get_resource(nic["id"])
            owner = ((current or {}).get("properties") or {}).get("virtualMachine")
            if owner and owner["id"].lower() != vm["id"].lower():
                nic["id"] = f"{nic['id']}-{vm['name']}"
                self.ensure(nic["id"])
        return vm

    def load_balancer_frontends(self, body: dict) -> None:
        """Subnet ipConfigurations naming load balancer frontends: create those frontends in the subnet."""
        for subnet in (body.get("properties") or {}).get("subnets") or []:
            for ref in (subnet.get("properties") or {}).get("ipConfigurations") or []:
                ref_path = parse(ref["id"])
                if ref_path.kind != "child" or ref_path.types[0].lower() != "loadbalancers":
                    continue
                lb_id = ref_path.top_id()
                frontend = {"name": ref_path.names[1], "id": ref["id"], "properties": {"subnet": {"id": subnet["id"]}}}
                self.emu.put_resource(lb_id, {"location": self.location, "properties": {"frontendIPConfigurations": [frontend]}})


# ------------------------------------------------------------------------------------ the replay
def operation_path(params: dict, filename: str) -> str:
    base = f"/subscriptions/{params['subscriptionId']}"
    if "resourceGroupName" in params:
        base += f"/resourceGroups/{params['resourceGroupName']}"
    namespace = "Microsoft.Compute" if filename.startswith("VirtualMachine_") else "Microsoft.Network"
    path = f"{base}/providers/{namespace}"
    for param, segment in NAME_PARAMS.items():
        if param in params:
            path += f"/{segment}/{params[param]}"
    if path.endswith(f"/providers/{namespace}"):
        kind = {"RouteTable": "routeTables", "NetworkInterface": "networkInterfaces", "VirtualNetwork": "virtualNetworks",
                "VirtualMachine_": "virtualMachines"}
        path += "/" + next(v for k, v in kind.items() if filename.startswith(k))
    elif filename.startswith("RouteTableRouteList"):
        path += "/routes"
    elif filename.startswith("SubnetList"):
        path += "/subnets"
    return path


def body_param(params: dict):
    bodies = [v for k, v in params.items() if isinstance(v, dict)]
    return bodies[0] if bodies else None


def wait_lro(arm, response) -> None:
    url = response.headers.get("Azure-AsyncOperation") or response.headers.get("Location")
    for attempt in range(50):
        answer = arm.get_url(url)
        if answer.status_code == 200 and answer.json().get("status", "Succeeded") != "InProgress":
            return
        if answer.status_code in (200, 204) and "Azure-AsyncOperation" not in response.headers:
            return
        time.sleep(0.05)
    raise AssertionError(f"LRO at {url} did not finish")


def check(answer, responses: dict, name: str) -> None:
    assert str(answer.status_code) in responses, f"{name}: status {answer.status_code} not in {list(responses)}: {answer.text[:300]}"
    expected = responses[str(answer.status_code)]
    for header in (expected.get("headers") or {}):
        assert header in answer.headers, f"{name}: header {header} missing"
    if "body" in expected:
        problems = shape_mismatches(expected["body"], answer.json())
        assert not problems, f"{name} ({answer.status_code}):\n" + "\n".join(problems)


@pytest.mark.parametrize("example_file", FILES, ids=[f"{p.parent.name}/{p.stem}" for p in FILES])
def test_example_replays(example_file, azure_emulator, arm):
    name = example_file.name
    if name in OUT_OF_SCOPE:
        pytest.skip(OUT_OF_SCOPE[name])
    example = load_example(example_file)
    params, responses = example["parameters"], example["responses"]
    # The example's own subscription; the identity (and so arm's token) stays the default one.
    azure_emulator.reset({"subscription_id": params["subscriptionId"]})
    seeder = Seeder(azure_emulator, example)
    path = operation_path(params, name)
    api = params["api-version"]
    stem = example_file.stem
    request_body = body_param(params)
    subject_id = parse(path)
    if subject_id.resource_group:
        seeder.resource_group(params["resourceGroupName"])

    if stem.endswith("Create") or stem.endswith("CreateWithRoute"):
        seeder.location = (request_body or {}).get("location", seeder.location)
        seeder.references(request_body, skip=(path,))
        if subject_id.kind == "child":
            seeder.ensure(subject_id.top_id())
        first = arm.put(path, request_body, api_version=api)
        check(first, responses, name)
        assert first.status_code == 201
        wait_lro(arm, first)
        second = arm.put(path, request_body, api_version=api)
        check(second, responses, name)
        assert second.status_code == 200
    elif stem.endswith("UpdateTags"):
        seeder.subject(responses["200"]["body"] | {"tags": {}})
        check(arm.request("PATCH", path, json=request_body, api_version=api), responses, name)
    elif stem.endswith("Delete"):
        target = parse(path)
        seeder.ensure(path) if target.kind == "child" else seeder.subject({"id": path, "location": "westus", "properties": {}})
        first = arm.delete(path, api_version=api)
        check(first, responses, name)
        assert first.status_code == 202
        wait_lro(arm, first)
        check(arm.delete(path, api_version=api), responses, name)
    elif stem.endswith("EffectiveRouteTableList"):
        seeder.ensure(path)
        started = arm.request("POST", f"{path}/effectiveRouteTable", api_version=api)
        check(started, responses, name)
        result = None
        for attempt in range(50):
            result = arm.get_url(started.headers["Location"])
            if result.status_code == 200:
                break
            time.sleep(0.05)
        check(result, responses, name)
    elif "List" in stem:
        items = responses["200"]["body"]["value"]
        seen: set[str] = set()
        for index, item in enumerate(items):
            if item["id"].lower() in seen:
                # Generated examples repeat one placeholder id; a list cannot hold one resource twice.
                item = {**item, "id": f"{item['id']}{index}", "name": f"{item['name']}{index}"}
            seen.add(item["id"].lower())
            item_path = parse(item["id"])
            if subject_id.resource_group and item_path.resource_group != subject_id.resource_group:
                # A resource-group list example whose items name another (placeholder) group.
                item = json.loads(json.dumps(item).replace(f"/resourceGroups/{item_path.resource_group}/", f"/resourceGroups/{subject_id.resource_group}/"))
            seeder.subject(item)
        if "nextLink" not in responses["200"]["body"]:
            check(arm.get(path, api_version=api), responses, name)
        else:
            # The example shows a nextLink: page so that there is one, then check all items of all pages.
            azure_emulator.set_page_size(max(1, len(items) - 1))
            first = arm.get(path, api_version=api)
            assert first.status_code == 200 and "nextLink" in first.json()
            pages = [first.json()]
            while "nextLink" in pages[-1]:
                pages.append(arm.get_url(pages[-1]["nextLink"]).json())
            combined = {"value": [item for page in pages for item in page["value"]], "nextLink": first.json()["nextLink"]}
            problems = shape_mismatches(responses["200"]["body"], combined)
            assert not problems, f"{name}:\n" + "\n".join(problems)
    else:
        seeder.subject(responses["200"]["body"])
        check(arm.get(path, api_version=api), responses, name)

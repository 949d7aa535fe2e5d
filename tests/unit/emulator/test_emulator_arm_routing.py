# -*- coding: utf-8 -*-
# Copyright: calico.azure contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How the ARM engine routes each path kind and method, and the error it answers (no server)."""

from __future__ import annotations

import json

import pytest

from azure_emulator.core import EmulatorCore

SUB_ID = "22222222-2222-4222-8222-222222222222"
SUB = f"/subscriptions/{SUB_ID}"
RG = f"{SUB}/resourceGroups/rg"
NET = f"{RG}/providers/Microsoft.Network"
RT = f"{NET}/routeTables/rt"
NIC = f"{NET}/networkInterfaces/node-0-nic"
SEED = {
    "subscription_id": SUB_ID,
    "resource_groups": [{"name": "rg", "location": "westeurope"}],
    "route_tables": [{"name": "rt", "resource_group": "rg", "routes": [
        {"name": "r1", "address_prefix": "10.244.0.0/24", "next_hop_ip": "10.240.0.4"}]}],
    "virtual_networks": [{"name": "vnet", "resource_group": "rg", "address_prefixes": ["10.0.0.0/8"],
                          "subnets": [{"name": "nodes", "address_prefix": "10.240.0.0/16"}]}],
    "virtual_machines": [{"name": "node-0", "resource_group": "rg",
                          "nics": [{"name": "node-0-nic", "subnet": "vnet/nodes", "private_ip": "10.240.0.4"}]}],
}
API = {"api-version": "2024-05-01"}


@pytest.fixture(name="engine")
def engine_fixture():
    return EmulatorCore(SEED).engine


def _call(engine, method, path, query=None, body=b""):
    response = engine.handle(method, path, API if query is None else query, {}, body)
    error = (response.body or {}).get("error") if isinstance(response.body, dict) else None
    return response.status, (error or {}).get("code"), (error or {}).get("message", "")


@pytest.mark.parametrize(
    "method, path, query, body, status, code, message",
    [
        ("GET", "/tenant/oauth2/v2.0/token", None, b"", 404, "InvalidResourceType", "could not be found for path"),
        ("GET", RT, {}, b"", 400, "MissingApiVersionParameter", "api-version"),
        ("GET", RT, {"api-version": "latest"}, b"", 400, "InvalidApiVersionParameter", "'latest'"),
        ("GET", RT.replace(SUB_ID, "33333333-3333-4333-8333-333333333333"), None, b"", 404, "SubscriptionNotFound", ""),
        ("PUT", f"{SUB}/providers/Microsoft.Network/locations/westeurope/operations/x", None, b"", 405, "MethodNotAllowed", "'PUT'"),
        ("GET", f"{SUB}/providers/Microsoft.Network/locations/westeurope/operations/x", None, b"", 404, "OperationNotFound", "'x'"),
        ("PUT", RT, None, b"{not json", 400, "InvalidRequestContent", "could not be deserialized"),
        ("PUT", RT, None, b"[]", 400, "InvalidRequestContent", "JSON object"),
        ("POST", f"{SUB}/providers/Microsoft.Network/routeTables", None, b"", 405, "MethodNotAllowed", "'POST'"),
        ("GET", f"{NET}/noSuchTypes/x", None, b"", 404, "InvalidResourceType", "'noSuchTypes' could not be found in the namespace"),
        ("GET", f"{NET}/routeTables/missing", None, b"", 404, "ResourceNotFound", "routeTables/missing"),
        ("POST", RT, None, b"", 405, "MethodNotAllowed", "'POST'"),
        ("PATCH", RT, None, b'{"properties": {}}', 400, "InvalidRequestFormat", "only updates tags"),
        ("POST", f"{RT}/noSuchAction", None, b"", 404, "InvalidResourceType", "action 'noSuchAction' is not supported"),
        ("POST", f"{NET}/routeTables/missing/noSuchAction", None, b"", 404, "ResourceNotFound", "routeTables/missing"),
        ("GET", f"{RT}/noSuchChildren", None, b"", 404, "InvalidResourceType", "'routeTables/noSuchChildren'"),
        ("PUT", f"{RT}/routes", None, b"", 405, "MethodNotAllowed", "'PUT'"),
        ("GET", f"{RT}/noSuchChildren/x", None, b"", 404, "InvalidResourceType", "'routeTables/noSuchChildren'"),
        ("PATCH", f"{RT}/routes/r1", None, b"{}", 405, "MethodNotAllowed", "'PATCH'"),
        ("GET", f"{RT}/routes/missing", None, b"", 404, "NotFound", "routes/missing"),
        ("GET", f"{NET}/routeTables/missing/routes/r1", None, b"", 404, "ParentResourceNotFound", "'missing'"),
        ("GET", f"{RT}/routes/r1/hops", None, b"", 404, "InvalidResourceType", "could not be found for path"),
    ],
)
def test_each_path_kind_answers_ARMs_error(engine, method, path, query, body, status, code, message):
    answer = _call(engine, method, path, query, body)
    assert answer[:2] == (status, code)
    assert message in answer[2]


def test_reads_of_each_path_kind(engine):
    subscription = engine.handle("GET", SUB, API, {}, b"")
    assert (subscription.status, subscription.body["subscriptionId"]) == (200, SUB_ID)
    listed = engine.handle("GET", f"{SUB}/providers/Microsoft.Network/routeTables", API, {}, b"")
    assert [t["name"] for t in listed.body["value"]] == ["rt"]
    routes = engine.handle("GET", f"{RT}/routes", API, {}, b"")
    assert [r["name"] for r in routes.body["value"]] == ["r1"]
    route = engine.handle("GET", f"{RT}/routes/R1", API, {}, b"")
    assert (route.status, route.body["id"]) == (200, f"{RT}/routes/r1")
    assert (route.resource_type, route.resource_id) == ("Microsoft.Network/routeTables/routes", f"{RT}/routes/R1")


def test_writes_of_each_path_kind_and_their_operations(engine):
    route = {"properties": {"addressPrefix": "10.244.1.0/24", "nextHopType": "VirtualAppliance", "nextHopIpAddress": "10.240.0.5"}}
    put = engine.handle("PUT", f"{RT}/routes/r2", API, {}, json.dumps(route).encode())
    assert put.status == 201 and set(put.headers) == {"Azure-AsyncOperation", "Retry-After"}
    status_path = put.headers["Azure-AsyncOperation"].split("?")[0]
    assert engine.handle("GET", status_path, API, {}, b"").body == {"status": "Succeeded"}
    tagged = engine.handle("PATCH", RT, API, {}, b'{"tags": {"a": "b"}}')
    assert (tagged.status, tagged.body["tags"]) == (200, {"a": "b"})
    deleted = engine.handle("DELETE", f"{RT}/routes/r2", API, {}, b"")
    assert deleted.status == 202 and set(deleted.headers) == {"Azure-AsyncOperation", "Location", "Retry-After"}
    result_path = deleted.headers["Location"].split("?")[0]
    assert engine.handle("GET", result_path, API, {}, b"").status == 204
    assert engine.handle("GET", f"{RT}/routes/r2", API, {}, b"").status == 404
    action = engine.handle("POST", f"{NIC}/effectiveRouteTable", API, {}, b"")
    assert action.status == 202 and set(action.headers) == {"Location", "Retry-After"}  # Location only, as Microsoft's examples
    assert engine.handle("DELETE", f"{NET}/routeTables/missing", API, {}, b"").status == 204

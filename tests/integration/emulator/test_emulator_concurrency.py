"""Optimistic concurrency (ETags) and the Network RP's one-operation-at-a-time rule."""

from __future__ import annotations

TABLE = {"location": "westeurope", "properties": {"routes": []}}


def test_stale_if_match_gets_412_and_current_etag_succeeds(arm, azure_emulator):
    path = arm.net_path("routeTables/rt")
    etag = arm.put(path, TABLE).json()["etag"]
    table_id = arm.get(path).json()["id"]
    azure_emulator.mutate(table_id, {"tags": {"changed-by": "someone-else"}})
    stale = arm.put(path, TABLE, headers={"If-Match": etag})
    assert stale.status_code == 412
    assert stale.json()["error"]["code"] == "PreconditionFailed"
    current = arm.get(path).json()["etag"]
    assert current != etag
    assert arm.put(path, TABLE, headers={"If-Match": current}).status_code == 200
    logged = [r for r in azure_emulator.requests() if r["method"] == "PUT"]
    assert [r["if_match"] for r in logged] == [None, etag, current]


def test_if_match_on_a_child_uses_the_tree_etag(arm):
    table = arm.put(arm.net_path("routeTables/rt"), {"location": "westeurope", "properties": {"routes": [
        {"name": "a", "properties": {"addressPrefix": "10.244.0.0/24", "nextHopType": "None"}}]}}).json()
    route_path = arm.net_path("routeTables/rt/routes/a")
    body = {"properties": {"addressPrefix": "10.244.9.0/24", "nextHopType": "None"}}
    assert arm.put(route_path, body, headers={"If-Match": 'W/"stale"'}).status_code == 412
    assert arm.put(route_path, body, headers={"If-Match": table["etag"]}).status_code == 200


def test_if_none_match_star_creates_only(arm):
    path = arm.net_path("routeTables/rt")
    assert arm.put(path, TABLE, headers={"If-None-Match": "*"}).status_code == 201
    again = arm.put(path, TABLE, headers={"If-None-Match": "*"})
    assert again.status_code == 412 and again.json()["error"]["code"] == "PreconditionFailed"
    assert arm.put(arm.net_path("routeTables/other"), TABLE, headers={"If-Match": "*"}).status_code == 412


def test_etag_changes_on_every_write(arm):
    path = arm.net_path("routeTables/rt")
    etags = {arm.put(path, TABLE).json()["etag"] for attempt in range(3)}
    assert len(etags) == 3 and all(e.startswith('W/"') for e in etags)


def test_second_write_while_an_lro_runs_gets_429(arm, azure_emulator):
    azure_emulator.set_latency(lro_seconds=30)
    path = arm.net_path("routeTables/rt")
    assert arm.put(path, TABLE).status_code == 201
    route = {"properties": {"addressPrefix": "10.244.0.0/24", "nextHopType": "None"}}
    busy = arm.put(f"{path}/routes/r1", route)
    assert busy.status_code == 429
    assert busy.json()["error"]["code"] == "RetryableErrorDueToAnotherOperation"
    assert int(busy.headers["Retry-After"]) >= 1
    assert arm.get(path).json()["properties"]["provisioningState"] == "Updating"
    # Another route table is not affected.
    assert arm.put(arm.net_path("routeTables/other"), TABLE).status_code == 201


def test_scheduled_mutation_lands_between_read_and_write(arm, azure_emulator):
    path = arm.net_path("routeTables/rt")
    table_id = arm.put(path, TABLE).json()["id"]
    azure_emulator.schedule_mutation(table_id, {"tags": {"writer": "cluster-autoscaler"}})
    read = arm.get(path)
    assert read.json().get("tags") is None  # the answer the client saw predates the outside write
    assert azure_emulator.get_resource(table_id)["tags"] == {"writer": "cluster-autoscaler"}
    write = arm.put(path, TABLE, headers={"If-Match": read.json()["etag"]})
    assert write.status_code == 412
    assert azure_emulator.pending_mutations() == 0


def test_scheduled_mutation_on_a_child_route(arm, azure_emulator):
    path = arm.net_path("routeTables/rt")
    table = arm.put(path, {"location": "westeurope", "properties": {"routes": [
        {"name": "a", "properties": {"addressPrefix": "10.244.0.0/24", "nextHopType": "None"}}]}}).json()
    azure_emulator.schedule_mutation(f"{table['id']}/routes/a", {"properties": {"addressPrefix": "10.244.7.0/24"}},
                                     after_method="GET", after_path_contains="/routeTables/rt")
    arm.get(path)
    route = arm.get(f"{path}/routes/a").json()
    assert route["properties"]["addressPrefix"] == "10.244.7.0/24"
    assert route["etag"] != table["etag"]

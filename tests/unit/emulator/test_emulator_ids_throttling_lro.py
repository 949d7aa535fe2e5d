"""Resource-id parsing, the token buckets and LRO timing (no server)."""

from __future__ import annotations

from azure_emulator.arm.ids import key, parse
from azure_emulator.arm.lro import Operation, OperationTable
from azure_emulator.throttling import Bucket, Throttler

SUB = "/subscriptions/s1"
RG = f"{SUB}/resourceGroups/rg"


def test_parse_kinds():
    assert parse(SUB).kind == "subscription"
    assert parse(f"{SUB}/resourcegroups").kind == "resource_groups"
    assert parse(f"{RG}").kind == "resource_group"
    assert parse(f"{SUB}/providers/Microsoft.Network/routeTables").kind == "provider_list"
    assert parse(f"{RG}/providers/Microsoft.Network/routeTables").kind == "provider_list"
    table = parse(f"{RG}/providers/Microsoft.Network/routeTables/rt")
    assert (table.kind, table.full_type) == ("resource", "Microsoft.Network/routeTables")
    assert table.item_id() == f"{RG}/providers/Microsoft.Network/routeTables/rt"
    route = parse(f"{RG}/providers/Microsoft.Network/routeTables/rt/routes/r1")
    assert (route.kind, route.full_type) == ("child", "Microsoft.Network/routeTables/routes")
    assert route.top_id() == f"{RG}/providers/Microsoft.Network/routeTables/rt"
    assert parse(f"{RG}/providers/Microsoft.Network/routeTables/rt/routes").kind == "child_list"
    op = parse(f"{SUB}/providers/Microsoft.Network/locations/westeurope/operations/abc")
    assert (op.kind, op.location, op.operation_id, op.action) == ("operation", "westeurope", "abc", "operations")
    assert parse(f"{SUB}/providers/Microsoft.Network/locations/westeurope/operationResults/abc").action == "operationResults"
    assert parse("/tenant/oauth2/v2.0/token").kind == "unknown"


def test_keys_are_case_insensitive():
    assert key(f"{RG}/providers/Microsoft.Network/routeTables/RT/") == key(f"{RG.upper()}/providers/microsoft.network/ROUTETABLES/rt")


def test_bucket_refills_at_its_rate_and_reports_integer_waits():
    bucket = Bucket(capacity=2, refill_per_s=0.5, tokens=2, stamp=0.0)
    assert bucket.take(0.0) == (True, 1, 0)
    assert bucket.take(0.0) == (True, 0, 0)
    assert bucket.take(0.0) == (False, 0, 2)  # one token takes 2 s at 0.5/s
    assert bucket.take(1.0) == (False, 0, 1)
    assert bucket.take(2.0) == (True, 0, 0)
    assert bucket.remaining(100.0) == 2  # never above capacity


def test_throttler_keeps_reads_and_writes_and_subscriptions_apart():
    throttler = Throttler(read_bucket=1, read_refill_per_s=0.001, write_bucket=1, write_refill_per_s=0.001)
    assert throttler.take("s1", is_write=False)[0] is True
    allowed, headers, wait = throttler.take("s1", is_write=False)
    assert (allowed, headers["x-ms-ratelimit-remaining-subscription-reads"], headers["x-ms-ratelimit-remaining-subscription-writes"]) == (False, "0", "1")
    assert wait >= 1
    assert throttler.take("s1", is_write=True)[0] is True
    assert throttler.take("S2", is_write=False)[0] is True


def test_operation_is_due_after_its_time_and_polls():
    done = []
    op = Operation(kind="put", subscription="s", namespace="Microsoft.Network", location="l", target_id="x", top_id="x",
                   operation_name="PutRouteTableOperation", seconds=0.0, in_progress_polls=2, on_success=lambda: done.append(1))
    table = OperationTable()
    table.add(op)
    table.settle()
    assert op.status == "InProgress" and table.busy("X") is op
    op.polls = 2
    table.settle()
    assert op.status == "Succeeded" and done == [1] and table.busy("x") is None
    failing = Operation(kind="put", subscription="s", namespace="n", location="l", target_id="y", top_id="y", operation_name="o",
                        seconds=3600, in_progress_polls=0, failure={"code": "Boom", "message": "m"})
    assert not failing.due() and failing.remaining_seconds() > 3500
    OperationTable.complete(failing)
    assert failing.status == "Failed"

"""Every error message in the code appears in the user guide's troubleshooting table.

The messages come from the code itself (see :mod:`docs.error_catalog`):
``fail_json`` messages and raised exception texts under ``plugins/``, and the
``fail_msg``/``msg`` of ``assert``/``fail`` tasks under ``roles/`` and
``playbooks/``. A message with placeholders is found in the table when the
literal text around its placeholders appears, in order, in one cell of the
table's first column.

The second half tests the extractor and the matcher themselves on small
sources written here, so a broken extractor cannot make the first half pass by
finding nothing.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from docs.error_catalog import (
    Message,
    collection_messages,
    documents,
    error_classes,
    python_messages,
    table_cells,
    undocumented,
    yaml_messages,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
GUIDE = REPO_ROOT / "docs" / "user-guide.md"
TABLE_HEADING = "Troubleshooting"
# Classes constructed with user-facing text that is reported without being raised.
CARRIERS = ("Failure",)

ALL_MESSAGES = collection_messages(REPO_ROOT, CARRIERS)


def _guide_cells() -> list[str]:
    return table_cells(GUIDE.read_text(encoding="utf-8"), TABLE_HEADING)


# --- the collection --------------------------------------------------------------------------


def test_the_guide_has_a_troubleshooting_table():
    cells = _guide_cells()
    assert cells, f"{GUIDE} has no table under a '{TABLE_HEADING}' heading"


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=[m.source for m in ALL_MESSAGES])
def test_message_is_in_the_troubleshooting_table(message: Message):
    cells = _guide_cells()
    assert documents_any(cells, message), (
        f"error message from {message.source} is not in the troubleshooting table of {GUIDE.name}:\n"
        f"    {message.text}\n"
        f"  literal text that must appear, in order, in one cell of the first column: {list(message.fragments)}\n"
        "  add a row: | message (placeholders as <name>) | cause | fix |"
    )


def documents_any(cells: list[str], message: Message) -> bool:
    return any(documents(cell, message) for cell in cells)


@pytest.mark.parametrize(
    ("source_dir", "kinds"),
    [
        ("plugins/modules", {"fail_json", "raise"}),
        ("plugins/module_utils", {"raise", "fail_json"}),
        ("roles", {"assert", "fail"}),
        ("playbooks", {"assert", "fail"}),
    ],
)
def test_the_extractor_finds_messages_where_the_code_has_them(source_dir: str, kinds: set[str]):
    """Guards the check above against passing because extraction silently found nothing."""
    base = REPO_ROOT / source_dir
    if source_dir.startswith("plugins"):
        sources = [p for p in base.rglob("*.py") if p.name != "__init__.py"] if base.is_dir() else []
        has_errors = [p for p in sources if "fail_json(" in p.read_text() or "raise " in p.read_text()]
    else:
        sources = list(base.rglob("*.yml")) if base.is_dir() else []
        has_errors = [p for p in sources if "fail_msg" in p.read_text() or "ansible.builtin.fail:" in p.read_text()]
    if not has_errors:
        pytest.skip(f"no source under {source_dir} raises or fails yet")
    found = [m for m in ALL_MESSAGES if m.source.startswith(source_dir + "/") and m.kind in kinds]
    assert found, f"{len(has_errors)} file(s) under {source_dir} fail or raise, but no message was extracted"


# --- the matcher -----------------------------------------------------------------------------


def _msg(*parts: tuple[str, ...]) -> Message:
    return Message("x.py:1", "fail_json", tuple(parts), "")


TABLE = textwrap.dedent(
    """\
    # Guide

    ## Troubleshooting

    | Message | Cause | Fix |
    |---|---|---|
    | `Route table <name> not found in resource group <group>` | it is missing | create it |
    | <vm>: the VM has <n> NICs and none is marked primary; set all_nics: true | two NICs | set all_nics |
    | a \\| pipe | x | y |

    ## Next section

    | Message | Cause | Fix |
    |---|---|---|
    | Not in the troubleshooting table | - | - |
    """
)


def test_table_cells_reads_the_first_column_of_the_section_only():
    cells = table_cells(TABLE, "Troubleshooting")
    assert cells == [
        "`Route table <name> not found in resource group <group>`",
        "<vm>: the VM has <n> NICs and none is marked primary; set all_nics: true",
        "a \\| pipe",
    ]


def test_a_message_whose_fragments_appear_in_order_is_documented():
    cells = table_cells(TABLE, "Troubleshooting")
    assert not undocumented([_msg(("Route table", "not found in resource group"))], cells)


def test_a_missing_message_is_reported():
    cells = table_cells(TABLE, "Troubleshooting")
    missing = _msg(("Subnet", "has no route table"))
    present = _msg(("Route table", "not found in resource group"))
    assert undocumented([missing, present], cells) == [missing]


def test_fragments_out_of_order_do_not_match():
    cells = table_cells(TABLE, "Troubleshooting")
    assert undocumented([_msg(("not found in resource group", "Route table"))], cells)


def test_fragments_must_all_be_in_one_cell():
    cells = table_cells(TABLE, "Troubleshooting")
    assert undocumented([_msg(("Route table", "none is marked primary"))], cells)


def test_a_message_from_another_section_does_not_count():
    cells = table_cells(TABLE, "Troubleshooting")
    assert undocumented([_msg(("Not in the troubleshooting table",))], cells)


def test_parts_may_appear_in_any_order_but_each_in_order():
    cells = table_cells(TABLE, "Troubleshooting")
    # TargetError(target, reason) is shown as "target: reason"; the parts are independent.
    message = _msg(("none is marked primary",), ("the VM has", "NICs"))
    assert not undocumented([message], cells)


def test_escaped_pipes_and_backticks_are_read_as_text():
    cells = table_cells(TABLE, "Troubleshooting")
    assert documents(cells[2], _msg(("a | pipe",)))
    assert documents(cells[0], _msg(("Route table <name> not found",)))


def test_a_message_without_literal_text_is_not_checked():
    assert undocumented([_msg()], ["anything"]) == []


# --- the extractor ---------------------------------------------------------------------------


MODULE_SOURCE = textwrap.dedent(
    '''\
    from ansible_collections.calico.azure.plugins.module_utils._azure.errors import AzureError

    class TargetError(ValueError):
        pass

    def main(module, name, group, n):
        module.fail_json(msg="Route table %s not found in %s; create it first" % (name, group))
        module.fail_json(msg=f"Subnet {name} of {group} has no route table")
        module.fail_json(msg="{0} routes exceed the limit of {1}".format(n, 400))
        module.fail_json(msg="Plain message with 100% literal text and a {brace}")
        msg = "Either vms or nics is needed" if n else "Both vms and nics are empty"
        module.fail_json(msg=msg)
        module.fail_json(msg="prefix " + name + " suffix text")
        try:
            pass
        except AzureError as error:
            module.fail_json(msg=str(error))
        raise TargetError(name, "the VM has %d NICs and none is marked primary" % n)
        raise AzureError("Authentication failed for client %s" % name)
        raise TypeError("a programming error, not for users")
    '''
)


def _fragments(messages: list[Message]) -> list[tuple[str, ...]]:
    return [m.fragments for m in messages]


def test_python_extraction_understands_every_way_of_building_a_message(tmp_path: Path):
    source = tmp_path / "plugins" / "modules" / "m.py"
    source.parent.mkdir(parents=True)
    source.write_text(MODULE_SOURCE)
    found = python_messages(source, tmp_path)
    assert _fragments(found) == [
        ("Route table", "not found in", "create it first"),
        ("Subnet", "of", "has no route table"),
        ("routes exceed the limit of",),
        ("Plain message with 100% literal text and a {brace}",),
        ("Either vms or nics is needed",),
        ("Both vms and nics are empty",),
        ("prefix", "suffix text"),
        ("the VM has", "NICs and none is marked primary"),
        ("Authentication failed for client",),
    ]
    assert [m.source for m in found][:2] == ["plugins/modules/m.py:7", "plugins/modules/m.py:8"]
    assert {m.kind for m in found} == {"fail_json", "raise"}


def test_carrier_classes_count_as_messages(tmp_path: Path):
    source = tmp_path / "m.py"
    source.write_text('def f(errors, nic):\n    errors.append(Failure(nic, "IP forwarding could not be set on %s" % nic))\n')
    assert _fragments(python_messages(source, tmp_path)) == []
    assert _fragments(python_messages(source, tmp_path, ["Failure"])) == [("IP forwarding could not be set on",)]


ERRORS_SOURCE = textwrap.dedent(
    '''\
    class AzureError(Exception):
        def __init__(self, message, *, status=None):
            super().__init__(message)

    class AzureNotFound(AzureError):
        pass

    class SdkMissing(AzureNotFound):
        def __init__(self, library):
            super(SdkMissing, self).__init__("The Python library %s is not installed" % library)

    def from_response(status, what):
        if status == 404:
            msg = "%s was not found" % what
        else:
            msg = "Azure failed to %s" % what
        return AzureNotFound(msg, status=status)
    '''
)


def test_the_collections_exception_classes_carry_messages_even_when_returned(tmp_path: Path):
    source = tmp_path / "errors.py"
    source.write_text(ERRORS_SOURCE)
    classes = error_classes([source])
    assert classes == {"AzureError", "AzureNotFound", "SdkMissing"}
    assert _fragments(python_messages(source, tmp_path, classes)) == [
        ("The Python library", "is not installed"),  # super().__init__ inside an error class
        ("was not found",),  # both values msg can hold at the return
        ("Azure failed to",),
    ]


VALIDATION_SOURCE = textwrap.dedent(
    '''\
    HINT = "Use Azure CNI for larger clusters."

    def name_errors(kind, name):
        if not name:
            return ["%s name is empty" % kind]
        return []

    def validate(routes, seen):
        errors = []
        for route in routes:
            route_errors = []
            route_errors.append("route '%s': address_prefix is required" % route)
            errors.extend(route_errors)
        errors.extend(["cluster_cidr covers every address", "table holds %d routes. " % 401 + HINT])
        seen.append("not an error list: %s" % routes)
        return ["not an error function"]
    '''
)


def test_texts_collected_in_error_lists_are_messages(tmp_path: Path):
    source = tmp_path / "logic.py"
    source.write_text(VALIDATION_SOURCE)
    assert _fragments(python_messages(source, tmp_path)) == [
        ("name is empty",),
        ("route", "address_prefix is required"),
        ("cluster_cidr covers every address",),
        ("table holds", "routes", "Use Azure CNI for larger clusters"),
    ]


FOLLOW_SOURCE = textwrap.dedent(
    '''\
    def failure_message(failures, records):
        message = "Could not enable IP forwarding on %d target(s): %s." % (len(failures), failures)
        if records:
            message += " The other %d NIC(s) were handled." % len(records)
        return message

    def pip_name(err):
        return "azure-identity"

    def main(module, failures, records, err):
        module.fail_json(msg=failure_message(failures, records))
        raise SdkMissing(pip_name(err))
    '''
)


def test_a_fail_json_message_built_by_a_function_is_followed_into_it(tmp_path: Path):
    source = tmp_path / "m.py"
    source.write_text(FOLLOW_SOURCE)
    found = python_messages(source, tmp_path, ["SdkMissing"])
    # the function's texts, each added sentence on its own; a package name passed to an exception is data
    assert _fragments(found) == [("Could not enable IP forwarding on", "target(s"), ("The other", "NIC(s) were handled")]


ROLE_TASKS = textwrap.dedent(
    """\
    - name: Check inputs
      ansible.builtin.assert:
        that: udr_cluster_cidr | length > 0
        fail_msg: "Pod CIDR {{ item }} of {{ inventory_hostname }} is outside the VNet"
        quiet: true
    - name: A block
      block:
        - name: Check more
          ansible.builtin.assert:
            that: [true]
            fail_msg:
              - "First line of a list message"
              - "Second line with {{ value }} inside"
      rescue:
        - name: Stop
          ansible.builtin.fail:
            msg: >-
              The route table {{ name }} could not be
              associated with {{ subnet }}
    - name: Short form assert uses msg
      assert:
        that: true
        msg: Legacy {% if x %}short{% endif %} name message
    - name: Not an error
      ansible.builtin.debug:
        msg: "Just information"
    """
)


def test_yaml_extraction_finds_assert_and_fail_messages_in_blocks(tmp_path: Path):
    tasks = tmp_path / "roles" / "udr" / "tasks" / "main.yml"
    tasks.parent.mkdir(parents=True)
    tasks.write_text(ROLE_TASKS)
    found = yaml_messages(tasks, tmp_path)
    assert _fragments(found) == [  # depth first: block, then rescue, then the next task
        ("Pod CIDR", "of", "is outside the VNet"),
        ("First line of a list message",),
        ("Second line with", "inside"),
        ("The route table", "could not be associated with"),
        ("Legacy", "short", "name message"),
    ]
    assert {m.kind for m in found} == {"assert", "fail"}
    assert all(m.source.startswith("roles/udr/tasks/main.yml:") for m in found)


def test_collection_messages_skips_role_data_files(tmp_path: Path):
    (tmp_path / "roles" / "udr" / "defaults").mkdir(parents=True)
    (tmp_path / "roles" / "udr" / "defaults" / "main.yml").write_text("fail_msg: not a task\n")
    (tmp_path / "roles" / "udr" / "tasks").mkdir(parents=True)
    (tmp_path / "roles" / "udr" / "tasks" / "main.yml").write_text(ROLE_TASKS)
    found = collection_messages(tmp_path)
    assert found and all(m.source.startswith("roles/udr/tasks/") for m in found)

"""Env-file editing for calico-node (pure: no Ansible, no SDK).

The property tests generate env files from the grammar systemd reads (comments,
blank lines, assignments in every quoting style, ``export`` prefixes, CRLF or
LF endings, multi-line quoted values, duplicates, a last line without a line
ending) and check that only the backend line changes and a second edit is a
no-op.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.calico.azure.plugins.module_utils._calico.env import (
    BACKEND_VAR,
    EnvFileError,
    decode_text,
    detect_format,
    edit_env,
    effective_values,
    encapsulation_warnings,
    managed_variables,
    normalise_extra_env,
    parse_env,
    render_value,
    split_lines,
)

# --- examples -------------------------------------------------------------------------

CLASSIC = (
    "# Calico node environment (calicoctl node run / calico-node.service)\n"
    "ETCD_ENDPOINTS=https://10.0.0.4:2379\n"
    "\n"
    "CALICO_NODENAME=\"\"\n"
    "CALICO_NETWORKING_BACKEND=bird\n"
    "CALICO_IPV4POOL_IPIP=Never\n"
)


def test_changes_only_the_backend_line():
    edit = edit_env(CLASSIC, {BACKEND_VAR: "none"})
    assert edit.text == CLASSIC.replace("BACKEND=bird", "BACKEND=none")
    assert edit.previous == {BACKEND_VAR: "bird"}
    assert edit.changed_keys == [BACKEND_VAR]
    assert edit.locations == {BACKEND_VAR: "line 5"}


def test_already_set_is_a_no_op_even_when_quoted_differently():
    text = 'CALICO_NETWORKING_BACKEND="none"\n'
    edit = edit_env(text, {BACKEND_VAR: "none"})
    assert edit.text == text
    assert edit.changed_keys == []


@pytest.mark.parametrize(
    "line, expected",
    [
        ('CALICO_NETWORKING_BACKEND="bird"\n', 'CALICO_NETWORKING_BACKEND="none"\n'),
        ("CALICO_NETWORKING_BACKEND='bird'\n", "CALICO_NETWORKING_BACKEND='none'\n"),
        ("export CALICO_NETWORKING_BACKEND=bird\n", "export CALICO_NETWORKING_BACKEND=none\n"),
        ("  CALICO_NETWORKING_BACKEND = bird\r\n", "  CALICO_NETWORKING_BACKEND = none\r\n"),
        ("\texport  CALICO_NETWORKING_BACKEND=\t'bird'", "\texport  CALICO_NETWORKING_BACKEND=\t'none'"),
    ],
)
def test_keeps_quoting_export_spacing_and_line_ending(line, expected):
    text = "# head\r\n" + line
    assert edit_env(text, {BACKEND_VAR: "none"}).text == "# head\r\n" + expected


def test_value_with_inline_hash_is_one_value_as_systemd_reads_it():
    # systemd: '#' starts a comment only at the start of a line.
    text = "CALICO_NETWORKING_BACKEND=bird # BGP\n"
    assert effective_values(text)[BACKEND_VAR] == "bird # BGP"
    assert edit_env(text, {BACKEND_VAR: "none"}).text == "CALICO_NETWORKING_BACKEND=none\n"


def test_duplicates_change_the_last_one_and_are_reported():
    text = "CALICO_NETWORKING_BACKEND=bird\nA=1\nCALICO_NETWORKING_BACKEND=gobgp\nB=2\n"
    edit = edit_env(text, {BACKEND_VAR: "none"})
    assert edit.text == "CALICO_NETWORKING_BACKEND=bird\nA=1\nCALICO_NETWORKING_BACKEND=none\nB=2\n"
    assert edit.previous[BACKEND_VAR] == "gobgp"
    assert edit.duplicates == {BACKEND_VAR: [1, 3]}
    assert effective_values(edit.text)[BACKEND_VAR] == "none"


def test_duplicate_whose_last_value_is_already_right_is_not_touched():
    text = "CALICO_NETWORKING_BACKEND=bird\nCALICO_NETWORKING_BACKEND=none\n"
    edit = edit_env(text, {BACKEND_VAR: "none"})
    assert edit.text == text
    assert edit.duplicates == {BACKEND_VAR: [1, 2]}


def test_missing_variable_is_appended_with_the_files_line_ending():
    text = "# a\r\nA=1\r\n"
    assert edit_env(text, {BACKEND_VAR: "none"}).text == "# a\r\nA=1\r\nCALICO_NETWORKING_BACKEND=none\r\n"


def test_append_to_file_without_final_newline_terminates_the_last_line_only():
    text = "A=1\nB=2"
    assert edit_env(text, {BACKEND_VAR: "none"}).text == "A=1\nB=2\nCALICO_NETWORKING_BACKEND=none\n"


def test_replacing_the_unterminated_last_line_keeps_it_unterminated():
    assert edit_env("A=1\nCALICO_NETWORKING_BACKEND=bird", {BACKEND_VAR: "none"}).text == "A=1\nCALICO_NETWORKING_BACKEND=none"


def test_empty_file_gets_the_variable():
    edit = edit_env("", {BACKEND_VAR: "none"})
    assert edit.text == "CALICO_NETWORKING_BACKEND=none\n"
    assert edit.previous == {BACKEND_VAR: None}


def test_multi_line_quoted_assignment_is_replaced_as_a_whole():
    text = 'A=1\nCALICO_NETWORKING_BACKEND="bi\nrd"\nB=2\n'
    assert effective_values(text)[BACKEND_VAR] == "bi\nrd"
    assert edit_env(text, {BACKEND_VAR: "none"}).text == 'A=1\nCALICO_NETWORKING_BACKEND="none"\nB=2\n'


@pytest.mark.parametrize(
    "text, expected",
    [
        # A trailing backslash would join the appended line to the last value or comment.
        ("A=x\\\n", "A=x\\\n\nCALICO_NETWORKING_BACKEND=none\n"),
        ("A=x\\", "A=x\\\n\nCALICO_NETWORKING_BACKEND=none\n"),
        ("# see C:\\\n", "# see C:\\\n\nCALICO_NETWORKING_BACKEND=none\n"),
        # CRLF: the backslash escapes the CR and the LF still ends the line.
        ("A=x\\\r\n", "A=x\\\r\nCALICO_NETWORKING_BACKEND=none\r\n"),
        # The dangling line itself is the one replaced: nothing dangles any more.
        ("CALICO_NETWORKING_BACKEND=bird\\\n", "CALICO_NETWORKING_BACKEND=none\n"),
    ],
)
def test_appending_after_a_dangling_backslash_keeps_both_assignments(text, expected):
    edit = edit_env(text, {BACKEND_VAR: "none"})
    assert edit.text == expected
    values = effective_values(edit.text)
    assert values[BACKEND_VAR] == "none"
    assert values.get("A") == effective_values(text).get("A")


def test_comment_ending_in_backslash_swallows_the_next_line_like_systemd():
    text = "# old setting \\\nCALICO_NETWORKING_BACKEND=bird\n"
    assert BACKEND_VAR not in effective_values(text)
    assert edit_env(text, {BACKEND_VAR: "none"}).previous[BACKEND_VAR] is None


def test_backslash_continuation_is_part_of_the_assignment():
    text = "CALICO_NETWORKING_BACKEND=bi\\\nrd\nB=2\n"
    assert effective_values(text)[BACKEND_VAR] == "bird"
    assert edit_env(text, {BACKEND_VAR: "none"}).text == "CALICO_NETWORKING_BACKEND=none\nB=2\n"


def test_extra_env_and_absent_env():
    text = "# keep\nFELIX_LOGSEVERITYSCREEN=info\nIP_AUTODETECTION_METHOD=first-found\nOLD=1\nOLD=2\n"
    edit = edit_env(
        text,
        {BACKEND_VAR: "none", "IP_AUTODETECTION_METHOD": "interface=eth0", "FELIX_IPTABLESREFRESHINTERVAL": "60"},
        ["OLD", "NEVER_SET"],
    )
    assert edit.text == (
        "# keep\nFELIX_LOGSEVERITYSCREEN=info\nIP_AUTODETECTION_METHOD=interface=eth0\n"
        "CALICO_NETWORKING_BACKEND=none\nFELIX_IPTABLESREFRESHINTERVAL=60\n"
    )
    assert edit.changed_keys == [BACKEND_VAR, "IP_AUTODETECTION_METHOD", "FELIX_IPTABLESREFRESHINTERVAL", "OLD"]
    assert edit.previous["OLD"] == "2" and edit.previous["NEVER_SET"] is None
    assert edit.locations["OLD"] == "removed"
    assert edit.locations[BACKEND_VAR] == "line 4"  # in the file as written


def test_values_needing_quotes_are_quoted_and_read_back_exactly():
    value = 'can-reach=8.8.8.8 "x" $HOME `y` \\z'
    edit = edit_env("", {"IP_AUTODETECTION_METHOD": value})
    assert effective_values(edit.text)["IP_AUTODETECTION_METHOD"] == value


@pytest.mark.parametrize(
    "text, message",
    [
        ("kind: DaemonSet\n", "line(s) 1 are neither comments nor KEY=VALUE"),
        ("A=1\nexport B\n", "line(s) 2"),
        ("A=1\n1BAD=2\n", "line(s) 2"),
        ('A="never closed\nB=2\n', "line 1: the double-quoted value is never closed"),
        ("A='never closed\n", "single-quoted value is never closed"),
    ],
)
def test_unparsable_files_are_refused(text, message):
    with pytest.raises(EnvFileError) as err:
        edit_env(text, {BACKEND_VAR: "none"})
    assert message in str(err.value)


def test_binary_and_non_utf8_are_refused():
    with pytest.raises(EnvFileError, match="binary"):
        decode_text(b"A=1\x00\x01", "/etc/calico/calico.env")
    with pytest.raises(EnvFileError, match="not UTF-8"):
        decode_text(b"A=\xff\xfe\n", "/etc/calico/calico.env")
    assert decode_text("A=é\n".encode(), "f") == "A=é\n"


@pytest.mark.parametrize("bad", ["", "1X", "A-B", "A B", "A=B"])
def test_invalid_names_are_refused(bad):
    with pytest.raises(EnvFileError, match="not a valid environment variable name"):
        edit_env("", {bad: "1"})


def test_value_with_newline_is_refused():
    with pytest.raises(EnvFileError, match="line break"):
        edit_env("", {"A": "x\ny"})


def test_managed_variables_validation():
    assert managed_variables("none", {"A": "1"}, ["B", "B"]) == ({BACKEND_VAR: "none", "A": "1"}, ["B"])
    with pytest.raises(EnvFileError, match="backend option"):
        managed_variables("none", {BACKEND_VAR: "bird"}, [])
    with pytest.raises(EnvFileError, match="absent_env"):
        managed_variables("none", {}, [BACKEND_VAR])
    with pytest.raises(EnvFileError, match="both extra_env and absent_env"):
        managed_variables("none", {"A": "1"}, ["A"])


def test_normalise_extra_env_turns_yaml_scalars_into_calico_strings():
    assert normalise_extra_env({"FELIX_IPV6SUPPORT": False, "FELIX_X": 60, "IP": "autodetect"}) == {
        "FELIX_IPV6SUPPORT": "false",
        "FELIX_X": "60",
        "IP": "autodetect",
    }
    with pytest.raises(EnvFileError, match="absent_env"):
        normalise_extra_env({"A": None})
    with pytest.raises(EnvFileError, match="string, number or boolean"):
        normalise_extra_env({"A": ["x"]})


def test_encapsulation_warnings_name_the_variable():
    values = {"CALICO_IPV4POOL_IPIP": "Always", "CALICO_IPV4POOL_VXLAN": "Off", "CALICO_IPV6POOL_VXLAN": "CrossSubnet"}
    warnings = encapsulation_warnings("none", values.get, "/etc/calico/calico.env")
    assert len(warnings) == 2
    assert "set CALICO_IPV4POOL_IPIP=Never" in warnings[0] and "IP-in-IP" in warnings[0]
    assert "set CALICO_IPV6POOL_VXLAN=Never" in warnings[1] and "VXLAN" in warnings[1]
    assert encapsulation_warnings("none", {"CALICO_IPV4POOL_IPIP": "never"}.get, "f") == []
    assert encapsulation_warnings("bird", values.get, "f") == []
    assert encapsulation_warnings("none", {}.get, "f") == []


@pytest.mark.parametrize(
    "text, path, expected",
    [
        ("---\n# Source: x\nkind: ConfigMap\n", "/x/calico.env", "manifest"),
        ("apiVersion: v1\n", "f", "manifest"),
        ("CALICO_NETWORKING_BACKEND=bird\n", "/x/calico.yaml", "env"),
        (None, "/x/new.yaml", "manifest"),
        ("", "/x/calico.env", "env"),
        (None, "/etc/calico/calico.env", "env"),
    ],
)
def test_detect_format(text, path, expected):
    assert detect_format(text, path) == expected


# --- properties -----------------------------------------------------------------------

KEYS = st.sampled_from([BACKEND_VAR, "CALICO_IPV4POOL_IPIP", "FELIX_LOGSEVERITYSCREEN", "NODENAME", "ETCD_ENDPOINTS"])
BACKENDS = st.sampled_from(["none", "bird", "vxlan", "gobgp"])
NO_NEWLINE = st.text(st.characters(blacklist_characters="\n\x00", blacklist_categories=("Cs",)), max_size=30)
SAFE_VALUE = st.from_regex(r"\A[A-Za-z0-9_./:=,-]{0,12}\Z")


@st.composite
def values(draw):
    """The text after '=': a value in one of the forms systemd accepts."""
    kind = draw(st.sampled_from(["bare", "double", "single", "inline_hash", "multiline", "continued", "empty"]))
    if kind == "bare":
        return draw(SAFE_VALUE)
    if kind == "double":
        inner = draw(st.text(st.characters(blacklist_characters='\n\r\x00"\\', blacklist_categories=("Cs",)), max_size=15))
        return '"' + inner + '"' + draw(st.sampled_from(["", " ", "\t"]))
    if kind == "single":
        inner = draw(st.text(st.characters(blacklist_characters="\n\r\x00'", blacklist_categories=("Cs",)), max_size=15))
        return "'" + inner + "'"
    if kind == "inline_hash":
        return draw(SAFE_VALUE) + " # " + draw(SAFE_VALUE)
    if kind == "multiline":
        return '"' + draw(SAFE_VALUE) + "\n" + draw(SAFE_VALUE) + '"'
    if kind == "continued":
        return draw(SAFE_VALUE) + "\\\n" + draw(SAFE_VALUE)
    return ""


@st.composite
def env_lines(draw):
    kind = draw(st.sampled_from(["blank", "comment", "assignment", "assignment"]))
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\t", "  \t"]))
    if kind == "comment":
        return draw(st.sampled_from(["", " ", "\t"])) + draw(st.sampled_from(["#", ";"])) + draw(NO_NEWLINE).replace("\r", "")
    indent = draw(st.sampled_from(["", " ", "\t"]))
    export = draw(st.sampled_from(["", "", "export ", "export\t"]))
    around = draw(st.sampled_from([("", ""), (" ", " "), ("", " "), ("\t", "")]))
    return indent + export + draw(KEYS) + around[0] + "=" + around[1] + draw(values())


@st.composite
def env_files(draw):
    lines = draw(st.lists(env_lines(), max_size=12))
    endings = draw(st.lists(st.sampled_from(["\n", "\r\n"]), min_size=len(lines), max_size=len(lines)))
    # Backslash continuations only exist with LF (in a CRLF file the backslash escapes the CR),
    # so their inner line break stays LF; quoted multi-line values take the file's ending.
    text = "".join((line if "\\\n" in line else line.replace("\n", ending)) + ending for line, ending in zip(lines, endings))
    if text and draw(st.booleans()):
        text = text[: -len(endings[-1])]  # no line ending on the last line
    return text


def backend_line_indices(text):
    parsed = parse_env(text)
    effective = parsed.effective(BACKEND_VAR)
    return set(range(effective.first_line, effective.last_line + 1)) if effective else set()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(env_files(), BACKENDS)
def test_property_only_the_backend_line_changes_and_a_second_edit_is_a_no_op(text, backend):
    before_lines = split_lines(text)
    edit = edit_env(text, {BACKEND_VAR: backend})
    after_lines = split_lines(edit.text)

    if edit.previous[BACKEND_VAR] == backend:
        assert edit.text == text
    else:
        kept_before = [line for i, line in enumerate(before_lines) if i not in backend_line_indices(text)]
        kept_after = [line for i, line in enumerate(after_lines) if i not in backend_line_indices(edit.text)]
        if edit.previous[BACKEND_VAR] is None and parse_env(text).dangling_continuation:
            # The last line ends with a backslash that escapes its line break: an empty
            # line ends it, as the end of the file did, so the new line stays separate.
            assert kept_after[-1] in ("\n", "\r\n")
            kept_after = kept_after[:-1]
        if edit.previous[BACKEND_VAR] is None and text and not text.endswith("\n"):
            # Appending to a file without a final line ending terminates its last line.
            assert kept_after[:-1] == kept_before[:-1]
            assert kept_after[-1] in (kept_before[-1] + "\n", kept_before[-1] + "\r\n")
        else:
            assert kept_after == kept_before

    # What systemd would read: the backend changed, every other variable kept.
    expected = effective_values(text)
    expected[BACKEND_VAR] = backend
    assert effective_values(edit.text) == expected

    again = edit_env(edit.text, {BACKEND_VAR: backend})
    assert again.text == edit.text
    assert again.changed_keys == []


@settings(max_examples=100, deadline=None)
@given(env_files(), st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), max_size=25))
def test_property_any_value_round_trips_through_the_systemd_reading(text, value):
    edit = edit_env(text, {"IP_AUTODETECTION_METHOD": value})
    assert effective_values(edit.text)["IP_AUTODETECTION_METHOD"] == value
    assert edit_env(edit.text, {"IP_AUTODETECTION_METHOD": value}).text == edit.text


@settings(max_examples=100, deadline=None)
@given(env_files())
def test_property_removal_removes_only_that_key(text):
    edit = edit_env(text, {}, ["CALICO_IPV4POOL_IPIP"])
    expected = effective_values(text)
    expected.pop("CALICO_IPV4POOL_IPIP", None)
    assert effective_values(edit.text) == expected
    assert edit_env(edit.text, {}, ["CALICO_IPV4POOL_IPIP"]).text == edit.text


@pytest.mark.parametrize("quote", ["", '"', "'"])
@given(value=st.text(st.characters(blacklist_characters="\n\r\x00", blacklist_categories=("Cs",)), max_size=20))
def test_property_render_value_reads_back(quote, value):
    assert effective_values("K=" + render_value(value, quote) + "\n")["K"] == value

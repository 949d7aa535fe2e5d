# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edit calico-node's environment file without touching any other byte.

Pure: no Ansible, no SDK, so it is unit-tested on its own.

The file is the ``EnvironmentFile=`` of ``calico-node.service`` (classically
``/etc/calico/calico.env``). Values are read the way systemd reads them
(``src/basic/env-file.c``): ``#`` or ``;`` starts a comment line only at the
start of a line; whitespace around the key and before the value is ignored;
an unquoted value runs to the end of the line (a ``#`` inside it is part of
the value), its trailing whitespace is dropped and a backslash escapes the next
character (a backslash at the end of the line continues the value on the next
one); single quotes are literal; inside double quotes a backslash escapes
``" \\ ` $`` and a newline; quoted values may span lines; a comment line
ending in an odd number of backslashes swallows the next line; systemd's line
breaks are LF and CR, so in a CRLF file a final backslash escapes the CR and
continues nothing; when a key is assigned more than once, the last assignment
wins. An ``export`` prefix, which shell scripts sourcing the same file need
(systemd itself would ignore such a line), is accepted and kept.

Lines that are neither comments nor assignments are refused rather than
guessed at.

Only the assignment being changed is rewritten, keeping its indentation,
``export`` prefix, spacing around ``=``, quoting style and line ending; new
keys are appended with the file's own line ending (CRLF if the file uses it),
after an empty line only when the last line ends in a continuing backslash
(which would otherwise swallow the new line).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

BACKEND_VAR = "CALICO_NETWORKING_BACKEND"

# Pool encapsulation variables that contradict policy-only mode, with the value
# that turns them off. Calico accepts "Off" as a synonym of "Never" for IP-in-IP
# (reference/node/configuration since v3.4).
ENCAPSULATION_VARS: Tuple[Tuple[str, str], ...] = (
    ("CALICO_IPV4POOL_IPIP", "IP-in-IP"),
    ("CALICO_IPV4POOL_VXLAN", "VXLAN"),
    ("CALICO_IPV6POOL_VXLAN", "VXLAN"),
)
_ENCAPSULATION_OFF = ("never", "off")

_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_ASSIGNMENT_RE = re.compile(r"^([ \t]*)(export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=[ \t]*")
_LINE_RE = re.compile(r"[^\n]*\n|[^\n]+\Z")
# Unquoted values made only of these characters read back unchanged under both
# systemd and a POSIX shell.
_SAFE_BARE_RE = re.compile(r"^[A-Za-z0-9_@%+=:,./-]*$")
_DOUBLE_QUOTE_ESCAPES = "\"\\`$"
# A top-level apiVersion or kind key: never a valid env line, always in a manifest.
_MANIFEST_HINT_RE = re.compile(r"^(?:apiVersion|kind)[ \t]*:", re.M)


class EnvFileError(ValueError):
    """The file cannot be edited safely; the message says where and why."""


@dataclass
class Assignment:
    """One ``KEY=value`` assignment, possibly spanning several physical lines."""

    key: str
    value: str
    first_line: int  # index into the physical lines
    last_line: int  # inclusive
    prefix: str  # verbatim text up to the value: indentation, export, key, '=', spaces
    quote: str  # quoting style of the value: '"', "'" or '' (unquoted)

    @property
    def lineno(self) -> int:
        return self.first_line + 1


@dataclass
class ParsedEnv:
    lines: List[str]  # physical lines with their line endings, joined they are the file
    assignments: List[Assignment]
    # The last line ends with a backslash that escapes the line break: a line
    # appended right after it would be read as part of it.
    dangling_continuation: bool = False

    def occurrences(self, key: str) -> List[Assignment]:
        return [a for a in self.assignments if a.key == key]

    def effective(self, key: str) -> Optional[Assignment]:
        found = self.occurrences(key)
        return found[-1] if found else None

    def effective_values(self) -> Dict[str, str]:
        values: Dict[str, str] = {}
        for assignment in self.assignments:
            values[assignment.key] = assignment.value
        return values

    @property
    def newline(self) -> str:
        """The line ending new lines get: the one most lines already use."""
        crlf = sum(1 for line in self.lines if line.endswith("\r\n"))
        lf = sum(1 for line in self.lines if line.endswith("\n")) - crlf
        return "\r\n" if crlf > lf else "\n"


@dataclass
class EnvEdit:
    """What :func:`edit_env` did."""

    text: str
    previous: Dict[str, Optional[str]]  # effective value of each managed key before the edit
    duplicates: Dict[str, List[int]] = field(default_factory=dict)  # key -> 1-based line numbers
    changed_keys: List[str] = field(default_factory=list)
    locations: Dict[str, str] = field(default_factory=dict)  # key -> where it is set now


def decode_text(data: bytes, what: str) -> str:
    """Bytes of a text file -> str; binary or non-UTF-8 content is refused."""
    if b"\x00" in data:
        raise EnvFileError("%s contains NUL bytes: it is a binary file, not a calico-node env file or manifest" % what)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise EnvFileError(
            "%s is not UTF-8 text (byte %d: %s); systemd and kubectl only read UTF-8, so it is left untouched"
            % (what, exc.start, exc.reason)
        )


def split_lines(text: str) -> List[str]:
    """Physical lines, each with its own line ending; ''.join() gives back ``text``."""
    return _LINE_RE.findall(text)


def _content(line: str) -> str:
    if line.endswith("\r\n"):
        return line[:-2]
    if line.endswith("\n"):
        return line[:-1]
    return line


def _ending(line: str) -> str:
    return line[len(_content(line)):]


def _escape_continues(line: str) -> bool:
    """A backslash at the end of this line escapes its LF: the text goes on on the next line.

    systemd's newline characters are LF and CR, so in a CRLF file the backslash
    escapes the CR and the LF still ends the line.
    """
    return not line.endswith("\r\n")


class _Dangling(Exception):
    """A backslash continues the last line of the file past its end."""


def _read_value(lines: List[str], index: int, start: int) -> Tuple[str, str, int, bool]:
    """Read a value as systemd does, from ``lines[index][start:]``.

    Returns (value, quoting style of its first token, index of its last line,
    whether the value continues past the end of the file).
    """
    return _ValueReader(lines, index, start).read()


class _ValueReader(object):
    """systemd's value parser: a state machine over the file's physical lines.

    States: ``pre`` (between tokens), ``plain`` (inside an unquoted token),
    ``single`` and ``double`` (inside quotes). One method per state.
    """

    def __init__(self, lines: List[str], index: int, start: int) -> None:
        self.lines = lines
        self.first_line = index
        self.line_index = index
        self.text = _content(lines[index])
        self.pos = start
        self.value: List[str] = []
        self.trailing_ws = 0  # unquoted whitespace at the end of value, dropped at the end
        self.state = "pre"
        self.quote = ""
        self.first_token = True
        self.dangling = False

    def read(self) -> Tuple[str, str, int, bool]:
        while True:
            if self.pos >= len(self.text):  # end of a physical line
                if self.state in ("single", "double"):
                    self._quoted_line_break()
                    continue
                break
            char = self.text[self.pos]
            if self.state == "single":
                self._single(char)
            elif self.state == "double":
                self._double(char)
            elif not self._unquoted(char):
                break
        if self.trailing_ws:
            del self.value[-self.trailing_ws:]
        return "".join(self.value), self.quote, self.line_index, self.dangling

    def _has_next_line(self) -> bool:
        return self.line_index + 1 < len(self.lines)

    def _next_line(self) -> None:
        self.line_index += 1
        self.text = _content(self.lines[self.line_index])
        self.pos = 0

    def _never_closed(self) -> EnvFileError:
        return EnvFileError(
            "line %d: the %s-quoted value is never closed"
            % (self.first_line + 1, "single" if self.state == "single" else "double")
        )

    def _quoted_line_break(self) -> None:
        ending = _ending(self.lines[self.line_index])
        if not ending or not self._has_next_line():
            raise self._never_closed()
        self.value.append(ending)  # quoted values keep their line breaks
        self._next_line()

    def _single(self, char: str) -> None:
        if char == "'":
            self.state = "pre"
        else:
            self.value.append(char)
        self.pos += 1

    def _double(self, char: str) -> None:
        if char == '"':
            self.state = "pre"
            self.pos += 1
            return
        if char != "\\":
            self.value.append(char)
            self.pos += 1
            return
        if self.pos + 1 >= len(self.text):  # the backslash escapes the line break
            if not _ending(self.lines[self.line_index]) or not self._has_next_line():
                raise self._never_closed()
            if not _escape_continues(self.lines[self.line_index]):
                self.value.append("\\\r\n")  # escaped CR is kept with its backslash, the LF is quoted text
            self._next_line()
            return
        nxt = self.text[self.pos + 1]
        self.value.append(nxt if nxt in _DOUBLE_QUOTE_ESCAPES else "\\" + nxt)
        self.pos += 2

    def _unquoted(self, char: str) -> bool:
        """``pre`` or ``plain``; False when the value ends here."""
        if char == "\\":
            return self._unquoted_escape()
        if self.state == "pre":
            if char in " \t":
                self.pos += 1
                return True
            if char in "'\"":
                if self.first_token:
                    self.quote = char
                self.first_token = False
                self.trailing_ws = 0
                self.state = "single" if char == "'" else "double"
                self.pos += 1
                return True
            self.state = "plain"
            self.first_token = False
        # plain: quotes are literal here, as in systemd
        self.value.append(char)
        self.trailing_ws = self.trailing_ws + 1 if char in " \t" else 0
        self.pos += 1
        return True

    def _unquoted_escape(self) -> bool:
        self.first_token = False
        if self.pos + 1 >= len(self.text):  # backslash at the end of the line
            if not _escape_continues(self.lines[self.line_index]):
                return False  # CRLF: the escape eats the CR, the LF ends the value
            if not self._has_next_line():
                self.dangling = True
                return False
            self._next_line()
            self.state = "plain"
            return True
        self.value.append(self.text[self.pos + 1])
        self.trailing_ws = 0
        self.state = "plain"
        self.pos += 2
        return True


def _comment_end(lines: List[str], index: int) -> Tuple[int, bool]:
    """Last line of the comment starting at ``index``, and whether it runs past the end of the file.

    In systemd a backslash escapes the next character in a comment too, so an odd
    run of backslashes at the end of an LF-terminated comment line swallows the next line.
    """
    while True:
        content = _content(lines[index])
        run = len(content) - len(content.rstrip("\\"))
        if run % 2 == 0 or not _escape_continues(lines[index]):
            return index, False
        if index + 1 >= len(lines):
            return index, True
        index += 1


def parse_env(text: str) -> ParsedEnv:
    """Parse an env file; lines that are neither comments nor assignments are errors."""
    lines = split_lines(text)
    assignments: List[Assignment] = []
    bad: List[int] = []
    dangling = False
    index = 0
    while index < len(lines):
        content = _content(lines[index])
        stripped = content.lstrip(" \t")
        if not stripped:
            index += 1
            continue
        if stripped[0] in "#;":
            index, dangling = _comment_end(lines, index)
            index += 1
            continue
        match = _ASSIGNMENT_RE.match(content)
        if not match:
            bad.append(index + 1)
            index += 1
            continue
        value, quote, last, dangling = _read_value(lines, index, match.end())
        assignments.append(Assignment(match.group(3), value, index, last, match.group(0), quote))
        index = last + 1
    if bad:
        shown = ", ".join(str(n) for n in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise EnvFileError(
            "line(s) %s are neither comments nor KEY=VALUE assignments (systemd would ignore them); "
            "fix them, or use format=manifest if this is a Kubernetes manifest" % shown
        )
    return ParsedEnv(lines, assignments, dangling)


def render_value(value: str, quote: str = "") -> str:
    """Write ``value`` so that systemd (and a shell) read back exactly ``value``."""
    if quote == "'" and "'" not in value and "\n" not in value:
        return "'" + value + "'"
    if quote == "" and _SAFE_BARE_RE.match(value):
        return value
    escaped = "".join("\\" + c if c in _DOUBLE_QUOTE_ESCAPES else c for c in value)
    return '"' + escaped + '"'


def validate_key(key: str) -> None:
    if not _KEY_RE.match(key or ""):
        raise EnvFileError(
            "%r is not a valid environment variable name (letters, digits and _, not starting with a digit)" % (key,)
        )


def validate_value(key: str, value: str) -> None:
    if "\n" in value or "\r" in value or "\x00" in value:
        raise EnvFileError("the value for %s contains a line break or NUL; calico-node variables are single-line" % key)


def edit_env(text: str, set_vars: Mapping[str, str], unset_vars: Sequence[str] = ()) -> EnvEdit:
    """Set ``set_vars`` (in order) and remove ``unset_vars``; every other byte stays.

    Setting changes only the effective (last) assignment of a key; earlier
    duplicates are reported, not changed. Removing deletes every assignment of
    the key, since deleting only the last would bring an earlier one back.
    """
    for key, value in set_vars.items():
        validate_key(key)
        validate_value(key, value)
    for key in unset_vars:
        validate_key(key)
    both = sorted(set(set_vars) & set(unset_vars))
    if both:
        raise EnvFileError("%s cannot be both set and removed" % ", ".join(both))

    parsed = parse_env(text)
    replacements: Dict[int, Tuple[int, str]] = {}  # first line -> (last line, new text)
    deleted: set = set()
    appended: List[str] = []
    result = EnvEdit(text=text, previous={})

    for key in list(set_vars) + list(unset_vars):
        found = parsed.occurrences(key)
        result.previous[key] = found[-1].value if found else None
        if len(found) > 1:
            result.duplicates[key] = [a.lineno for a in found]

    for key, value in set_vars.items():
        effective = parsed.effective(key)
        if effective is not None and effective.value == value:
            result.locations[key] = "line %d" % effective.lineno
            continue
        result.changed_keys.append(key)
        if effective is None:
            appended.append(key + "=" + render_value(value))
            continue
        ending = _ending(parsed.lines[effective.last_line])
        replacements[effective.first_line] = (
            effective.last_line,
            effective.prefix + render_value(value, effective.quote) + ending,
        )

    for key in unset_vars:
        found = parsed.occurrences(key)
        if found:
            result.changed_keys.append(key)
            result.locations[key] = "removed"
        for assignment in found:
            deleted.update(range(assignment.first_line, assignment.last_line + 1))

    if not result.changed_keys:
        return result

    out: List[str] = []
    index = 0
    while index < len(parsed.lines):
        if index in replacements:
            last, new_text = replacements[index]
            out.append(new_text)
            index = last + 1
            continue
        if index not in deleted:
            out.append(parsed.lines[index])
        index += 1
    if appended:
        newline = parsed.newline
        if out and not out[-1].endswith("\n"):
            out[-1] += newline
        last_line = len(parsed.lines) - 1
        last_kept_verbatim = last_line not in deleted and not any(
            first <= last_line <= replacement[0] for first, replacement in replacements.items()
        )
        if parsed.dangling_continuation and last_kept_verbatim:
            # The last line continues onto the next one: give it an empty line to end on,
            # which is what it read as before (the end of the file), so the appended
            # variables stay separate assignments.
            out.append(newline)
        out.extend(line + newline for line in appended)
    result.text = "".join(out)
    # Report where each set key lives in the file as written, not as it was.
    written = parse_env(result.text)
    for key in set_vars:
        result.locations[key] = "line %d" % written.effective(key).lineno
    return result


def effective_values(text: str) -> Dict[str, str]:
    """Every key's effective value (the last assignment wins)."""
    return parse_env(text).effective_values()


def encapsulation_warnings(backend: str, lookup: Callable[[str], Optional[str]], where: str) -> List[str]:
    """Warnings for policy-only mode while the same config still turns on pool encapsulation.

    ``lookup(name)`` returns the value calico-node would get for ``name`` (None when unset
    or not knowable from this file).
    """
    if backend != "none":
        return []
    warnings = []
    for name, kind in ENCAPSULATION_VARS:
        value = lookup(name)
        if value is None or value.strip().lower() in _ENCAPSULATION_OFF:
            continue
        warnings.append(
            "CALICO_NETWORKING_BACKEND is none (policy-only) but %s still sets %s=%s, which asks for %s "
            "encapsulation of the default IP pool; in policy-only mode pod traffic is routed by the route table, "
            "not tunnelled, so set %s=Never (for example extra_env: {%s: Never})." % (where, name, value, kind, name, name)
        )
    return warnings


def looks_like_manifest(text: str) -> bool:
    """True when the text is a Kubernetes manifest rather than KEY=VALUE lines."""
    return bool(_MANIFEST_HINT_RE.search(text))


def detect_format(text: Optional[str], path: str) -> str:
    """``manifest`` or ``env`` from the content, or from the file name when there is none."""
    if text is not None and text.strip():
        return "manifest" if looks_like_manifest(text) else "env"
    return "manifest" if path.lower().endswith((".yaml", ".yml")) else "env"


def normalise_extra_env(extra_env: Mapping[str, object]) -> Dict[str, str]:
    """Ansible gives YAML values (bools, ints); calico-node reads strings."""
    result: Dict[str, str] = {}
    for key, value in extra_env.items():
        key = str(key)
        validate_key(key)
        if value is None:
            raise EnvFileError("extra_env.%s has no value; to remove the variable list it in absent_env" % key)
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (str, int, float)):
            text = str(value)
        else:
            raise EnvFileError("extra_env.%s must be a string, number or boolean, not %s" % (key, type(value).__name__))
        validate_value(key, text)
        result[key] = text
    return result


def managed_variables(backend: str, extra_env: Mapping[str, str], absent_env: Iterable[str]) -> Tuple[Dict[str, str], List[str]]:
    """The variables to set (backend first) and to remove, validated against each other."""
    if BACKEND_VAR in extra_env:
        raise EnvFileError("set %s with the backend option, not in extra_env" % BACKEND_VAR)
    absent = list(dict.fromkeys(absent_env))
    if BACKEND_VAR in absent:
        raise EnvFileError("%s cannot be listed in absent_env: this module manages it" % BACKEND_VAR)
    for key in absent:
        validate_key(key)
    both = sorted(set(extra_env) & set(absent))
    if both:
        raise EnvFileError("%s listed in both extra_env and absent_env" % ", ".join(both))
    to_set: Dict[str, str] = {BACKEND_VAR: backend}
    to_set.update(extra_env)
    return to_set, absent

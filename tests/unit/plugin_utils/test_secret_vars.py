"""Secrets from variables: data, references followed, one expression rendered, never a template otherwise."""

from __future__ import annotations

import pytest

from ansible_collections.calico.azure.plugins.plugin_utils.secret_vars import SecretVariableError, resolve_secret


def never(text):
    raise AssertionError("rendered %r" % text)


@pytest.mark.parametrize("value", ["Ab{{ 7*6 }}c", "plain", "{{ a }}{{ b }}", "x {{ name }}", "{% raw %}", ""])
def test_literals_are_returned_as_written(value):
    assert resolve_secret(value, {"a": "A", "b": "B", "name": "N"}, never, "s") == value


def test_a_bare_reference_is_followed_to_the_raw_value():
    variables = {"vault_secret": "{{ inner }}", "inner": "Ab{{ 7*6 }}c"}
    assert resolve_secret("{{ vault_secret }}", variables, never, "s") == "Ab{{ 7*6 }}c"


def test_another_whole_expression_is_rendered_once():
    assert resolve_secret("{{ lookup('env', 'X') }}", {}, lambda text: "from-env", "s") == "from-env"


def test_undefined_reference_names_both_variables():
    with pytest.raises(SecretVariableError) as err:
        resolve_secret("{{ missing }}", {}, never, "calico_azure_auth.secret")
    assert str(err.value) == "calico_azure_auth.secret refers to the variable missing, which is not defined."


def test_a_reference_loop_is_refused():
    with pytest.raises(SecretVariableError) as err:
        resolve_secret("{{ a }}", {"a": "{{ b }}", "b": "{{ a }}"}, never, "s")
    assert "more than 10 variable references in a row" in str(err.value)


def test_none_stays_none():
    assert resolve_secret(None, {}, never, "s") is None

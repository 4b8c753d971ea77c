"""The catalogue describes itself: every parameter and value is declared with its meaning, and
anything else is refused at load as file:line: key, before any check runs."""

from __future__ import annotations

from importlib import resources

import pytest

from anonmap.apis import registry
from anonmap.expect.catalogue import CatalogueError, behaviours, causes, load

TEXT = resources.files("anonmap").joinpath("data/behaviours.toml").read_text()


def _problems(text: str) -> list[str]:
    with pytest.raises(CatalogueError) as raised:
        load(text, "behaviours.toml")
    return raised.value.problems


def _line_of(text: str, needle: str) -> int:
    return 1 + text[: text.index(needle)].count("\n")


def test_every_value_a_case_takes_is_declared_with_its_meaning() -> None:
    for behaviour in behaviours().values():
        for case in behaviour.cases:
            for key, value in case.params.items():
                assert behaviour.glossary[key].values[value].strip(), (behaviour.id, key, value)


def test_a_misspelt_value_is_refused_naming_file_line_and_key() -> None:
    text = TEXT.replace('api = ["libc", "python", "syscall"]', 'api = ["libc", "pyhton", "syscall"]', 1)
    (problem,) = _problems(text)
    line = _line_of(text, '"pyhton"')
    assert problem.startswith(f"behaviours.toml:{line}: ") and "key 'api': 'pyhton'" in problem


def test_an_undeclared_parameter_and_an_unknown_capability_are_refused() -> None:
    text = TEXT.replace('size = ["1", "page"', 'sise = ["1", "page"', 1).replace(
        'requires = ["dev-zero"]', 'requires = ["dev-zeros"]', 1
    )
    problems = _problems(text)
    assert any(
        f"behaviours.toml:{_line_of(text, 'sise =')}: " in p and "'sise' is not a parameter" in p
        for p in problems
    )
    assert any("'dev-zeros' is not a capability" in p for p in problems)


def test_an_api_value_with_no_call_interface_is_refused_before_any_check() -> None:
    assert registry.unregistered(tuple(registry.APIS)) == ""
    problem = registry.unregistered(("libc", "rust"))
    assert "rust has no entry in anonmap.apis.registry" in problem, problem


def test_a_declared_parameter_no_case_uses_is_refused() -> None:
    text = TEXT.replace(
        "[parameter.api]", '[parameter.unused]\nmeaning = "x"\nvalues = { a = "b" }\n\n[parameter.api]', 1
    )
    assert any("[parameter.unused]: declared, but no case uses it" in p for p in _problems(text))


def test_case_ids_show_bare_values_alone_and_the_rest_as_key_value() -> None:
    ids = [case.id for case in behaviours()["fd-argument"].cases]
    assert "libc-private-fd=0" in ids and "python-shared-fd=dev-zero" in ids


def test_every_case_has_a_declared_cause_and_a_misspelt_one_is_refused() -> None:
    named = {case.cause for behaviour in behaviours().values() for case in behaviour.cases}
    assert named == set(causes()) and all(c.summary and c.idiom for c in causes().values())
    text = TEXT.replace('cause = "fd"', 'cause = "fdd"', 1)
    line = _line_of(text, 'cause = "fdd"')
    assert any(f"behaviours.toml:{line}: " in p and "'fdd' is not a cause" in p for p in _problems(text))


def test_a_block_names_its_own_cause_and_an_unused_cause_is_refused() -> None:
    demo = {case.params["method"]: case.cause for case in behaviours()["c-seed-demo"].cases}
    assert demo == {"map-anon": "headers", "dev-zero": "dev-zero"}
    text = TEXT.replace("[cause.fd]", '[cause.unused]\nsummary = "x"\nidiom = "y"\n\n[cause.fd]', 1)
    assert any("[cause.unused]: declared, but no case has it" in p for p in _problems(text))

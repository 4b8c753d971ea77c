"""Draft profiles are the fewest entries that reproduce the observations, in catalogue order.

Each draft is read back with the real profile loader and matcher (``load_profile`` and
``Profile.expectation``), once its citations are filled in, and every observed case must get
exactly its observed outcome.
"""

from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from anonmap import suite
from anonmap.expect.catalogue import Case, behaviours
from anonmap.expect.profiles import Expectation, Profile, ProfileError, load_profile
from anonmap.files.tomlread import loads
from anonmap.host.probe import RunInfo, probe
from anonmap.reporting import draft
from anonmap.reporting.runs import Run, read
from anonmap.results.records import Record, document, write_atomically
from anonmap.results.verdicts import Verdict
from selftests.helpers import REPO

INFO = {"os": "testos", "release": "1.0", "arch": "x86_64"}
UNCITED = "cite = []  # UNCITED"


@pytest.fixture(scope="module")
def info() -> RunInfo:
    return probe()


def _record(case: Case, observed: str, detail: str = "") -> Record:
    return Record(
        f"tests/test_x.py::test_{case.behaviour.replace('-', '_')}[{case.id}]",
        case.behaviour,
        case.id,
        dict(case.params),
        "",
        observed,
        Verdict.UNPROFILED if observed else Verdict.UNSUPPORTED,
        (),
        "",
        detail,
        "",
    )


def _run(records: list[Record], tmp_path: Path) -> Run:
    """A run read back from a results file of ``records``, as the CLI reads it."""
    path = tmp_path / "results.json"
    write_atomically(path, document(INFO, None, records, "2026-11-27T00:00:00+00:00"))
    (run,) = read(path)
    return run


def _observe(
    behaviour_id: str, outcome: Callable[[Case], str], detail: str = "not supported here"
) -> list[Record]:
    """A record for every case of a behaviour; '' from ``outcome`` is a case not observed."""
    return [_record(case, outcome(case), detail) for case in behaviours()[behaviour_id].cases]


def _entries(text: str) -> list[dict[str, object]]:
    entries = loads(text).get("expect", [])
    assert isinstance(entries, list)
    return entries


def _of(text: str, behaviour_id: str) -> list[dict[str, object]]:
    return [entry for entry in _entries(text) if entry["behaviour"] == behaviour_id]


def _cited(text: str, tmp_path: Path) -> Profile:
    """The draft as a person would complete it: every cite filled, the outcomes untouched."""
    assert text.count(UNCITED) == text.count("[[expect]]")
    path = tmp_path / "completed.toml"
    path.write_text(text.replace(UNCITED, 'cite = ["test"]'))
    return load_profile(path)


def _assert_reproduces(text: str, records: list[Record], tmp_path: Path, info: RunInfo) -> None:
    """The draft, completed, gives every observed case its observed outcome and covers every
    case; as drafted, validation refuses every one of its entries."""
    draft_path = tmp_path / "draft.toml"
    draft_path.write_text(text)
    with pytest.raises(ProfileError) as refused:
        load_profile(draft_path)
    assert len(refused.value.problems) == text.count("[[expect]]")
    assert all("key 'cite' must be a non-empty list" in p for p in refused.value.problems)
    profile = _cited(text, tmp_path)
    wrong = []
    for record in records:
        if not record.observed:
            continue
        (case,) = [c for c in behaviours()[record.behaviour].cases if c.id == record.case]
        entry = profile.expectation(case, info)
        if entry is None or entry.outcome != record.observed:
            wrong.append(f"{record.behaviour}[{record.case}]: {entry and entry.outcome} != {record.observed}")
    assert not wrong, "\n".join(wrong)


def _order(text: str) -> list[str]:
    """The behaviours the draft's entries name, each once, in the order they appear."""
    return list(dict.fromkeys(str(entry["behaviour"]) for entry in _entries(text)))


def test_a_behaviour_observed_alike_is_one_entry_without_case(tmp_path: Path, info: RunInfo) -> None:
    records = _observe("zero-fill", lambda case: "zero")
    text = draft.render(_run(records, tmp_path))
    assert _of(text, "zero-fill") == [{"behaviour": "zero-fill", "outcome": "zero", "cite": []}]
    _assert_reproduces(text, records, tmp_path, info)


def test_outcomes_that_differ_by_one_parameter_are_one_narrowing_entry(tmp_path: Path, info: RunInfo) -> None:
    records = _observe("fd-argument", lambda case: "EINVAL" if case["fd"] in ("0", "closed") else "zero")
    text = draft.render(_run(records, tmp_path))
    assert _of(text, "fd-argument") == [
        {"behaviour": "fd-argument", "outcome": "zero", "cite": []},
        {"behaviour": "fd-argument", "case": {"fd": ["0", "closed"]}, "outcome": "EINVAL", "cite": []},
    ]
    assert 'case = { fd = ["0", "closed"] }\noutcome = "EINVAL"\ncite = []  # UNCITED\n' in text
    _assert_reproduces(text, records, tmp_path, info)


def test_outcomes_that_differ_by_two_parameters_are_one_entry_naming_both(
    tmp_path: Path, info: RunInfo
) -> None:
    # Only the Python module's shared mappings differ: neither parameter alone picks them out.
    def outcome(case: Case) -> str:
        return "nonzero" if "python" in case.params.values() and case["sharing"] == "shared" else "zero"

    records = _observe("zero-fill", outcome)
    interface = next(
        key for key, values in behaviours()["zero-fill"].parameters.items() if "python" in values
    )
    text = draft.render(_run(records, tmp_path))
    assert _of(text, "zero-fill") == [
        {"behaviour": "zero-fill", "outcome": "zero", "cite": []},
        {
            "behaviour": "zero-fill",
            "case": {interface: "python", "sharing": "shared"},
            "outcome": "nonzero",
            "cite": [],
        },
    ]
    _assert_reproduces(text, records, tmp_path, info)


def test_unobserved_cases_force_no_entry_but_are_covered_and_named(tmp_path: Path, info: RunInfo) -> None:
    def outcome(case: Case) -> str:
        if case["fd"] == "dev-zero":
            return ""
        return "EBADF" if case["fd"] in ("closed", "huge") else "zero"

    records = _observe("fd-argument", outcome, detail="no /dev/zero\n(probe: dev-zero)")
    text = draft.render(_run(records, tmp_path))
    assert [entry.get("case") for entry in _of(text, "fd-argument")] == [
        None,
        {"fd": ["closed", "huge"]},
    ]
    # The default decides the /dev/zero cases, and a comment above it says so, on lines of
    # their own (the detail's line break does not end the comment).
    section = text.split("fd-argument:")[1].split("[[expect]]")[0]
    assert "22 of 28 cases observed" in section
    comment = " ".join(line.removeprefix("# ") for line in section.splitlines()[1:])
    assert "(no /dev/zero (probe: dev-zero)): its cases with fd = dev-zero (6)" in comment
    assert all(line.startswith("#") or not line for line in section.splitlines()[1:])
    _assert_reproduces(text, records, tmp_path, info)


def test_a_behaviour_never_observed_is_one_unknown_entry_saying_so(tmp_path: Path, info: RunInfo) -> None:
    records = _observe("c-seed-demo", lambda case: "", detail="no cc on PATH (probe: compilers)")
    text = draft.render(_run(records, tmp_path))
    assert _of(text, "c-seed-demo") == [
        {
            "behaviour": "c-seed-demo",
            "outcome": "unknown",
            "cite": [],
            "note": "not observed: no cc on PATH (probe: compilers)",
        }
    ]
    # A behaviour with no record at all is drafted too, so the completed draft covers every case.
    assert _of(text, "madvise") == [
        {"behaviour": "madvise", "outcome": "unknown", "cite": [], "note": "not observed: no result"}
    ]
    _assert_reproduces(text, records, tmp_path, info)


def test_a_record_of_no_catalogue_case_is_named_and_left_out(tmp_path: Path, info: RunInfo) -> None:
    records = _observe("fd-minus-one", lambda case: "zero")
    stray = dataclasses.replace(
        records[0],
        nodeid="tests/test_x.py::test_gone[old]",
        case="old",
        params={"gone": "1"},
        observed="EINVAL",
    )
    text = draft.render(_run([*records, stray], tmp_path))
    assert "# Left out, no case of this anonmap's catalogue: fd-minus-one[old]\n" in text
    assert _of(text, "fd-minus-one") == [{"behaviour": "fd-minus-one", "outcome": "zero", "cite": []}]
    _assert_reproduces(text, records, tmp_path, info)


def test_entries_follow_the_catalogue_and_the_draft_is_deterministic(tmp_path: Path, info: RunInfo) -> None:
    rng = random.Random(8)
    records = [
        _record(case, rng.choice(["zero", "EINVAL", "ENODEV", ""]), "withheld")
        for behaviour in reversed(list(behaviours().values()))
        for case in behaviour.cases
    ]
    text = draft.render(_run(records, tmp_path))
    assert _order(text) == list(behaviours())
    run = _run(records, tmp_path)
    shuffled = list(run.records)
    rng.shuffle(shuffled)
    assert draft.render(dataclasses.replace(run, records=tuple(shuffled))) == text
    _assert_reproduces(text, records, tmp_path, info)


@pytest.mark.parametrize("seed", range(40))
def test_random_observations_are_reproduced_in_no_more_entries_than_cases(
    seed: int, tmp_path: Path, info: RunInfo
) -> None:
    """Outcomes that follow the parameters loosely, with noise and gaps, on every behaviour."""
    rng = random.Random(seed)
    records = []
    for behaviour in behaviours().values():
        keys = list(behaviour.parameters)
        decisive = rng.sample(keys, rng.randint(0, min(2, len(keys))))
        words = ["zero", "EINVAL", "SIGSEGV", "shared"][: rng.randint(1, 4)]
        by_value: dict[tuple[str, ...], str] = {}
        for case in behaviour.cases:
            if rng.random() < 0.15:
                records.append(_record(case, "", "withheld"))
                continue
            word = by_value.setdefault(tuple(case.params.get(key, "") for key in decisive), rng.choice(words))
            records.append(_record(case, rng.choice(words) if rng.random() < 0.1 else word))
    text = draft.render(_run(records, tmp_path))
    for behaviour in behaviours().values():
        assert 1 <= len(_of(text, behaviour.id)) <= len(behaviour.cases), behaviour.id
    _assert_reproduces(text, records, tmp_path, info)


def test_cases_of_differing_parameters_are_decided_right(info: RunInfo) -> None:
    """The search is generic: a behaviour whose cases do not all have the same parameters (the
    catalogue's blocks may differ) is drafted right too, checked with the real matcher."""
    params = [{"x": "1"}, {"x": "2"}, {"x": "1", "y": "a"}, {"x": "1", "y": "b"}, {"x": "2", "y": "a"}, {}]
    # Made from a real behaviour and case, so that only what the draft reads is synthetic.
    template = behaviours()["fd-minus-one"]
    cases = tuple(dataclasses.replace(template.cases[0], behaviour="synthetic", params=p) for p in params)
    behaviour = dataclasses.replace(template, id="synthetic", cases=cases)
    rng = random.Random(1)
    for _ in range(300):
        observed = {
            index: rng.choice(["zero", "EINVAL"]) for index in range(len(cases)) if rng.random() < 0.85
        }
        rules = draft.minimal(behaviour, observed)
        assert 1 <= len(rules) <= len(cases)
        expectations = tuple(
            Expectation(line, rule.case, {}, ("test",), "", "synthetic", rule.outcome)
            for line, rule in enumerate(rules)
        )
        profile = Profile("p", Path("p.toml"), ("testos",), "t", (), expectations, ())
        for index, case in enumerate(cases):
            entry = profile.expectation(case, info)
            assert entry is not None, (observed, rules)
            if index in observed:
                assert entry.outcome == observed[index], (observed, rules)
            elif not observed:
                assert entry.outcome == "unknown"


def test_a_real_run_on_this_machine_drafts_far_fewer_entries_than_cases(
    tmp_path: Path, info: RunInfo
) -> None:
    results = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    try:
        done = subprocess.run(
            suite.command(["-n", "0", f"--anonmap-results={results}"]),
            cwd=REPO,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.skip("the suite did not finish within 120 s here")
    if not results.exists():
        pytest.skip(f"the suite wrote no results here: {(done.stdout + done.stderr)[-500:]}")
    output = tmp_path / "draft.toml"
    made = subprocess.run(
        [sys.executable, "-m", "anonmap", "profile", "draft", str(results), "--output", str(output)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    text = output.read_text()
    (run,) = read(results)
    cases = sum(len(b.cases) for b in behaviours().values())
    entries = len(_entries(text))
    print(f"draft of this machine's run: {entries} entries for {cases} cases ({len(run.records)} records)")
    assert entries * 4 <= cases, text
    assert _order(text) == list(behaviours())
    assert [line for line in text.splitlines() if line.startswith("cite")] == [UNCITED] * entries
    _assert_reproduces(text, list(run.records), tmp_path, info)

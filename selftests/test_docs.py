"""The documentation runs: every ``anonmap ...`` command line and every ``--anonmap-*`` option
that the README and ``docs/*.md`` show is run here, and every option the command and the plugin
define is mentioned there, so that none goes stale.

A command is run as written, in a scratch directory that holds the inputs it names (results
files, the scan fixture, the workflow). A synopsis (``[--json PATH]``, ``RESULTS...``) is run
with its brackets dropped and its placeholders filled where a value is known, else each of its
options is checked against the parser and its ``--help`` is run. What needs a whole run on a
machine (``anonmap run``) runs its ``--help``. Each must end with the exit status the
documentation gives, with no traceback.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from anonmap import cli
from anonmap.plugin import options
from selftests import synthetic
from selftests.helpers import REPO, captured

DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [REPO / "README.md", *DOCS]
SCAN_FIXTURE = REPO / "selftests" / "fixtures" / "scan" / "hazards.c"

#: The exit status the documentation gives: diff finds differences, scan finds hazards, merge
#: misses a platform the workflow expects.
EXIT = {"diff": 1, "scan": 1}
EXIT_MISSING_EXPECTED = 5
#: Subcommands that need a whole run on a machine: their --help is run instead.
NEEDS_A_MACHINE = {"run"}
#: Placeholders of a synopsis and what fills them in the scratch directory.
FILL = {
    "RESULTS...": "A.json",
    "RESULTS": "A.json",
    "A": "A.json",
    "B": "B.json",
    "DIR": "atlas",
    "text|json|sarif": "sarif",
    "F": "out.sarif",
    "PATH...": "src",
}


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found.update(action.choices)
    return found


def _parsers() -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every parser of the anonmap command, by the words that reach it."""
    top = cli.parser()
    parsers: dict[tuple[str, ...], argparse.ArgumentParser] = {(): top}
    pending: list[tuple[tuple[str, ...], argparse.ArgumentParser]] = [((), top)]
    while pending:
        words, parser = pending.pop()
        for name, sub in _subparsers(parser).items():
            key = (*words, name)
            parsers[key] = sub
            pending.append((key, sub))
    return parsers


PARSERS = _parsers()


def _options(parser: argparse.ArgumentParser) -> set[str]:
    return {o for a in parser._actions for o in a.option_strings if o.startswith("--")} - {"--help"}


def _text() -> str:
    return "\n".join(page.read_text(encoding="utf-8") for page in PAGES)


def _code_lines(text: str) -> list[str]:
    """The lines of indented and fenced code blocks, each block ended by an empty line, a
    continuation (a line of options only) joined to the line before it."""
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if not (fenced or line.startswith("    ")):
            if line.strip() and lines and lines[-1]:
                lines.append("")  # the end of a block
            continue
        if lines and re.match(r"\s+\[", line) and "anonmap " in lines[-1]:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line.strip())
    return lines


def _commands() -> list[tuple[str, str]]:
    """Every ``anonmap ...`` command line the pages show, with the page it is on."""
    found: dict[str, str] = {}
    words = {w[0] for w in PARSERS if w} | {"--version"}
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        candidates = [" ".join(span.split()) for span in re.findall(r"`(anonmap [^`]+)`", text)]
        for line in _code_lines(text):
            candidates += [m.group(1) for m in re.finditer(r"(?:^|\$ |run: |: )(anonmap .*)", line)]
        for candidate in candidates:
            command = re.split(r"\s(?:#|\|\||>)", candidate)[0].strip()
            if command.split()[1] in words:
                found.setdefault(command, page.name)
    return sorted(found.items())


COMMANDS = _commands()


def _words(command: str) -> tuple[str, ...]:
    """The subcommand words of ``command`` (``profile draft``)."""
    words: tuple[str, ...] = ()
    for token in command.split()[1:]:
        longer = (*words, token)
        if longer not in PARSERS:
            break
        words = longer
    return words


def _filled(command: str) -> list[str] | None:
    """The synopsis ``command`` as it runs here, or None where a placeholder has no value."""
    tokens = []
    for token in command.replace("[", " ").replace("]", " ").split():
        if token == "...":
            continue
        value = FILL.get(token, token)
        if re.fullmatch(r"[A-Z][A-Z_.]*", value):
            return None
        tokens.append(value)
    return tokens


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the inputs the documented commands name."""
    where = tmp_path_factory.mktemp("docs")
    made = synthetic.write_platforms(where / "made", 2, deviate_every=2)
    (where / "results").mkdir()
    shutil.copy(made[0], where / "results" / "anonmap-linux-x86_64.json")
    shutil.copy(made[0], where / "A.json")
    shutil.copy(made[1], where / "B.json")
    (where / "selftests" / "fixtures" / "scan").mkdir(parents=True)
    shutil.copy(SCAN_FIXTURE, where / "selftests" / "fixtures" / "scan")
    (where / "src").mkdir()
    shutil.copy(SCAN_FIXTURE, where / "src")
    (where / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(REPO / ".github" / "workflows" / "ci.yml", where / ".github" / "workflows")
    (where / "platforms").mkdir()
    return where


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["GITHUB_STEP_SUMMARY"] = str(cwd / "summary.md")
    return captured([sys.executable, "-m", "anonmap", *argv], cwd, env, timeout=60)


def test_the_pages_show_commands() -> None:
    shown = {command for command, _ in COMMANDS}
    for command in ("anonmap diff linux freebsd", "anonmap run", "anonmap --version"):
        assert command in shown, command
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 60, "the README is one screen"
    for command in ("anonmap diff linux freebsd", "anonmap run", "anonmap scan "):
        assert f"\n    {command}" in readme, command


@pytest.mark.parametrize(("command", "page"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_each_documented_command_runs(command: str, page: str, scratch: Path) -> None:
    words = _words(command)
    parser = PARSERS[words]
    given = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", command))
    assert given <= _options(parser) | {"--version"}, f"{page}: {command}: not options of it"
    argv = _filled(command)
    # A subcommand named alone in prose (`anonmap scan`) is its name, not a command line.
    named_alone = len(command.split()) == 2 and bool(words)
    no_cc = words[:1] == ("observer",) and not shutil.which("cc")
    if argv is None or named_alone or no_cc or (words and words[0] in NEEDS_A_MACHINE):
        argv, expected = ["anonmap", *words, "--help"], 0
    else:
        expected = EXIT.get(words[0], 0) if words else 0
        if "--expect-from" in argv:
            expected = EXIT_MISSING_EXPECTED
    done = _run(argv[1:], scratch)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, f"{page}: {command}\n{output}"
    assert done.returncode == expected, f"{page}: {' '.join(argv)}: exit {done.returncode}\n{output[-2000:]}"


def test_a_shown_output_is_what_the_command_prints(scratch: Path) -> None:
    """Where a page shows a command's output after ``$ anonmap ...``, each line it shows (but
    ``...``) is a line the command prints."""
    for page in PAGES:
        lines = _code_lines(page.read_text(encoding="utf-8"))
        for index, line in enumerate(lines):
            if not line.startswith("$ anonmap "):
                continue
            shown = []
            for following in lines[index + 1 :]:
                if following.startswith("$ ") or not following:
                    break
                shown.append(following)
            printed = _run(line[2:].split()[1:], scratch)
            for expected in shown:
                if expected != "...":
                    said = [printed_line.strip() for printed_line in printed.stdout.splitlines()]
                    assert expected in said, f"{page.name}: {line}: {expected}"


def test_every_option_of_the_command_is_documented() -> None:
    text = _text()
    missing = [
        f"anonmap {' '.join(words)} {option}".replace("  ", " ")
        for words, parser in PARSERS.items()
        for option in sorted(_options(parser))
        if not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text)
    ]
    assert missing == [], f"not in the README or docs/: {missing}"


def test_every_plugin_option_is_documented_and_every_documented_one_exists() -> None:
    text = _text()
    defined = {f"--anonmap-{spec.name}" for spec in options._SPECS}
    shown = set(re.findall(r"--anonmap-[a-z]+(?:-[a-z]+)*", text))
    assert defined - shown == set(), "plugin options not in the README or docs/"
    assert shown - defined == set(), "documented plugin options that do not exist"
    assert "anonmap_suite" in text


def test_the_documented_plugin_options_run(tmp_path: Path) -> None:
    """The options a run takes, given for real to a run of a few cases; those that need a
    persona's launcher or an observer's output are listed by pytest's --help."""
    results = tmp_path / "out"
    real = [
        f"--anonmap-results={results}/",
        "--anonmap-label=docs-check",
        f"--anonmap-profiles={REPO / 'platforms'}",
        "--anonmap-time-limit=30",
    ]
    if sys.platform.startswith("linux"):
        real.append("--anonmap-platform=linux")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    command = [sys.executable, "-m", "pytest", "tests", "-q", "-p", "no:cacheprovider"]
    done = captured([*command, "-n", "0", "-k", "test_fd_argument and libc and private", *real], REPO, env)
    assert done.returncode == 0, done.stdout + done.stderr
    written = list(results.glob("anonmap-*.json"))
    assert len(written) == 1 and '"label": "docs-check"' in written[0].read_text()
    listed = captured([*command, "--help"], REPO, env)
    for spec in options._SPECS:
        assert f"--anonmap-{spec.name}" in listed.stdout


def _python_blocks(page: str) -> list[str]:
    """The page's indented blocks that use the API (``anonmap.``), as Python source."""
    blocks = re.findall(r"(?m)(?:^    .*\n)+", (REPO / "docs" / page).read_text(encoding="utf-8"))
    return [textwrap.dedent(block) for block in blocks if "anonmap." in block and "$" not in block]


def test_the_api_page_runs_and_shows_what_it_returns() -> None:
    blocks = _python_blocks("api.md")
    assert blocks, "docs/api.md shows no Python"
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)
        for line in block.splitlines():
            # A line ending in a comment of literals says what the expression before it returns.
            code, _, comment = line.partition("#")
            try:
                shown = ast.literal_eval(comment.strip())
            except (ValueError, SyntaxError):
                continue
            value = eval(code, namespace)
            assert value == shown, f"docs/api.md: {code.strip()} returns {value!r}, the page says {shown!r}"

"""``when`` tables: conditions over run_info that decide whether a profile entry applies.

Version fields take a constraint string ('>=4.15', '>=2.4,<4.15'); name fields take a value or
a list of values, any of which may match; ``compat`` holds when any named layer is present,
and 'none' when no layer is; ``setting`` takes a table of system settings (probe.SETTINGS),
each a value or a list of values: ``setting = { "vm.overcommit_memory" = "2" }``. A setting
that could not be read satisfies no condition.
"""

from __future__ import annotations

from collections.abc import Mapping

from anonmap.host.probe import SETTINGS, RunInfo
from anonmap.host.versions import constraint_error, satisfies

VERSION_FIELDS = ("kernel", "release", "binary_abi", "libc_version", "python")
NAME_FIELDS = ("os", "arch", "libc", "compat")
NUMBER_FIELDS = ("page_size",)
TABLE_FIELDS = ("setting",)
FIELDS = VERSION_FIELDS + NAME_FIELDS + NUMBER_FIELDS + TABLE_FIELDS


def condition_errors(when: Mapping[str, object]) -> list[tuple[str, str]]:
    """(field, problem) for every part of a ``when`` table that is malformed."""
    problems: list[tuple[str, str]] = []
    for field, wanted in when.items():
        if field not in FIELDS:
            problems.append((field, f"unknown condition field {field!r} (known: {', '.join(FIELDS)})"))
        elif field in VERSION_FIELDS:
            if not isinstance(wanted, str):
                problems.append((field, f"{field} takes a version constraint string such as '>=4.15'"))
            elif (error := constraint_error(wanted)) is not None:
                problems.append((field, error))
        elif field in NAME_FIELDS:
            values = wanted if isinstance(wanted, list) else [wanted]
            if not values or not all(isinstance(v, str) and v for v in values):
                problems.append((field, f"{field} takes a name or a list of names"))
        elif field in TABLE_FIELDS:
            known = {name for names in SETTINGS.values() for name in names}
            if not isinstance(wanted, dict) or not wanted:
                problems.append(
                    (field, 'setting takes a table of settings: { "vm.overcommit_memory" = "2" }')
                )
            else:
                for name, value in wanted.items():
                    values = value if isinstance(value, list) else [value]
                    if name not in known:
                        problems.append(
                            (field, f"unknown setting {name!r} (known: {', '.join(sorted(known))})")
                        )
                    elif not values or not all(isinstance(v, str) and v for v in values):
                        problems.append(
                            (field, f"setting {name!r} takes a value or a list of values, as strings")
                        )
        elif not _page_sizes(wanted):
            problems.append(
                (field, f"{field} takes a page size or a list of them: powers of two, such as 4096")
            )
    return problems


def _page_sizes(wanted: object) -> bool:
    """Whether ``wanted`` is a page size or a non-empty list of them (bool is not a number)."""
    values = wanted if isinstance(wanted, list) else [wanted]
    return bool(values) and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0 and v & (v - 1) == 0 for v in values
    )


def holds(when: Mapping[str, object], info: RunInfo) -> bool:
    """Whether every condition holds for this run. An unknown fact satisfies no condition."""
    for field, wanted in when.items():
        wanted_list = wanted if isinstance(wanted, list) else [wanted]
        if field in VERSION_FIELDS:
            version = info.version_of(field)
            if version is None or not satisfies(version, str(wanted)):
                return False
        elif field == "setting" and isinstance(wanted, dict):
            for name, value in wanted.items():
                if info.settings.get(name) not in (value if isinstance(value, list) else [value]):
                    return False
        elif field == "compat":
            present = set(info.compat)
            if not any(w in present or (w == "none" and not present) for w in wanted_list):
                return False
        elif getattr(info, field) not in wanted_list:
            return False
    return True

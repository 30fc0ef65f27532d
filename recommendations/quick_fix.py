"""Quick fix bundles: a bash script and an Ansible playbook remediating a selection of failed OS-configuration
rules with the benchmark's own fix content. Posture writes them for people to review and run; it never runs
them itself.

Everything in a bundle that comes from a scan file is untrusted (host names, titles, ids, fix text and fix
content). Names and titles go into comments with every line break and control character neutralised, into
shell words quoted by shlex.quote, or into YAML through yaml.safe_dump. A bash fix is read from a quoted
here-document whose end line it does not contain and runs in its own bash, so even a hostile fix cannot
leave its host guard; an Ansible fix must parse as a list of tasks that stay on the play's machines.
"""

import re
import shlex
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import yaml

from posture.errors import UserError
from posture.models import Resource
from posture.scope import Scope
from recommendations.models import Finding, FindingState, Rule

MAX_SELECTION = 2000
# Inventory names Ansible gives a meaning of its own: a machine so named is left to the reader.
RESERVED_HOSTS = frozenset({"all", "ungrouped", "localhost"})
# A plain host name or FQDN: no pattern characters (`*`, `:`, `!`, `&`, `~`, `[`, `,`) Ansible would expand.
ANSIBLE_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,252}[A-Za-z0-9])?")
# Task keywords that run a task somewhere else than on the play's machines.
ELSEWHERE = ("delegate_to", "local_action", "connection")
HEREDOC_END = "POSTURE_FIX_END"
WRAP = 100  # columns of the fix text in comments


class BadSelection(UserError):
    pass


class UnknownFinding(UserError):
    """A selected finding that does not exist or that the user may not see: the view answers 404."""


@dataclass(frozen=True)
class Machine:
    pk: int
    name: str
    # What the machine calls itself (the scans' host name and FQDN), then its name in Posture.
    host_names: tuple[str, ...]

    @property
    def label(self) -> str:
        others = [name for name in self.host_names if name != self.name]
        return f"{self.name} ({', '.join(others)})" if others else self.name

    @property
    def ansible_host(self) -> str | None:
        """The first of its names Ansible can take as one host and nothing more, if any."""
        return next(
            (n for n in self.host_names if ANSIBLE_HOST.fullmatch(n) and n not in RESERVED_HOSTS), None
        )


@dataclass(frozen=True)
class Group:
    """Machines that need the same fixes."""

    machines: tuple[Machine, ...]
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class ManualStep:
    rule: Rule
    machines: tuple[Machine, ...]
    note: str = ""


@dataclass(frozen=True)
class Selection:
    machines: dict[int, Machine]
    rules: dict[int, Rule]
    # Resource pk -> the pks of the rules failing on it that were selected.
    failing: dict[int, frozenset[int]]

    @property
    def summary(self) -> str:
        return f"{counted(len(self.rules), 'rule')} on {counted(len(self.machines), 'machine')}"


def counted(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# The selection.


def check_platform(selection: Selection, os_name: str) -> None:
    """A bundle holds the fixes of one platform: Windows rules get PowerShell, the others bash and Ansible."""
    windows = [rule.key for rule in selection.rules.values() if rule.os == "windows"]
    if os_name == "windows" and len(windows) < len(selection.rules):
        raise BadSelection("the PowerShell quick fix is for Windows rules: select only Windows rules")
    if os_name != "windows" and windows:
        raise BadSelection(
            f"{counted(len(windows), 'selected rule')} {'is' if len(windows) == 1 else 'are'} Windows rules: "
            "use the PowerShell quick fix for them"
        )


def parse_ids(raw: Sequence[str]) -> list[int]:
    if not raw:
        raise BadSelection("select at least one failed rule")
    if len(raw) > MAX_SELECTION:
        raise BadSelection(f"select at most {MAX_SELECTION} failed rules at a time")
    if not all(value.isascii() and value.isdigit() and len(value) < 19 for value in raw):
        raise BadSelection("the selection names findings that do not exist")
    return sorted({int(value) for value in raw})


def selected_findings(ids: Sequence[int], scope: Scope) -> Selection:
    """The open findings with these ids, all of which the scope's user must see (else UnknownFinding)."""
    findings = Finding.objects.filter(pk__in=ids).select_related("rule", "resource", "scan")
    if scope.resources is not None:
        # As on the resource page: a tower's members see their machines whatever the subscription chosen.
        findings = findings.filter(resource__in=scope.resources.values("pk"))
    found = list(findings)
    if len(found) != len(ids):
        raise UnknownFinding("the selection names findings that do not exist")
    if any(finding.state != FindingState.OPEN for finding in found):
        raise BadSelection("some selected rules no longer fail: reload the page and select again")
    return _selection(found)


def _selection(findings: Iterable[Finding]) -> Selection:
    names: dict[int, list[str]] = {}
    resources: dict[int, Resource] = {}
    rules: dict[int, Rule] = {}
    failing: dict[int, set[int]] = {}
    for finding in findings:
        resource = finding.resource
        resources[resource.pk] = resource
        rules[finding.rule.pk] = finding.rule
        failing.setdefault(resource.pk, set()).add(finding.rule.pk)
        scan = finding.scan
        known = names.setdefault(resource.pk, [])
        known += [scan.target_hostname, scan.target_fqdn] if scan is not None else []
    machines = {
        pk: Machine(pk, resource.name, tuple(dict.fromkeys(n for n in [*names[pk], resource.name] if n)))
        for pk, resource in resources.items()
    }
    return Selection(machines, rules, {pk: frozenset(ids) for pk, ids in failing.items()})


def machine_groups(selection: Selection, fixable: set[int]) -> list[Group]:
    """Machines by the fixable rules they need, each group's rules by key, groups by their first machine."""
    by_rules: dict[frozenset[int], list[Machine]] = {}
    for machine in sorted(selection.machines.values(), key=lambda m: (m.name, m.pk)):
        needed = selection.failing[machine.pk] & fixable
        if needed:
            by_rules.setdefault(frozenset(needed), []).append(machine)
    return [
        Group(tuple(machines), tuple(sorted((selection.rules[pk] for pk in needed), key=lambda r: r.key)))
        for needed, machines in by_rules.items()
    ]


def _manual_steps(selection: Selection, notes: dict[int, str]) -> list[ManualStep]:
    """Rules without automated fix content of the bundle's kind (their pk -> a note, maybe empty)."""
    steps = []
    for pk, note in notes.items():
        machines = [m for m in selection.machines.values() if pk in selection.failing[m.pk]]
        steps.append(
            ManualStep(selection.rules[pk], tuple(sorted(machines, key=lambda m: (m.name, m.pk))), note)
        )
    return sorted(steps, key=lambda step: step.rule.key)


# Text from the scan file in comments and names.


def one_line(text: str) -> str:
    """The text on one line, without any character that could end a comment or a line (\\n, \\r, \\x85,
    U+2028...) or that YAML refuses."""
    return "".join(c if c.isprintable() else " " for c in " ".join(text.split()))


def comment(text: str, *, margin: str = "", indent: str = "") -> list[str]:
    """Comment lines holding the text, line by line, each neutralised: `margin` before the `#`, `indent`
    after it."""
    return [f"{margin}# {indent}{one_line(line)}".rstrip() for line in text.splitlines() or [""]]


def _title(rule: Rule) -> str:
    return f"{rule.key}: {one_line(rule.title)}"


def _header(kind: str, selection: Selection, generated: datetime, steps: list[ManualStep]) -> list[str]:
    lines = [
        f"Posture quick fix ({kind}) for {selection.summary}, generated {generated:%Y-%m-%d %H:%M %Z}.",
        "Built from the benchmark's own fix content. Posture has run none of it: review it, then run it.",
        "",
        "MANUAL STEPS: rules without an automated fix here."
        if steps
        else "MANUAL STEPS: none, every selected rule has an automated fix here.",
    ]
    out = comment("\n".join(lines))
    for number, step in enumerate(steps, 1):
        rule = step.rule
        text = rule.fix_text or rule.description
        out += comment(f"\n[{number}] {_title(rule)}")
        out += comment(f"Rule id: {rule.rule_id}\nCCE ID: {rule.cce or '-'}", indent="    ")
        out += comment(f"Machines: {', '.join(m.label for m in step.machines)}", indent="    ")
        if step.note:
            out += comment(f"Note: {step.note}", indent="    ")
        said = "Fix text:" if rule.fix_text else "No fix text in the benchmark; the rule says:"
        out += comment(said, indent="    ")
        wrapped = "\n".join(textwrap.fill(line, WRAP) for line in (text or "(nothing)").splitlines())
        out += comment(wrapped, indent="      ")
    return [*out, "#"]


# Bash.

BASH_PREAMBLE = """\
set -u
if [ "$(id -u)" -ne 0 ]; then
    echo 'Run this script as root.' >&2
    exit 1
fi
failures=0
# Each fix runs in its own bash, with nothing on its standard input.
run_fix() {
    echo "== $1"
    if ! bash -c "$2" posture-fix </dev/null; then
        echo "FAILED: $1" >&2
        failures=$((failures + 1))
    fi
}
POSTURE_HOST="$(hostname)"
"""


def _heredoc_end(script: str) -> str:
    lines = set(script.split("\n"))
    end, number = HEREDOC_END, 0
    while end in lines:
        number += 1
        end = f"{HEREDOC_END}_{number}"
    return end


def _bash_fix(rule: Rule) -> list[str]:
    # bash cannot hold a NUL in a variable; PostgreSQL would not have stored one anyway.
    script = rule.fix_bash.replace("\x00", "")
    end = _heredoc_end(script)
    return [
        *comment(f"{_title(rule)}\nRule id: {rule.rule_id}\nCCE ID: {rule.cce or '-'}", margin="    "),
        f"    IFS= read -r -d '' POSTURE_FIX <<'{end}' || true",
        *script.rstrip("\n").split("\n"),
        end,
        f'    run_fix {shlex.quote(_title(rule))} "$POSTURE_FIX"',
    ]


def bash_bundle(selection: Selection, *, generated: datetime) -> str:
    """The bash script: manual steps in comments at the top, then one section per group of machines
    needing the same fixes, run only on a machine whose host name is one of the group's."""
    fixable = {pk for pk, rule in selection.rules.items() if rule.fix_bash.strip()}
    steps = _manual_steps(selection, {pk: "" for pk in selection.rules if pk not in fixable})
    lines = ["#!/usr/bin/env bash", *_header("bash", selection, generated, steps), BASH_PREAMBLE]
    lines.append('case "$POSTURE_HOST" in')
    for number, group in enumerate(machine_groups(selection, fixable), 1):
        patterns = dict.fromkeys(name for machine in group.machines for name in machine.host_names)
        lines += comment(f"Group {number}: {', '.join(m.label for m in group.machines)}")
        lines.append("|".join(shlex.quote(name) for name in patterns) + ")")
        for rule in group.rules:
            lines += _bash_fix(rule)
        lines.append("    ;;")
    lines += [
        "*)",
        '    echo "No fix in this bundle for $POSTURE_HOST."',
        "    ;;",
        "esac",
        'echo "Done: $failures fix(es) failed."',
        '[ "$failures" -eq 0 ]',
        "",
    ]
    return "\n".join(lines)


# Ansible.


def _tasks(rule: Rule) -> tuple[list[dict[str, Any]] | None, str]:
    """The rule's Ansible tasks, or None and why they cannot be used."""
    if not rule.fix_ansible.strip():
        return None, ""
    try:
        tasks = yaml.safe_load(rule.fix_ansible)
    except yaml.YAMLError as error:
        return None, f"its Ansible fix does not parse as YAML ({one_line(str(error))[:200]})"
    if not isinstance(tasks, list) or not tasks or not all(isinstance(task, dict) for task in tasks):
        return None, "its Ansible fix is not a list of tasks"
    if _runs_elsewhere(tasks):
        return (
            None,
            f"its Ansible fix runs tasks off its machines ({', '.join(ELSEWHERE)}): review it by hand",
        )
    return tasks, ""


def _runs_elsewhere(tasks: list[Any]) -> bool:
    for task in tasks:
        if not isinstance(task, dict):
            continue
        if any(key in task for key in ELSEWHERE):
            return True
        if any(
            isinstance(task.get(key), list) and _runs_elsewhere(task[key])
            for key in ("block", "rescue", "always")
        ):
            return True
    return False


def _named(rule: Rule, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    title = f"{one_line(rule.title)} ({rule.key})"
    named = []
    for task in tasks:
        own = one_line(str(task.get("name", "")))
        name = f"{title}: {own}" if own and own != one_line(rule.title) else title
        named.append({"name": name, **{key: value for key, value in task.items() if key != "name"}})
    return named


def ansible_bundle(selection: Selection, *, generated: datetime) -> str:
    """The Ansible playbook: manual steps in comments at the top, then one play per group of machines
    needing the same fixes, its tasks named after the rule's title and CCE ID."""
    tasks: dict[int, list[dict[str, Any]]] = {}
    notes: dict[int, str] = {}
    for pk, rule in selection.rules.items():
        found, note = _tasks(rule)
        if found is None:
            notes[pk] = note
        else:
            tasks[pk] = _named(rule, found)
    steps = _manual_steps(selection, notes)
    plays: list[dict[str, Any]] = []
    left_out: list[Machine] = []
    for group in machine_groups(selection, set(tasks)):
        hosts = [machine.ansible_host for machine in group.machines]
        left_out += [machine for machine, host in zip(group.machines, hosts, strict=True) if host is None]
        if any(hosts):
            plays.append(
                {
                    "name": f"Posture quick fix, group {len(plays) + 1}: {counted(len(hosts), 'machine')}",
                    "hosts": [host for host in hosts if host],
                    "become": True,
                    "tasks": [task for rule in group.rules for task in tasks[rule.pk]],
                }
            )
    lines = _header("Ansible", selection, generated, steps)
    if left_out:
        lines += comment(
            "LEFT OUT: machines without a host name Ansible can take as one host (add them by hand):\n"
            + "\n".join(machine.label for machine in left_out)
        )
    body = yaml.safe_dump(plays, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1000)
    return "\n".join([*lines, body])

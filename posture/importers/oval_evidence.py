"""OVAL tests put into words a sysadmin reads: what the rule expected, what the machine had.

Each false test of a failed rule is rendered by its family (file permissions and ownership, text-file
content, packages, sysctl, mount options, systemd units, shadow password ages, symbolic links) from its
object (which file, package, key), its states (the values required, with their operation and any
variable's values) and the items collected. A test of another family says "see OVAL evidence" and keeps
its items whole, one per line, for a collapsed view: never a dump cut mid-value.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

# (name, value, operation, var_ref)
Field = tuple[str, str, str, str]
RAW_MARK = "see OVAL evidence"
MAX_ITEMS = 5

FAMILIES = {
    "file": "File permissions and ownership",
    "textfilecontent54": "Text-file content",
    "textfilecontent": "Text-file content",
    "rpminfo": "Packages",
    "dpkginfo": "Packages",
    "sysctl": "Kernel parameters (sysctl)",
    "partition": "Mount options",
    "systemdunitproperty": "Services (systemd units)",
    "systemdunitdependency": "Services (systemd units)",
    "shadow": "Password ages (shadow)",
    "symlink": "Symbolic links",
    "variable": "Derived values (variable)",
}
CONFIG_FAMILY = "SSH and PAM configuration"
OPERATIONS = {
    "equals": "=",
    "not equal": "≠",
    "greater than": ">",
    "less than": "<",
    "greater than or equal": "≥",
    "less than or equal": "≤",
    "pattern match": "matching",
    "bitwise and": "with every bit of",
    "case insensitive equals": "=",
}
PERMISSION_BITS = (
    ("suid", 0o4000), ("sgid", 0o2000), ("sticky", 0o1000),
    ("uread", 0o400), ("uwrite", 0o200), ("uexec", 0o100),
    ("gread", 0o040), ("gwrite", 0o020), ("gexec", 0o010),
    ("oread", 0o004), ("owrite", 0o002), ("oexec", 0o001),
)  # fmt: skip
SHADOW_FIELDS = {
    "chg_lst": "last change (days since 1970)",
    "chg_allow": "minimum password age",
    "chg_req": "maximum password age",
    "exp_warn": "warning days",
    "exp_inact": "inactive days",
    "exp_date": "expiry date",
    "encrypt_method": "hash method",
}


@dataclass(frozen=True)
class Part:
    """An OVAL object, state or item: its kind (file, textfilecontent54, rpminfo...) and fields."""

    kind: str
    fields: tuple[Field, ...] = ()
    # An object's filters: (include / exclude, the state it names).
    filters: tuple[tuple[str, "Part"], ...] = ()

    def get(self, name: str) -> str:
        return next((value for n, value, _, _ in self.fields if n == name), "")

    def all(self, name: str) -> list[str]:
        return [value for n, value, _, _ in self.fields if n == name and value]

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f[0] == name), None)


@dataclass(frozen=True)
class OvalTest:
    kind: str
    comment: str = ""
    check_existence: str = "at_least_one_exists"
    object_ref: str = ""
    state_refs: tuple[str, ...] = ()


@dataclass(frozen=True)
class TestWords:
    family: str
    expected: str
    actual: str
    # False when the family is not rendered: `actual` then holds the raw items.
    rendered: bool = True


@dataclass
class RuleWords:
    tests: list[TestWords] = field(default_factory=list)

    @property
    def rendered(self) -> bool:
        """Every false test put into words, with an expected and an actual value."""
        return bool(self.tests) and all(t.rendered and t.expected and t.actual for t in self.tests)

    @property
    def family(self) -> str:
        return self.tests[0].family if self.tests else "No OVAL evidence"

    def text(self) -> tuple[str, str]:
        expected = _unique(t.expected for t in self.tests if t.expected)
        actual = _unique(t.actual for t in self.tests if t.rendered and t.actual)
        raw = [t.actual for t in self.tests if not t.rendered and t.actual]
        shown = "; ".join(actual)
        if raw:
            shown = (shown + "\n" if shown else "") + RAW_MARK + ":\n" + "\n".join(raw)
        return "; ".join(expected), shown


def _unique(values: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


Variables = dict[str, list[str]]


def _value(entry: Field | None, variables: Variables) -> str:
    """A field's value, or the values of the variable it refers to."""
    if entry is None:
        return ""
    _, value, _, var_ref = entry
    if var_ref:
        return ", ".join(variables.get(var_ref, [])) or "(a variable's value)"
    return value


def _readable_path(entry: Field | None, variables: Variables) -> str:
    """`^/etc/shadow$` (a pattern naming one file) as /etc/shadow; other patterns as they are."""
    text = _value(entry, variables)
    if entry is not None and entry[2] == "pattern match" and not entry[3]:
        plain = text.removeprefix("^").removesuffix("$").replace("\\.", ".").replace("\\/", "/")
        if not re.search(r"[\\()\[\]{}*+?|^$]", plain):
            return plain
        return f"files matching {text}"
    return text


def _file_of(part: Part | None, variables: Variables) -> str:
    if part is None:
        return "the file"
    if part.field("filepath"):
        return _readable_path(part.field("filepath"), variables)
    path, name = (
        _readable_path(part.field("path"), variables),
        _readable_path(part.field("filename"), variables),
    )
    if name in ("", "files matching ^.*$", "files matching .*"):
        return f"files under {path}" if path else "the file"
    if name.startswith("files matching "):
        return f"files in {path} {name.removeprefix('files ')}"
    return f"{path}/{name}"


def _owner(value: str, what: str) -> str:
    if value == "0":
        return f"{what} root"
    return f"{what} {'uid' if what == 'owner' else 'gid'} {value}" if value else ""


def _compare(entry: Field, variables: Variables) -> str:
    operation = OPERATIONS.get(entry[2] or "equals", entry[2])
    return f"{operation} {_value(entry, variables)}"


def _file_conditions(state: Part, v: Variables, *, violation: bool) -> tuple[set[str], set[str], list[str]]:
    """Forbidden and required permission bits, and owner / group words, of a state. A state an
    object's include filter names describes the violation (bits that must not be set, an owner that
    must not be); any other state describes what is required."""
    forbidden: set[str] = set()
    required: set[str] = set()
    owners: list[str] = []
    for name, value, _, _ in state.fields:
        if value in ("true", "false"):
            if violation:
                (forbidden if value == "true" else required).add(name)
            else:
                (forbidden if value == "false" else required).add(name)
    for name, what in (("user_id", "owner"), ("group_id", "group")):
        entry = state.field(name)
        if entry is None:
            continue
        value, equal = _value(entry, v), entry[2] in ("", "equals")
        if equal != violation:
            owners.append(_owner(value, what))
        else:
            owners.append(f"{what} not {'root' if value == '0' else value}")
    return forbidden, required, owners


def _file(info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables) -> TestWords:
    forbidden: set[str] = set()
    required: set[str] = set()
    owners: list[str] = []
    sources = [(state, False) for state in states]
    sources += [(state, action == "include") for action, state in (obj.filters if obj else ())]
    for state, violation in sources:
        no, yes, who = _file_conditions(state, v, violation=violation)
        forbidden |= no
        required |= yes
        owners.extend(who)
    wanted = []
    if forbidden or required:
        mode = sum(bit for name, bit in PERMISSION_BITS[3:] if name not in forbidden)
        special = [name for name in ("suid", "sgid", "sticky") if name in required]
        wanted.append(f"mode {mode:04o} or stricter" + (f" with {', '.join(special)}" if special else ""))
    wanted.extend(owners)
    where = _file_of(obj, v)
    if info.check_existence == "none_exist" and not (obj and obj.filters):
        expected = f"no file {where}"
    else:
        expected = f"{where}: {', '.join(wanted)}" if wanted else f"{where} exists"
    found = []
    for item in items[:MAX_ITEMS]:
        mode = sum(bit for name, bit in PERMISSION_BITS if item.get(name) == "true")
        owner = (_owner(item.get("user_id"), "owner"), _owner(item.get("group_id"), "group"))
        path = item.get("filepath") or "/".join(x for x in (item.get("path"), item.get("filename")) if x)
        found.append(f"{path}: mode {mode:04o}" + "".join(f", {x}" for x in owner if x))
    return TestWords(FAMILIES["file"], expected, _listed(found, items, f"not found: {where}"))


def _variable(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    reference = obj.get("var_ref") if obj else ""
    label = re.sub(r"^oval:[^-]*-(var_)?|:var:\d+$", "", reference).replace("_", " ") or "the value"
    values = [_compare(e, v) for state in states for e in state.fields if e[0] == "value"]
    expected = f"{label} {' and '.join(values)}" if values else f"{label} set"
    found = [f"{label} = {', '.join(item.all('value')) or '(empty)'}" for item in items[:MAX_ITEMS]]
    return TestWords("Derived values (variable)", expected, _listed(found, items, f"{label}: no value found"))


def _listed(found: list[str], items: Sequence[Part], nothing: str, total: int | None = None) -> str:
    if not found:
        return nothing
    more = (total if total is not None else len(items)) - len(found)
    return "; ".join(found) + (f"; and {more} more" if more > 0 else "")


def _text(info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables) -> TestWords:
    where = _file_of(obj, v)
    pattern = _value(obj.field("pattern") if obj else None, v) or "(pattern)"
    family = (
        CONFIG_FAMILY if re.search(r"ssh|pam\.d|login\.defs|sudoers", where) else FAMILIES["textfilecontent"]
    )
    conditions = [
        f"value {_compare(entry, v)}"
        for state in states
        for entry in state.fields
        if entry[0] in ("subexpression", "text")
    ]
    if info.check_existence == "none_exist":
        expected = f"no line matching {pattern} in {where}"
    else:
        expected = f"a line matching {pattern} in {where}" + (
            f" with {' and '.join(conditions)}" if conditions else ""
        )
    found = []
    for item in items[:MAX_ITEMS]:
        line = item.get("text") or item.get("line") or ", ".join(item.all("subexpression"))
        found.append(f"{item.get('filepath') or where}: {line.strip()}")
    return TestWords(family, expected, _listed(found, items, f"not found in {where}"))


def _package(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    name = _value(obj.field("name") if obj else None, v) or "the package"
    versions = [
        f"version {_compare(entry, v)}"
        for state in states
        for entry in state.fields
        if entry[0] in ("evr", "version", "release") and (entry[1] or entry[3])
    ]
    if info.check_existence == "none_exist":
        expected = f"{name} not installed"
    else:
        expected = f"{name} installed" + (f", {' and '.join(versions)}" if versions else "")
    found = []
    for item in items[:MAX_ITEMS]:
        version = item.get("evr") or "-".join(x for x in (item.get("version"), item.get("release")) if x)
        found.append(f"{item.get('name') or name} {version} installed".replace("  ", " "))
    return TestWords(FAMILIES["rpminfo"], expected, _listed(found, items, f"{name} not installed"))


def _sysctl(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    name = _value(obj.field("name") if obj else None, v) or "the kernel parameter"
    values = [_compare(entry, v) for state in states for entry in state.fields if entry[0] == "value"]
    expected = f"{name} {' and '.join(values)}" if values else f"{name} set"
    found = [f"{item.get('name') or name} = {item.get('value')}" for item in items[:MAX_ITEMS]]
    return TestWords(FAMILIES["sysctl"], expected, _listed(found, items, f"{name} not set"))


def _partition(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    point = _readable_path(obj.field("mount_point") if obj else None, v) or "the mount point"
    options = [_value(e, v) for state in states for e in state.fields if e[0] == "mount_options"]
    expected = f"{point} mounted with {', '.join(options)}" if options else f"{point} a separate mount point"
    found = [
        f"{item.get('mount_point') or point} mounted with "
        + (",".join(item.all("mount_options")) or "(no options)")
        for item in items[:MAX_ITEMS]
    ]
    return TestWords(
        FAMILIES["partition"], expected, _listed(found, items, f"{point} is not a separate mount point")
    )


def _systemd(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    unit = _value(obj.field("unit") if obj else None, v) or "the unit"
    prop = _value(obj.field("property") if obj else None, v)
    wanted = [_compare(e, v) for state in states for e in state.fields if e[0] in ("value", "dependency")]
    label = f"{unit} {prop}".strip()
    expected = f"{label} {' and '.join(wanted)}" if wanted else f"{label} present"
    found = [
        f"{item.get('unit') or unit} {item.get('property') or prop} = "
        + ", ".join(item.all("value") or item.all("dependency"))
        for item in items[:MAX_ITEMS]
    ]
    return TestWords(
        FAMILIES["systemdunitproperty"], expected, _listed(found, items, f"{unit}: no such unit")
    )


def _shadow(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    checked = [e for state in states for e in state.fields if e[0] in SHADOW_FIELDS]
    expected = ", ".join(f"{SHADOW_FIELDS[e[0]]} {_compare(e, v)}" for e in checked) or "password ages set"
    if info.check_existence == "none_exist":
        expected = f"no account with {expected}"
    names = [e[0] for e in checked] or ["chg_req"]
    found = [
        f"{item.get('username')}: "
        + ", ".join(f"{SHADOW_FIELDS[n]} {item.get(n) or '(none)'}" for n in names)
        for item in items[:MAX_ITEMS]
    ]
    return TestWords(FAMILIES["shadow"], expected, _listed(found, items, "no account found"))


def _symlink(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], v: Variables
) -> TestWords:
    where = _file_of(obj, v)
    targets = [_compare(e, v) for state in states for e in state.fields if e[0] == "canonical_path"]
    expected = f"{where} a symbolic link" + (f" to a path {' and '.join(targets)}" if targets else "")
    found = [f"{item.get('filepath') or where} → {item.get('canonical_path')}" for item in items[:MAX_ITEMS]]
    return TestWords(FAMILIES["symlink"], expected, _listed(found, items, f"{where} is not a symbolic link"))


RENDERERS = {
    "file": _file,
    "textfilecontent54": _text,
    "textfilecontent": _text,
    "rpminfo": _package,
    "dpkginfo": _package,
    "sysctl": _sysctl,
    "partition": _partition,
    "systemdunitproperty": _systemd,
    "systemdunitdependency": _systemd,
    "shadow": _shadow,
    "symlink": _symlink,
    "variable": _variable,
}


def raw_items(items: list[Part], total: int) -> str:
    """The items whole, one a line; the count of those left out said, never a value cut."""
    lines = [
        f"{item.kind}: " + ", ".join(f"{n}={value}" for n, value, _, _ in item.fields if value)
        for item in items[:MAX_ITEMS]
    ]
    if total > len(lines):
        lines.append(f"… and {total - len(lines)} more items")
    return "\n".join(lines)


def render_test(
    info: OvalTest, obj: Part | None, states: list[Part], items: list[Part], total: int, variables: Variables
) -> TestWords:
    renderer = RENDERERS.get(info.kind)
    if renderer is None:
        found = raw_items(items, total) or f"nothing collected ({info.comment or info.kind + ' test'})"
        return TestWords(f"Other ({info.kind or 'undescribed'})", "", found, rendered=False)
    return renderer(info, obj, states, items, variables)


def render_rule(
    tests: list[tuple[OvalTest, Part | None, list[Part], list[Part], int]], variables: Variables
) -> RuleWords:
    return RuleWords(
        [render_test(info, obj, states, items, total, variables) for info, obj, states, items, total in tests]
    )

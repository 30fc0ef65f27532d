"""Builds small, valid XCCDF 1.2 result documents (a Benchmark with its TestResult, as `oscap --results`)."""

from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

CCE_SYSTEM = "https://nvd.nist.gov/cce/index.cfm"


def rule_id(name: str, prefix: str = "xccdf_org.example.content_rule_") -> str:
    return f"{prefix}{name}"


def xccdf_result(
    *,
    host: str,
    results: dict[str, str],
    when: datetime,
    cces: dict[str, str] | None = None,
    severities: dict[str, str] | None = None,
    titles: dict[str, str] | None = None,
    profile: str = "xccdf_org.example.content_profile_test",
    fqdn: str = "",
    bare: bool = False,
    rule_prefix: str = "xccdf_org.example.content_rule_",
) -> bytes:
    """A Benchmark holding its rules and the TestResult; with bare=True the TestResult alone."""
    cces = cces or {}
    severities = severities or {}
    titles = titles or {}
    rules = []
    rule_results = []
    for name, result in results.items():
        ident = f'<ident system="{CCE_SYSTEM}">{escape(cces[name])}</ident>' if name in cces else ""
        severity = severities.get(name, "medium")
        rules.append(
            f'<Rule id="{rule_id(name, rule_prefix)}" severity="{severity}" selected="true">'
            f"<title>{escape(titles.get(name, name.replace('_', ' ')))}</title>"
            f"<description>Checks {escape(name)}.</description><rationale>Because.</rationale>{ident}"
            f"<fixtext>Fix {escape(name)}.</fixtext>"
            f'<fix system="urn:xccdf:fix:script:sh">echo fix {escape(name)}</fix>'
            "</Rule>"
        )
        rule_results.append(
            f'<rule-result idref="{rule_id(name, rule_prefix)}" time="{when.isoformat()}" '
            f'severity="{severity}">'
            f"<result>{result}</result>{ident}</rule-result>"
        )
    facts = (
        f'<fact name="urn:xccdf:fact:asset:identifier:fqdn" type="string">{escape(fqdn)}</fact>'
        if fqdn
        else ""
    )
    test_result = (
        f'<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2" id="xccdf_org.open-scap_testresult_test" '
        f'start-time="{when.isoformat()}" end-time="{when.isoformat()}">'
        f"<target>{escape(host)}</target><target-address>192.0.2.10</target-address>"
        f"<target-facts>{facts}</target-facts>"
        f"<profile idref={quoteattr(profile)}/>{''.join(rule_results)}"
        "</TestResult>"
    )
    if bare:
        return ('<?xml version="1.0" encoding="UTF-8"?>' + test_result).encode()
    nested = test_result.replace(' xmlns="http://checklists.nist.gov/xccdf/1.2"', "", 1)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Benchmark xmlns="http://checklists.nist.gov/xccdf/1.2" '
        'id="xccdf_org.example.content_benchmark_TEST"><status>draft</status>'
        "<title>Guide to the Secure Configuration of Test Linux</title>"
        '<platform idref="cpe:/o:example:test_linux:1"/><version>1.0</version>'
        f'<Profile id="{profile}"><title>Test profile</title></Profile>'
        '<Group id="xccdf_org.example.content_group_system"><title>System Settings</title>'
        f"{''.join(rules)}</Group>{nested}</Benchmark>"
    ).encode()

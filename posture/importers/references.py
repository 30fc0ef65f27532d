"""The standard an XCCDF reference belongs to, named from its href (and, without one, from its text).

SCAP Security Guide writes every reference as `<reference href="URI of the standard">id</reference>`;
the URI says which standard. Matched on the parsed host and path, never on a bare substring: "cisecurity"
sits inside "pcisecuritystandards", "isa.org" would match a longer host, "cui" matches many words.
"""

import re
from functools import lru_cache
from urllib.parse import urlsplit

OTHER = "Other"

# (host suffix, path or query fragment or "", standard); first match wins, so specific paths come first.
_BY_HOST: tuple[tuple[str, str, str], ...] = (
    ("pcisecuritystandards.org", "", "PCI DSS"),
    ("cisecurity.org", "/controls", "CIS Controls"),
    ("cisecurity.org", "", "CIS Benchmark"),
    ("nist.gov", "800-53", "NIST SP 800-53"),
    ("nist.gov", "800-171", "NIST SP 800-171"),
    ("nist.gov", "cswp.04162018", "NIST CSF"),
    ("cyber.mil", "/stigs/cci", "DISA CCI"),
    ("cyber.mil", "general-purpose-os", "DISA SRG"),
    ("cyber.mil", "", "DISA STIG"),
    ("stigviewer.com", "", "DISA STIG"),
    ("ssi.gouv.fr", "", "ANSSI"),
    ("iso.org", "", "ISO/IEC 27001"),
    ("isaca.org", "", "COBIT 5"),
    ("isa.org", "62443-2-1", "ISA/IEC 62443-2-1"),
    ("isa.org", "62443-3-3", "ISA/IEC 62443-3-3"),
    ("isa.org", "", "ISA/IEC 62443"),
    ("gpo.gov", "title45", "HIPAA"),
    ("hhs.gov", "", "HIPAA"),
    ("nerc.com", "", "NERC CIP"),
    ("niap-ccevs.org", "", "NIAP OSPP"),
    ("fbi.gov", "cjis", "CJIS"),
    ("cms.gov", "", "CMS ARS"),
    ("ncsc.gov.uk", "", "NCSC"),
    ("bsi.bund.de", "", "BSI"),
    ("cyber.gov.au", "", "ACSC ISM"),
)

# A reference without href (SSG leaves some empty) is named by the shape of its id when that is certain.
_BY_TEXT: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^CCI-\d{6}$"), "DISA CCI"),
    (re.compile(r"^SRG-[A-Z]+-\d{6}"), "DISA SRG"),
    (re.compile(r"^[A-Z]+-\d{2}-\d{6}$"), "DISA STIG"),
    (re.compile(r"^Req-\d"), "PCI DSS"),
)


@lru_cache(maxsize=1024)  # a benchmark's tens of thousands of references share a few dozen hrefs
def _by_href(href: str) -> str:
    parts = urlsplit(href.strip().lower())
    host = parts.hostname or ""
    where = f"{parts.path}?{parts.query}"
    for suffix, fragment, standard in _BY_HOST:
        if (host == suffix or host.endswith("." + suffix)) and fragment in where:
            return standard
    return host  # a standard not listed here: its site names it better than "Other"


def reference_source(href: str, text: str) -> str:
    """The standard's name; else the href's host; "Other" when neither it nor the id's shape says."""
    if href.strip():
        return _by_href(href)[:200] or OTHER
    return next((standard for pattern, standard in _BY_TEXT if pattern.match(text)), OTHER)

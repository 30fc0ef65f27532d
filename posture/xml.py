"""The one hardened XML parsing entry point: streamed, no DTD, no entities, no network, no file access.

Every XML input goes through `iterparse`. A document that declares a DTD (internal or external) is
refused before anything in it is used: entity expansion ("billion laughs") and external entities
(local files, URLs) are then impossible, and libxml2 is told not to resolve or fetch anything anyway.
"""

from collections.abc import Iterator
from typing import IO

from lxml import etree

from posture.errors import RejectedFile


def iterparse(
    source: IO[bytes], *, events: tuple[str, ...] = ("end",), tag: str | None = None
) -> Iterator[tuple[str, etree._Element]]:
    """Yield (event, element) pairs like lxml's iterparse, refusing DTDs and turning errors into RejectedFile.

    Callers must clear elements they are done with so memory stays flat.
    """
    # "start" is needed to see the root (and its DTD) before anything else is read.
    context = etree.iterparse(
        source,
        events=tuple(dict.fromkeys(("start", *events))),
        tag=tag,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    iterator = iter(context)
    try:
        try:
            event, element = next(iterator)
        except StopIteration:
            raise RejectedFile("the file is empty or not XML") from None
        _refuse_dtd(element)
        if "start" in events:
            yield event, element
            yield from iterator
        else:
            yield from ((e, el) for e, el in iterator if e != "start")
    except etree.XMLSyntaxError as error:
        raise RejectedFile(_syntax_message(error)) from None


def _refuse_dtd(root: etree._Element) -> None:
    info = root.getroottree().docinfo
    if getattr(info, "doctype", "") or info.internalDTD is not None or info.system_url:
        raise RejectedFile(
            "the XML declares a DTD (<!DOCTYPE ...>); scan results never need one and Posture refuses "
            "DTDs, entities and external references"
        )


def _syntax_message(error: etree.XMLSyntaxError) -> str:
    # libxml2's messages may span lines (the offending bytes are quoted on the next one): one line here.
    message = " ".join(str(error.msg or error).split(" (", 1)[0].split())
    if "no element found" in message or "Document is empty" in message:
        return "the file is empty or not XML"
    if "Start tag expected" in message:
        return "not XML: the file does not start with an XML element"
    line = error.lineno or (error.position[0] if error.position else 0)
    return f"malformed or truncated XML at line {line}: {message}"


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


def text_of(element: etree._Element | None) -> str:
    """All text inside an element (XHTML descriptions included), with whitespace folded."""
    if element is None:
        return ""
    return " ".join("".join(str(t) for t in element.itertext()).split())

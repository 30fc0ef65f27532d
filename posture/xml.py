"""The one hardened XML parsing entry point: streamed, no DTD, no entities, no network, no file access.

Every XML input goes through `parse_chunks`. A document that declares a DTD (internal or external) is
refused before anything in it is used: entity expansion ("billion laughs") and external entities
(local files, URLs) are then impossible, and libxml2 is told not to resolve or fetch anything anyway.
"""

from collections.abc import Callable, Collection, Iterator
from typing import IO, Any, cast

from lxml import etree

from posture.errors import RejectedFile

# lxml's iterparse reads this much at a time; fed the same chunks, libxml2 reports the same errors.
CHUNK_BYTES = 32768
_OPTIONS: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
    "remove_comments": True,
    "remove_pis": True,
}
Events = Iterator[tuple[str, etree._Element]]


def parse_chunks(
    source: IO[bytes],
    *,
    tags: Collection[str] | None = None,
    check_root: Callable[[etree._Element], None] | None = None,
) -> Iterator[Events]:
    """Parse `source` a chunk at a time; yield each chunk's ("start" | "end", element) events.

    With `tags`, libxml2 reports only the elements of those tags (lxml's syntax: "{namespace}name",
    "{*}name"), so the caller's Python sees a few of the document's elements; the others are parsed
    into the tree all the same. Between two chunks the caller frees what it has read (the elements
    it has seen, and the finished elements it never sees), so memory stays flat.

    Before any event, the root element is looked at on its own: a DTD is refused, then `check_root`
    may refuse the root. Errors become RejectedFile, after the events read before them.
    """
    parser = etree.XMLPullParser(events=("start", "end"), tag=tags, **_OPTIONS)
    # The first look parses the same chunks, unfiltered, until the root element starts: the events
    # above may skip the root, and nothing of a refused document is handed on. Both are fed in step,
    # so a long prolog is never held: the filtered parser reads a DTD before its refusal as the single
    # parser before them did, with the same options.
    first_look: etree.XMLPullParser | None = etree.XMLPullParser(events=("start",), **_OPTIONS)
    while True:
        data = source.read(CHUNK_BYTES)
        if first_look is not None:
            root = _root_of(first_look, data)
            if root is not None:
                first_look = None
                _refuse_dtd(root)
                if check_root is not None:
                    check_root(root)
        error = None
        try:
            if data:
                parser.feed(data)
            else:
                parser.close()
        except etree.XMLSyntaxError as syntax_error:
            error = syntax_error
        yield cast(Events, parser.read_events())
        if error is not None:
            raise RejectedFile(_syntax_message(error)) from None
        if not data:
            return


def _root_of(first_look: etree.XMLPullParser, data: bytes) -> etree._Element | None:
    """The root element once `data` has fed it to the first look (None before); its errors raised."""
    try:
        if data:
            first_look.feed(data)
        else:
            first_look.close()
    except etree.XMLSyntaxError as error:
        for _, element in cast(Events, first_look.read_events()):
            return element
        raise RejectedFile(_syntax_message(error)) from None
    for _, element in cast(Events, first_look.read_events()):
        return element
    if not data:
        raise RejectedFile("the file is empty or not XML")
    return None


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


def free_read(root: etree._Element, *, keep: etree._Element | None = None) -> None:
    """Delete every finished element under `root`, the elements still open being the last children.

    Only call it between chunks, once their events are handled. `keep` (an open element) and what is
    inside it are left whole.
    """
    node = root
    while node is not keep and len(node):
        if len(node) > 1:
            del node[:-1]
        node = node[-1]


def local_name(element: etree._Element) -> str:
    # An element's tag is "{namespace}name" or "name" (a name holds no "}"): no QName to build.
    return element.tag.rpartition("}")[2]


def text_of(element: etree._Element | None) -> str:
    """All text inside an element (XHTML descriptions included), with whitespace folded."""
    if element is None:
        return ""
    if not len(element):
        return " ".join((element.text or "").split())  # most are: one string, no walk
    text = "".join(str(t) for t in element.itertext())
    return " ".join(text.split())

"""The hardened XML entry point reads no file and opens no connection, whatever the document asks for.

Each document goes through the entry point twice: every element reported, and filtered as the SCAP
reader asks for it (which also checks the root).
"""

import io
import os
import socket
import threading
from collections.abc import Callable

import pytest

from posture.errors import RejectedFile
from posture.importers.xccdf import read_scap
from posture.xml import parse_chunks


def parse_all(document: bytes) -> None:
    for events in parse_chunks(io.BytesIO(document)):
        for _ in events:
            pass


def read(document: bytes) -> None:
    read_scap(io.BytesIO(document))


PARSERS = pytest.mark.parametrize("parse", [parse_all, read], ids=["every element", "SCAP reader"])


@PARSERS
def test_external_entity_pointing_to_a_fifo_is_never_opened(tmp_path, parse: Callable[[bytes], None]):
    # Opening a FIFO for reading blocks until a writer comes: a parser that tried would hang here.
    fifo = tmp_path / "secret"
    os.mkfifo(fifo)
    document = (
        f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY s SYSTEM "file://{fifo}">]>'
        f'<TestResult xmlns="http://checklists.nist.gov/xccdf/1.2"><target>&s;</target></TestResult>'
    ).encode()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            parse(document)
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=5)
    if worker.is_alive():
        # Release the parser so the test process can end, then fail.
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("the parser opened the file named by an external entity")
    assert len(errors) == 1
    assert isinstance(errors[0], RejectedFile)
    assert "declares a DTD" in errors[0].message


@pytest.mark.parametrize(
    "template",
    [
        '<?xml version="1.0"?><!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/evil.dtd"><r/>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e SYSTEM "http://127.0.0.1:{port}/x">]><r>&e;</r>',
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/p.dtd"> %p;]><r/>',
    ],
    ids=["external DTD", "external entity", "parameter entity"],
)
@PARSERS
def test_no_connection_is_opened_for_external_references(template, parse: Callable[[bytes], None]):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(0.5)
        port = server.getsockname()[1]
        with pytest.raises(RejectedFile):
            parse(template.format(port=port).encode())
        with pytest.raises(TimeoutError):
            server.accept()


@PARSERS
def test_billion_laughs_is_refused_without_expansion(parse: Callable[[bytes], None]):
    levels = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    document = f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{levels}]><r>&l9;</r>'.encode()
    with pytest.raises(RejectedFile, match="declares a DTD"):
        parse(document)

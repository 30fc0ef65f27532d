"""Mutations of a file's bytes that any format suffers: cuts, bit flips, encodings, compression, tiny files.

Each function is deterministic: randomness comes only from the `random.Random` passed in.
"""

import bz2
import gzip
import lzma
import random
from collections.abc import Callable

Mutation = Callable[[bytes, random.Random], bytes]

# Every 0- and 1-byte file worth trying: each format's opening character, whitespace, NUL, a BOM
# fragment, and bytes that are not UTF-8.
TINY_FILES = (
    b"", b"<", b">", b"{", b"}", b"[", b"]", b'"', b",", b"\n", b"\r", b" ", b"\t", b"\x00", b"\xef",
    b"\xff", b"\xfe", b"\x1f", b"\xfd", b"a", b"0", b"-", b"?", b"&", b";", b"\x80", b"\x7f",
)  # fmt: skip


def truncate(data: bytes, rng: random.Random) -> bytes:
    """The file cut short at a random place (a download or copy that stopped)."""
    return data[: rng.randrange(1, max(len(data), 2))]


def truncate_near_end(data: bytes, rng: random.Random) -> bytes:
    """The file missing only its last few bytes: closing tags, brackets, the last row's end."""
    return data[: max(1, len(data) - rng.randrange(1, 64))]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    """A few bits flipped at random places (a bad disk or transfer)."""
    if not data:
        return data
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 2, 4, 16))):
        out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_random_byte(data: bytes, rng: random.Random) -> bytes:
    """One byte replaced by a byte that matters to some parser."""
    if not data:
        return data
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice(b"\x00<>&\"',;\n\r{}[]\\\xff\xc3")
    return bytes(out)


def delete_chunk(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data) or 1)
    return data[:start] + data[start + rng.randrange(1, 256) :]


def duplicate_chunk(data: bytes, rng: random.Random) -> bytes:
    start = rng.randrange(len(data) or 1)
    chunk = data[start : start + rng.randrange(1, 512)]
    return data[:start] + chunk * rng.choice((2, 3, 50)) + data[start:]


def insert_garbage(data: bytes, rng: random.Random) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.randbytes(rng.randrange(1, 64)) + data[at:]


def splice_halves(data: bytes, rng: random.Random) -> bytes:
    """The start of the file glued to another part of itself (a resumed download that restarted)."""
    cut = rng.randrange(len(data) or 1)
    return data[:cut] + data[rng.randrange(len(data) or 1) :]


BYTE_MUTATIONS: tuple[Mutation, ...] = (
    truncate,
    truncate_near_end,
    flip_bits,
    set_random_byte,
    delete_chunk,
    duplicate_chunk,
    insert_garbage,
    splice_halves,
)


def reencodings(data: bytes) -> dict[str, bytes]:
    """The file saved in other encodings, with and without byte order marks."""
    text = data.decode("utf-8", errors="replace")
    accented = text.replace("e", "é", 3)
    return {
        "utf-16": text.encode("utf-16"),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "utf-32": text.encode("utf-32"),
        "utf-8-bom": b"\xef\xbb\xbf" + data,
        "utf-8-double-bom": b"\xef\xbb\xbf\xef\xbb\xbf" + data,
        "utf-16-bom-on-utf-8": b"\xff\xfe" + data,
        "latin-1-accents": accented.encode("latin-1", errors="replace"),
        "cp1252-accents": accented.encode("cp1252", errors="replace"),
        "utf-8-accents": accented.encode("utf-8"),
        "cesu-surrogates": text.replace("a", "\ud83d", 1).encode("utf-8", errors="surrogatepass"),
        "overlong-utf-8": data.replace(b"/", b"\xc0\xaf", 1),
        "nul-bytes": data.replace(b"a", b"a\x00", 2),
        "ebcdic": text.encode("cp500", errors="replace"),
    }


def compressions(data: bytes) -> dict[str, bytes]:
    """The file compressed as uploads arrive, then the ways a compressed file breaks."""
    xz = lzma.compress(data)
    gz = gzip.compress(data, mtime=0)
    return {
        "xz": xz,
        "gzip": gz,
        "bzip2": bz2.compress(data),
        "xz-truncated": xz[: len(xz) // 2],
        "gzip-truncated": gz[: len(gz) // 2],
        "xz-last-byte-missing": xz[:-1],
        "gzip-last-byte-missing": gz[:-1],
        "xz-corrupt": xz[:12] + bytes(b ^ 0x5A for b in xz[12:40]) + xz[40:],
        "gzip-corrupt": gz[:10] + bytes(b ^ 0x5A for b in gz[10:30]) + gz[30:],
        "gzip-bad-crc": gz[:-8] + bytes(b ^ 0xFF for b in gz[-8:-4]) + gz[-4:],
        "xz-trailing-garbage": xz + b"garbage after the stream",
        "gzip-trailing-garbage": gz + b"garbage after the stream",
        "xz-magic-only": xz[:6],
        "gzip-magic-only": gz[:2],
        "gzip-header-only": gz[:10],
        "xz-twice": lzma.compress(xz),
        "gzip-of-xz": gzip.compress(xz, mtime=0),
        "gzip-concatenated": gz + gz,
        "xz-concatenated": xz + xz,
    }

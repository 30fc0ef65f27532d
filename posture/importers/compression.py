"""Opens an input file, transparently decompressing xz and gzip, with a cap on the decompressed size."""

import gzip
import io
import lzma
import zlib
from typing import IO, Any

from posture.errors import RejectedFile

XZ_MAGIC = b"\xfd7zXZ\x00"
GZIP_MAGIC = b"\x1f\x8b"


class _Guarded(io.RawIOBase):
    """A decompressing reader whose errors are user errors and whose output is capped (zip bombs)."""

    def __init__(self, inner: IO[bytes] | gzip.GzipFile | lzma.LZMAFile, limit: int) -> None:
        self._inner = inner
        self._limit = limit
        self._read = 0

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._read  # decompressed bytes so far: how much content the file held

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._inner.read(len(buffer))
        except (lzma.LZMAError, EOFError, OSError, zlib.error) as error:
            raise RejectedFile(f"the compressed file is truncated or corrupt ({error})") from None
        self._read += len(data)
        if self._read > self._limit:
            raise RejectedFile(f"the file decompresses to more than {self._limit // 2**20} MiB")
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._inner.close()
        super().close()


def open_input(raw: IO[bytes], *, limit: int) -> IO[bytes]:
    """The file's content, decompressed when it is xz or gzip, refused beyond `limit` bytes
    (POSTURE_MAX_DECOMPRESSED_BYTES, passed down by the pipeline); `raw` must be at its start and seekable."""
    magic = raw.read(6)
    raw.seek(0)
    if magic.startswith(XZ_MAGIC):
        return io.BufferedReader(_Guarded(lzma.open(raw), limit), buffer_size=1 << 20)
    if magic.startswith(GZIP_MAGIC):
        return io.BufferedReader(_Guarded(gzip.GzipFile(fileobj=raw), limit), buffer_size=1 << 20)
    return raw

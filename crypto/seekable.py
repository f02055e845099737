"""Random access into one envelope: STREAM chunk i is opened on its own, so a range reads only its chunks.

Chunk i's nonce is its counter (with the last-chunk flag on the final one), and every sealed chunk
but the last has the same size, so the chunk count and each chunk's place follow from the file
size. Meant for envelopes whose whole file verified once (at import); every chunk read is still
authenticated, and the final chunk must carry the last flag, so a truncated or altered file fails.

Warning: a SeekableEnvelope holds the payload key while it is open.
"""

from collections.abc import Iterator, Sequence
from typing import BinaryIO

from crypto import _header, _stream
from crypto._primitives import TAG_SIZE, Aead
from crypto.envelope import Identity, file_key_of
from crypto.errors import PayloadError


class SeekableEnvelope:
    """An envelope whose header verified: read any plaintext range, decrypting only its chunks."""

    def __init__(self, src: BinaryIO, identities: Sequence[Identity]) -> None:
        header = _header.read_header(src)
        file_key = file_key_of(header, identities)
        nonce = _stream.read_payload_nonce(src)
        self._src = src
        self._aead = Aead(_stream.payload_key(file_key, nonce))
        self._payload_start = src.tell()
        payload = src.seek(0, 2) - self._payload_start
        if payload < TAG_SIZE:
            raise PayloadError("payload ends without its final chunk: the envelope is truncated")
        self._chunks = -(-payload // _stream.SEALED_CHUNK_SIZE)
        self._last_sealed = payload - (self._chunks - 1) * _stream.SEALED_CHUNK_SIZE
        if self._last_sealed < TAG_SIZE or (self._chunks > 1 and self._last_sealed == TAG_SIZE):
            raise PayloadError("payload does not end with a whole final chunk: the envelope is damaged")
        self.size = payload - self._chunks * TAG_SIZE

    def __repr__(self) -> str:
        return f"SeekableEnvelope(size={self.size})"

    @property
    def chunk_count(self) -> int:
        return self._chunks

    def chunk(self, index: int) -> bytes:
        """Chunk index's plaintext, after its tag verified under its own counter and last flag."""
        if not 0 <= index < self._chunks:
            raise ValueError(f"chunk {index} is outside 0..{self._chunks - 1}")
        last = index == self._chunks - 1
        self._src.seek(self._payload_start + index * _stream.SEALED_CHUNK_SIZE)
        want = self._last_sealed if last else _stream.SEALED_CHUNK_SIZE
        sealed = _stream.read_full(self._src, want)
        plaintext = self._aead.open(_stream.chunk_nonce(index, last), sealed) if len(sealed) == want else None
        if plaintext is None:
            raise PayloadError(
                "payload does not verify: the envelope is truncated, corrupted or tampered with"
            )
        return plaintext

    def read_range(self, start: int, stop: int) -> Iterator[bytes]:
        """Yield plaintext bytes [start, stop) in pieces of at most one chunk, each verified first."""
        if not 0 <= start <= stop <= self.size:
            raise ValueError(f"range {start}..{stop} is outside 0..{self.size}")
        position = start
        while position < stop:
            index, offset = divmod(position, _stream.CHUNK_SIZE)
            data = self.chunk(index)
            piece = data[offset : offset + stop - position]
            yield piece
            position += len(piece)


def open_seekable(src: BinaryIO, identities: Sequence[Identity]) -> SeekableEnvelope:
    """Verify src's header with identities and get ready to read ranges; src must be seekable.

    Raises the usual categories: NoIdentityMatchError, HeaderError, HeaderMACError, PayloadError.
    """
    return SeekableEnvelope(src, identities)

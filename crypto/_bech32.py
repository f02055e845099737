"""Bech32 (BIP 173) as age uses it: no 90-character limit, one case per string."""

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _generator_mask(top: int) -> int:
    mask = 0
    for i, generator in enumerate(_GENERATOR):
        if (top >> i) & 1:
            mask ^= generator
    return mask


# The generators each top 5-bit value folds in, computed once: a hybrid recipient is ~2,000
# characters, and one table look-up per character keeps parsing it around a millisecond.
_GENERATOR_MASKS = tuple(_generator_mask(top) for top in range(32))


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value ^ _GENERATOR_MASKS[checksum >> 25]
    return checksum


def _expand_hrp(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], from_bits: int, to_bits: int, pad: bool) -> list[int]:
    accumulator, bits, out = 0, 0, []
    max_value = (1 << to_bits) - 1
    for value in data:
        if value >> from_bits:
            raise ValueError("invalid data value")
        accumulator = (accumulator << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((accumulator >> bits) & max_value)
    if pad:
        if bits:
            out.append((accumulator << (to_bits - bits)) & max_value)
    elif bits >= from_bits or (accumulator << (to_bits - bits)) & max_value:
        raise ValueError("invalid padding")
    return out


def encode(hrp: str, data: bytes) -> str:
    """Encode data under a lowercase human-readable part."""
    values = _convert_bits(data, 8, 5, pad=True)
    checksum = _polymod(_expand_hrp(hrp) + values + [0] * 6) ^ 1
    values += [(checksum >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[v] for v in values)


def decode(text: str) -> tuple[str, bytes]:
    """Decode to (lowercase hrp, data); raise ValueError on any malformation."""
    if not text.isascii():
        raise ValueError("non-ASCII character")
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    separator = text.rfind("1")
    if separator < 1 or separator + 7 > len(text):
        raise ValueError("separator misplaced")
    hrp, rest = text[:separator], text[separator + 1 :]
    if any(ord(c) < 33 or ord(c) > 126 for c in hrp):
        raise ValueError("invalid character in prefix")
    try:
        values = [_CHARSET.index(c) for c in rest]
    except ValueError:
        raise ValueError("invalid character") from None
    if _polymod(_expand_hrp(hrp) + values) != 1:
        raise ValueError("bad checksum")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, pad=False))


def decode_key(text: str, hrp: str, secret: bool, size: int = 32) -> bytes:
    """The size bytes of a key string: the expected prefix, in one case (upper for secret keys,
    as age writes them); raise ValueError otherwise."""
    text = text.strip()
    found, data = decode(text)
    if found != hrp or text != (text.upper() if secret else text.lower()) or len(data) != size:
        raise ValueError("not a key of this kind")
    return data


def encode_key(hrp: str, data: bytes, secret: bool) -> str:
    text = encode(hrp, data)
    return text.upper() if secret else text

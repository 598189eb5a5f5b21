"""Protocol-buffer wire format by hand (FORMATS 0.2), for CLI tests that write TFRecord Examples
and SavedModel protos without TensorFlow. Imported by tests/cli/test_*.sh."""


def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def ld(field, payload):
    """A length-delimited field (wire type 2)."""
    return varint(field << 3 | 2) + varint(len(payload)) + payload

"""sdk.leanpack must agree with msgpack byte for byte on what the commands send and read."""
import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdk import leanpack

values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(1 << 63), max_value=(1 << 64) - 1)
    | st.floats(allow_nan=False) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=20) | st.dictionaries(st.text(max_size=10), inner, max_size=20),
    max_leaves=60)


@given(values)
@settings(max_examples=300)
def test_round_trip_matches_msgpack(value):
    packed = leanpack.packb(value)
    assert msgpack.unpackb(packed, raw=False, strict_map_key=False) == value
    assert leanpack.unpackb(msgpack.packb(value, use_bin_type=True)) == value
    assert leanpack.unpackb(packed) == value


@given(st.binary(max_size=64))
def test_garbage_raises_clean_error(data):
    try:
        leanpack.unpackb(data)
    except leanpack.UnpackError:
        pass


def test_extension_types_are_refused():
    with pytest.raises(leanpack.UnpackError):
        leanpack.unpackb(b"\xd4\x01\x00")

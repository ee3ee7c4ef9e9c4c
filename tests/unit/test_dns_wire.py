"""DNS messages on the wire (hakobune.network.dns_wire): known bytes,
compression, malformed input, truncation, reverse names, and hypothesis
round-trips."""

import struct

import pytest
from hypothesis import given, settings, strategies as st

from hakobune.network import dns_wire as W

# A query for web.example.com A, id 0x1234, RD (built by hand from RFC 1035 4.1).
QUERY_BYTES = bytes.fromhex("1234 0100 0001 0000 0000 0000"
                            "03 776562 07 6578616d706c65 03 636f6d 00 0001 0001".replace(" ", ""))


def test_parses_and_encodes_a_known_query():
    message = W.parse(QUERY_BYTES)
    assert (message.id, message.flags, message.opcode, message.is_response) == (0x1234, W.FLAG_RD, 0, False)
    assert message.questions == [W.Question("web.example.com", W.TYPE_A)]
    assert W.encode(message) == QUERY_BYTES


def test_reads_compressed_names_and_compresses_when_writing():
    query = W.parse(QUERY_BYTES)
    response = W.reply_to(query, authoritative=True)
    response.answers = [W.Record("web.example.com", W.TYPE_CNAME, "www.example.com", 60),
                        W.Record("www.example.com", W.TYPE_A, "192.0.2.1", 60)]
    data = W.encode(response)
    # The answer's owner is a pointer to the question's name at offset 12.
    assert data[len(QUERY_BYTES):len(QUERY_BYTES) + 2] == b"\xc0\x0c"
    assert data.count(b"example") == 1
    parsed = W.parse(data)
    assert parsed.answers == response.answers
    assert parsed.flags & W.FLAG_AA and parsed.flags & W.FLAG_QR and parsed.flags & W.FLAG_RD
    assert parsed.rcode == W.RCODE_NOERROR


def test_rejects_pointer_loops_and_forward_pointers():
    header = struct.pack("!HHHHHH", 1, 0, 1, 0, 0, 0)
    self_pointer = header + b"\xc0\x0c" + b"\x00\x01\x00\x01"
    with pytest.raises(W.WireError):
        W.parse(self_pointer)
    forward = header + b"\xc0\x20" + b"\x00\x01\x00\x01" + b"\x00" * 30
    with pytest.raises(W.WireError):
        W.parse(forward)
    # a label, then a pointer back to that label: a loop through a label
    loop = header + b"\x01a\xc0\x0c" + b"\x00\x01\x00\x01"
    with pytest.raises(W.WireError):
        W.parse(loop)


def test_rejects_truncated_and_bad_messages():
    for cut in range(len(QUERY_BYTES)):
        with pytest.raises(W.WireError):
            W.parse(QUERY_BYTES[:cut])
    with pytest.raises(W.WireError):
        W.parse(QUERY_BYTES[:12] + b"\x80abc\x00\x00\x01\x00\x01")  # reserved label type
    bad_a = struct.pack("!HHHHHH", 1, W.FLAG_QR, 0, 1, 0, 0) + b"\x00" + struct.pack("!HHIH", 1, 1, 0, 3) + b"abc"
    with pytest.raises(W.WireError, match="A record"):
        W.parse(bad_a)


def test_labels_with_dots_and_backslashes_survive():
    header = struct.pack("!HHHHHH", 9, 0, 1, 0, 0, 0)
    raw = header + b"\x03a.b\x02c\\\x03com\x00" + b"\x00\x01\x00\x01"
    message = W.parse(raw)
    assert message.questions[0].name == "a\\046b.c\\092.com"
    assert W.encode(message) == raw


def test_refuses_to_encode_bad_names():
    with pytest.raises(W.WireError):
        W.encode(W.Message(questions=[W.Question("a" * 64 + ".com", W.TYPE_A)]))
    with pytest.raises(W.WireError):
        W.encode(W.Message(questions=[W.Question("a..b", W.TYPE_A)]))
    with pytest.raises(W.WireError):
        W.encode(W.Message(questions=[W.Question(".".join(["abcdefgh"] * 30), W.TYPE_A)]))
    with pytest.raises(W.WireError):
        W.encode(W.Message(questions=[W.Question("caf\u00e9\u4e16", W.TYPE_A)]))


def test_edns_buffer_size_sets_the_udp_limit():
    query = W.parse(QUERY_BYTES)
    assert query.udp_limit() == 512
    query.additionals.append(W.opt_record(4096))
    parsed = W.parse(W.encode(query))
    assert parsed.opt() is not None and parsed.udp_limit() == 4096
    query.additionals[0] = W.opt_record(100)
    assert W.parse(W.encode(query)).udp_limit() == 512


def test_truncation_keeps_header_and_question_and_sets_tc():
    query = W.parse(QUERY_BYTES)
    response = W.reply_to(query, authoritative=True)
    response.answers = [W.Record("web.example.com", W.TYPE_A, f"10.0.{i // 250}.{i % 250}", 600) for i in range(100)]
    data = W.encode(response)
    assert len(data) > 512
    cut = W.truncate_for_udp(data, 512)
    parsed = W.parse(cut)
    assert parsed.truncated and parsed.answers == [] and parsed.questions == query.questions
    assert parsed.id == 0x1234 and parsed.flags & W.FLAG_AA
    assert W.truncate_for_udp(data, len(data)) == data


def test_error_replies_to_garbage():
    reply = W.error_reply(QUERY_BYTES[:12] + b"\xff\xff", W.RCODE_FORMERR)
    parsed = W.parse(reply)
    assert parsed.id == 0x1234 and parsed.is_response and parsed.rcode == W.RCODE_FORMERR
    assert W.error_reply(b"\x01\x02", W.RCODE_FORMERR) is None
    assert W.error_reply(W.encode(W.reply_to(W.parse(QUERY_BYTES))), W.RCODE_FORMERR) is None


@pytest.mark.parametrize("address, name", [
    ("10.89.0.3", "3.0.89.10.in-addr.arpa"),
    ("fd00::1", "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa"),
])
def test_reverse_names(address, name):
    assert W.reverse_name(address) == name
    assert W.address_of_reverse_name(name) == address
    assert W.address_of_reverse_name(name.upper() + ".") == address


@pytest.mark.parametrize("name", ["0.89.10.in-addr.arpa", "256.0.89.10.in-addr.arpa", "03.0.89.10.in-addr.arpa",
                                  "x.0.89.10.in-addr.arpa", "1.0.ip6.arpa", "example.com"])
def test_partial_or_bad_reverse_names_are_not_addresses(name):
    assert W.address_of_reverse_name(name) is None


# --- hypothesis round-trips ----------------------------------------------------------

labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=63)
names = st.lists(labels, min_size=0, max_size=5).map(".".join).filter(lambda n: len(n) < 250)
ipv4 = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ipv6 = st.binary(min_size=16, max_size=16).map(W.ipv6_text)
records = st.one_of(
    st.builds(lambda n, a, t: W.Record(n, W.TYPE_A, a, t), names, ipv4, st.integers(0, 2**31)),
    st.builds(lambda n, a, t: W.Record(n, W.TYPE_AAAA, a, t), names, ipv6, st.integers(0, 2**31)),
    st.builds(lambda n, d, t: W.Record(n, W.TYPE_PTR, d, t), names, names, st.integers(0, 2**31)),
    st.builds(lambda n, d, t: W.Record(n, W.TYPE_CNAME, d, t), names, names, st.integers(0, 2**31)),
    st.builds(lambda n, d, t: W.Record(n, W.TYPE_TXT, d, t), names, st.binary(max_size=300), st.integers(0, 2**31)),
)
messages = st.builds(
    W.Message,
    st.integers(0, 0xFFFF), st.integers(0, 0xFFFF),
    st.lists(st.builds(W.Question, names, st.sampled_from([W.TYPE_A, W.TYPE_AAAA, W.TYPE_PTR, W.TYPE_MX])),
             max_size=2),
    st.lists(records, max_size=6), st.lists(records, max_size=2), st.lists(records, max_size=2))


@settings(max_examples=300)
@given(messages)
def test_messages_round_trip(message):
    data = W.encode(message)
    parsed = W.parse(data)
    assert (parsed.id, parsed.flags) == (message.id, message.flags)
    assert parsed.questions == message.questions
    assert parsed.answers == message.answers
    assert parsed.authorities == message.authorities
    assert parsed.additionals == message.additionals
    assert W.encode(parsed) == data


@settings(max_examples=500)
@given(st.binary(max_size=200))
def test_garbage_raises_only_wire_errors(data):
    try:
        W.parse(data)
    except W.WireError:
        pass


@settings(max_examples=200)
@given(messages, st.integers(0, 400))
def test_every_truncation_is_rejected_or_parses(message, cut):
    data = W.encode(message)
    try:
        W.parse(data[:cut])
    except W.WireError:
        pass


@given(messages, st.integers(12, 600))
def test_truncate_for_udp_fits_or_flags(message, limit):
    data = W.encode(message)
    cut = W.truncate_for_udp(data, limit)
    parsed = W.parse(cut)
    if len(data) <= limit:
        assert cut == data
    else:
        assert parsed.truncated and parsed.questions == message.questions and not parsed.answers

"""DNS messages on the wire (RFC 1035, with RFC 3596's AAAA and RFC 6891's
OPT record): parse a message, build one, truncate it for UDP.

Only what the embedded DNS server needs: header, questions, resource records
(A, AAAA, PTR and CNAME rdata decoded, other types kept raw), name
compression followed when reading (with loop protection) and used when
writing.  Every malformed input raises WireError; nothing here does I/O.
"""

import struct

TYPE_A = 1
TYPE_NS = 2
TYPE_CNAME = 5
TYPE_SOA = 6
TYPE_PTR = 12
TYPE_MX = 15
TYPE_TXT = 16
TYPE_AAAA = 28
TYPE_SRV = 33
TYPE_OPT = 41
TYPE_ANY = 255
CLASS_IN = 1

OPCODE_QUERY = 0

RCODE_NOERROR = 0
RCODE_FORMERR = 1
RCODE_SERVFAIL = 2
RCODE_NXDOMAIN = 3
RCODE_NOTIMP = 4
RCODE_REFUSED = 5

FLAG_QR = 0x8000
FLAG_AA = 0x0400
FLAG_TC = 0x0200
FLAG_RD = 0x0100
FLAG_RA = 0x0080

# The largest UDP response a client without EDNS accepts (RFC 1035 4.2.1).
CLASSIC_UDP_LIMIT = 512
MAX_NAME_LENGTH = 255
MAX_LABEL_LENGTH = 63
_HEADER = struct.Struct("!HHHHHH")
_RR_FIXED = struct.Struct("!HHIH")
_QUESTION_FIXED = struct.Struct("!HH")


class WireError(ValueError):
    """The bytes are not a well-formed DNS message."""


class Question:
    __slots__ = ("name", "qtype", "qclass")

    def __init__(self, name: str, qtype: int, qclass: int = CLASS_IN):
        self.name = name
        self.qtype = qtype
        self.qclass = qclass

    def __eq__(self, other):
        return isinstance(other, Question) and (self.name.lower(), self.qtype, self.qclass) == (
            other.name.lower(), other.qtype, other.qclass)

    def __repr__(self):
        return f"Question({self.name!r}, {self.qtype}, {self.qclass})"


class Record:
    """A resource record.  `data` is the decoded rdata: an address string for
    A/AAAA, a name for PTR/CNAME/NS, raw bytes for any other type."""

    __slots__ = ("name", "rtype", "rclass", "ttl", "data")

    def __init__(self, name: str, rtype: int, data, ttl: int = 0, rclass: int = CLASS_IN):
        self.name = name
        self.rtype = rtype
        self.rclass = rclass
        self.ttl = ttl
        self.data = data

    def __eq__(self, other):
        return isinstance(other, Record) and (
            self.name.lower(), self.rtype, self.rclass, self.ttl, _comparable(self)) == (
            other.name.lower(), other.rtype, other.rclass, other.ttl, _comparable(other))

    def __repr__(self):
        return f"Record({self.name!r}, {self.rtype}, {self.data!r}, ttl={self.ttl})"


def _comparable(record: Record):
    if record.rtype in _NAME_TYPES:
        return record.data.lower()
    return record.data


class Message:
    __slots__ = ("id", "flags", "questions", "answers", "authorities", "additionals")

    def __init__(self, id: int = 0, flags: int = 0, questions=None, answers=None, authorities=None,
                 additionals=None):
        self.id = id
        self.flags = flags
        self.questions = list(questions or [])
        self.answers = list(answers or [])
        self.authorities = list(authorities or [])
        self.additionals = list(additionals or [])

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF

    @property
    def is_response(self) -> bool:
        return bool(self.flags & FLAG_QR)

    @property
    def truncated(self) -> bool:
        return bool(self.flags & FLAG_TC)

    def opt(self) -> Record | None:
        for record in self.additionals:
            if record.rtype == TYPE_OPT:
                return record
        return None

    def udp_limit(self) -> int:
        """The largest UDP response the sender of this query accepts: its
        EDNS buffer size (never below 512), or 512 without EDNS."""
        opt = self.opt()
        if opt is None:
            return CLASSIC_UDP_LIMIT
        return max(CLASSIC_UDP_LIMIT, opt.rclass)

    def __repr__(self):
        return (f"Message(id={self.id}, flags={self.flags:#06x}, questions={self.questions}, "
                f"answers={self.answers}, authorities={self.authorities}, additionals={self.additionals})")


_NAME_TYPES = (TYPE_CNAME, TYPE_PTR, TYPE_NS)


# --- reading ------------------------------------------------------------------

def read_name(data: bytes, offset: int) -> tuple[str, int]:
    """The name at offset (following compression pointers) and the offset
    just past it in the original position.  Names come back without the
    trailing dot; the root is ''."""
    labels = []
    end = None
    length_so_far = 0
    jumps = 0
    while True:
        if offset >= len(data):
            raise WireError("name runs past the end of the message")
        length = data[offset]
        kind = length & 0xC0
        if kind == 0xC0:
            if offset + 1 >= len(data):
                raise WireError("truncated compression pointer")
            target = ((length & 0x3F) << 8) | data[offset + 1]
            if end is None:
                end = offset + 2
            jumps += 1
            # Pointers must go strictly backwards: with the jump cap and the
            # 255-octet limit on a name, no loop can run forever.
            if jumps > 64 or target >= offset:
                raise WireError("compression pointer loop or forward pointer")
            offset = target
            continue
        if kind:
            raise WireError(f"unsupported label type {kind:#x}")
        offset += 1
        if length == 0:
            break
        label = data[offset:offset + length]
        if len(label) != length:
            raise WireError("label runs past the end of the message")
        length_so_far += length + 1
        if length_so_far > MAX_NAME_LENGTH:
            raise WireError("name longer than 255 octets")
        labels.append(_decode_label(label))
        offset += length
    return ".".join(labels), (end if end is not None else offset)


def _decode_label(label: bytes) -> str:
    if b"." in label or b"\\" in label:
        # Keep the name unambiguous as a dotted string.
        return "".join(chr(b) if b not in (0x2E, 0x5C) else f"\\{b:03d}" for b in label)
    return label.decode("latin-1")


def _read_question(data: bytes, offset: int) -> tuple[Question, int]:
    name, offset = read_name(data, offset)
    if offset + 4 > len(data):
        raise WireError("truncated question")
    qtype, qclass = _QUESTION_FIXED.unpack_from(data, offset)
    return Question(name, qtype, qclass), offset + 4


def _read_record(data: bytes, offset: int) -> tuple[Record, int]:
    name, offset = read_name(data, offset)
    if offset + 10 > len(data):
        raise WireError("truncated resource record")
    rtype, rclass, ttl, rdlength = _RR_FIXED.unpack_from(data, offset)
    offset += 10
    end = offset + rdlength
    if end > len(data):
        raise WireError("rdata runs past the end of the message")
    return Record(name, rtype, _decode_rdata(data, offset, end, rtype), ttl, rclass), end


def _decode_rdata(data: bytes, start: int, end: int, rtype: int):
    raw = data[start:end]
    if rtype == TYPE_A:
        if len(raw) != 4:
            raise WireError("A record with rdata not 4 octets")
        return ".".join(str(b) for b in raw)
    if rtype == TYPE_AAAA:
        if len(raw) != 16:
            raise WireError("AAAA record with rdata not 16 octets")
        return ipv6_text(raw)
    if rtype in _NAME_TYPES:
        name, after = read_name(data, start)
        if after != end:
            raise WireError("name rdata does not fill its rdlength")
        return name
    return raw


def parse_header(data: bytes) -> tuple[int, int]:
    """(id, flags) of a message, enough to answer FORMERR to a bad one."""
    if len(data) < 12:
        raise WireError("message shorter than a header")
    ident, flags = struct.unpack_from("!HH", data)
    return ident, flags


def parse(data: bytes) -> Message:
    if len(data) < _HEADER.size:
        raise WireError("message shorter than a header")
    ident, flags, qdcount, ancount, nscount, arcount = _HEADER.unpack_from(data)
    offset = _HEADER.size
    message = Message(ident, flags)
    for _ in range(qdcount):
        question, offset = _read_question(data, offset)
        message.questions.append(question)
    for section, count in ((message.answers, ancount), (message.authorities, nscount),
                           (message.additionals, arcount)):
        for _ in range(count):
            record, offset = _read_record(data, offset)
            section.append(record)
    return message


# --- writing ------------------------------------------------------------------

class _Writer:
    def __init__(self):
        self.buffer = bytearray()
        self.suffixes: dict[str, int] = {}

    def name(self, name: str, compress: bool = True) -> None:
        labels = split_name(name)
        for index in range(len(labels)):
            suffix = ".".join(labels[index:]).lower()
            if compress and suffix in self.suffixes:
                self.buffer += struct.pack("!H", 0xC000 | self.suffixes[suffix])
                return
            if len(self.buffer) < 0x4000:
                self.suffixes[suffix] = len(self.buffer)
            raw = _encode_label(labels[index])
            self.buffer.append(len(raw))
            self.buffer += raw
        self.buffer.append(0)

    def record(self, record: Record) -> None:
        self.name(record.name)
        self.buffer += struct.pack("!HHI", record.rtype, record.rclass, record.ttl)
        length_at = len(self.buffer)
        self.buffer += b"\0\0"
        self._rdata(record)
        struct.pack_into("!H", self.buffer, length_at, len(self.buffer) - length_at - 2)

    def _rdata(self, record: Record) -> None:
        if record.rtype == TYPE_A:
            self.buffer += ipv4_bytes(record.data)
        elif record.rtype == TYPE_AAAA:
            self.buffer += ipv6_bytes(record.data)
        elif record.rtype in _NAME_TYPES:
            self.name(record.data)
        else:
            self.buffer += bytes(record.data)


def split_name(name: str) -> list[str]:
    """The labels of a dotted name ('' and '.' are the root)."""
    name = name[:-1] if name.endswith(".") else name
    if not name:
        return []
    labels = name.split(".")
    if any(not label for label in labels):
        raise WireError(f"empty label in name {name!r}")
    if sum(len(label) + 1 for label in labels) + 1 > MAX_NAME_LENGTH:
        raise WireError(f"name {name!r} longer than 255 octets")
    return labels


def _encode_label(label: str) -> bytes:
    if "\\" in label:
        out = bytearray()
        index = 0
        while index < len(label):
            if label[index] == "\\" and label[index + 1:index + 4].isdigit():
                out.append(int(label[index + 1:index + 4]))
                index += 4
            else:
                out += label[index].encode("latin-1")
                index += 1
        raw = bytes(out)
    else:
        try:
            raw = label.encode("latin-1")
        except UnicodeEncodeError:
            raise WireError(f"label {label!r} is not ASCII (use its IDNA form)") from None
    if len(raw) > MAX_LABEL_LENGTH:
        raise WireError(f"label {label!r} longer than 63 octets")
    return raw


def encode(message: Message) -> bytes:
    writer = _Writer()
    writer.buffer += _HEADER.pack(message.id, message.flags, len(message.questions), len(message.answers),
                                  len(message.authorities), len(message.additionals))
    for question in message.questions:
        writer.name(question.name)
        writer.buffer += _QUESTION_FIXED.pack(question.qtype, question.qclass)
    for section in (message.answers, message.authorities, message.additionals):
        for record in section:
            writer.record(record)
    return bytes(writer.buffer)


def truncate_for_udp(response: bytes, limit: int) -> bytes:
    """The response itself when it fits in `limit` octets; otherwise its
    header with TC set and its question(s) only, so the client retries over
    TCP (RFC 1035 4.2.1, RFC 7766)."""
    if len(response) <= limit:
        return response
    ident, flags = parse_header(response)
    qdcount = struct.unpack_from("!H", response, 4)[0]
    offset = _HEADER.size
    for _ in range(qdcount):
        _, offset = _read_question(response, offset)
    head = _HEADER.pack(ident, flags | FLAG_TC, qdcount, 0, 0, 0)
    return head + response[_HEADER.size:offset]


# --- helpers for building answers ----------------------------------------------

def reply_to(query: Message, rcode: int = RCODE_NOERROR, authoritative: bool = False) -> Message:
    """An empty response to query: same id, question, opcode and RD; RA set
    (the server recurses by forwarding)."""
    flags = FLAG_QR | (query.flags & (0x7800 | FLAG_RD)) | FLAG_RA | (rcode & 0xF)
    if authoritative:
        flags |= FLAG_AA
    return Message(query.id, flags, questions=query.questions)


def error_reply(data: bytes, rcode: int) -> bytes | None:
    """A bare error response (no sections) to raw bytes that may not parse;
    None when not even a header can be read or the bytes are a response."""
    try:
        ident, flags = parse_header(data)
    except WireError:
        return None
    if flags & FLAG_QR:
        return None
    flags = FLAG_QR | (flags & (0x7800 | FLAG_RD)) | FLAG_RA | (rcode & 0xF)
    return _HEADER.pack(ident, flags, 0, 0, 0, 0)


def opt_record(udp_size: int = 1232) -> Record:
    """An EDNS(0) OPT pseudo-record advertising udp_size, no options."""
    return Record("", TYPE_OPT, b"", ttl=0, rclass=udp_size)


def ipv4_bytes(address: str) -> bytes:
    parts = address.split(".")
    if len(parts) != 4:
        raise WireError(f"not an IPv4 address: {address!r}")
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise WireError(f"not an IPv4 address: {address!r}") from None
    if any(value < 0 or value > 255 for value in values):
        raise WireError(f"not an IPv4 address: {address!r}")
    return bytes(values)


def ipv6_bytes(address: str) -> bytes:
    import socket

    try:
        return socket.inet_pton(socket.AF_INET6, address)
    except OSError:
        raise WireError(f"not an IPv6 address: {address!r}") from None


def ipv6_text(raw: bytes) -> str:
    import socket

    return socket.inet_ntop(socket.AF_INET6, raw)


def reverse_name(address: str) -> str:
    """The PTR name of an IPv4 or IPv6 address (without the trailing dot)."""
    if ":" in address:
        nibbles = ipv6_bytes(address).hex()
        return ".".join(reversed(nibbles)) + ".ip6.arpa"
    return ".".join(str(b) for b in reversed(ipv4_bytes(address))) + ".in-addr.arpa"


def address_of_reverse_name(name: str) -> str | None:
    """The address a complete in-addr.arpa / ip6.arpa name stands for, or
    None when name is no such name (a partial or malformed one)."""
    lowered = name.lower().rstrip(".")
    if lowered.endswith(".in-addr.arpa"):
        parts = lowered[:-len(".in-addr.arpa")].split(".")
        if len(parts) != 4 or not all(part.isdigit() and len(part) <= 3 for part in parts):
            return None
        if any(int(part) > 255 or (len(part) > 1 and part[0] == "0") for part in parts):
            return None
        return ".".join(reversed(parts))
    if lowered.endswith(".ip6.arpa"):
        nibbles = lowered[:-len(".ip6.arpa")].split(".")
        if len(nibbles) != 32 or not all(len(n) == 1 and n in "0123456789abcdef" for n in nibbles):
            return None
        return ipv6_text(bytes.fromhex("".join(reversed(nibbles))))
    return None

#!/usr/bin/python3
"""Qpid Proton side of the swift-amqp codec cross-check.

Run with Debian's interpreter, which has python3-qpid-proton (0.37):

  /usr/bin/python3 proton_codec.py describe [--hex] [FILE]
      Decode a concatenation of AMQP values (FILE or stdin; with --hex, hexadecimal
      text, white space ignored) with proton.Data and print one JSON line per value,
      in the format of `amqp decode` (Docs/amqp-decode.md).
  /usr/bin/python3 proton_codec.py frames [--hex] [FILE]
      List a captured connection byte stream: one line per protocol header
      (`header sasl 1 0 0`) or frame (`amqp 1 begin`, `amqp 0 empty`).
  /usr/bin/python3 proton_codec.py generate OUTDIR
      Write a corpus encoded by Proton: NAME.bin + NAME.json per case, frame
      captures (frames-*.bin + frames-*.txt) and MANIFEST.txt.
  /usr/bin/python3 proton_codec.py check OUTDIR
      Re-describe every NAME.bin / re-list every frames-*.bin of a corpus and compare
      with the stored .json / .txt.

Standard library + proton only.  Malformed input: the lines decoded so far are printed,
then `error: <message> at byte <offset>` on stderr, exit status 1.
"""

import ctypes
import decimal
import math
import os
import re
import struct
import sys
import uuid
import signal

# Started from a Swift test (a libdispatch worker thread), this process inherits a
# mask that blocks SIGTERM: unblock it so that the test can always end us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

try:
    import cproton
    from proton import (Array, Collector, Condition, Connection, Data, Delivery,
                        Described, Endpoint, Event, Message, Terminus, Transport,
                        UNDESCRIBED, char, decimal32, decimal64, decimal128,
                        float32, int32, short, symbol, timestamp, ubyte, uint,
                        ulong, ushort)
    from proton import byte as pbyte
    from proton._exceptions import DataException
except ImportError as exc:  # pragma: no cover
    sys.exit("proton_codec.py needs python3-qpid-proton: run it with /usr/bin/python3 (%s)" % exc)


# ---------------------------------------------------------------------------
# Known descriptors (AMQP 1.0 parts 1-5)

DESCRIPTORS = {
    # transport performatives and error (part 2)
    0x10: "amqp:open:list",
    0x11: "amqp:begin:list",
    0x12: "amqp:attach:list",
    0x13: "amqp:flow:list",
    0x14: "amqp:transfer:list",
    0x15: "amqp:disposition:list",
    0x16: "amqp:detach:list",
    0x17: "amqp:end:list",
    0x18: "amqp:close:list",
    0x1d: "amqp:error:list",
    # delivery states / outcomes, terminus, lifetime policies (part 3)
    0x23: "amqp:received:list",
    0x24: "amqp:accepted:list",
    0x25: "amqp:rejected:list",
    0x26: "amqp:released:list",
    0x27: "amqp:modified:list",
    0x28: "amqp:source:list",
    0x29: "amqp:target:list",
    0x2b: "amqp:delete-on-close:list",
    0x2c: "amqp:delete-on-no-links:list",
    0x2d: "amqp:delete-on-no-messages:list",
    0x2e: "amqp:delete-on-no-links-or-messages:list",
    # transactions (part 4)
    0x30: "amqp:coordinator:list",
    0x31: "amqp:declare:list",
    0x32: "amqp:discharge:list",
    0x33: "amqp:declared:list",
    0x34: "amqp:transactional-state:list",
    # SASL (part 5)
    0x40: "amqp:sasl-mechanisms:list",
    0x41: "amqp:sasl-init:list",
    0x42: "amqp:sasl-challenge:list",
    0x43: "amqp:sasl-response:list",
    0x44: "amqp:sasl-outcome:list",
    # message sections (part 3)
    0x70: "amqp:header:list",
    0x71: "amqp:delivery-annotations:map",
    0x72: "amqp:message-annotations:map",
    0x73: "amqp:properties:list",
    0x74: "amqp:application-properties:map",
    0x75: "amqp:data:binary",
    0x76: "amqp:amqp-sequence:list",
    0x77: "amqp:amqp-value:*",
    0x78: "amqp:footer:map",
}
DESCRIPTOR_NAMES = frozenset(DESCRIPTORS.values())


def short_name(name):
    """"amqp:sasl-init:list" -> "sasl-init" (frame listings)."""
    return name.split(":")[1]


TYPE_NAMES = {
    Data.NULL: "null", Data.BOOL: "boolean",
    Data.UBYTE: "ubyte", Data.USHORT: "ushort", Data.UINT: "uint", Data.ULONG: "ulong",
    Data.BYTE: "byte", Data.SHORT: "short", Data.INT: "int", Data.LONG: "long",
    Data.FLOAT: "float", Data.DOUBLE: "double",
    Data.DECIMAL32: "decimal32", Data.DECIMAL64: "decimal64", Data.DECIMAL128: "decimal128",
    Data.CHAR: "char", Data.TIMESTAMP: "timestamp", Data.UUID: "uuid",
    Data.BINARY: "binary", Data.STRING: "string", Data.SYMBOL: "symbol",
    Data.LIST: "list", Data.MAP: "map", Data.ARRAY: "array", Data.DESCRIBED: "described",
}

PN_ERRORS = {-1: "PN_EOS", -2: "PN_ERR", -3: "PN_OVERFLOW", -4: "PN_UNDERFLOW",
             -5: "PN_STATE_ERR", -6: "PN_ARG_ERR", -7: "PN_TIMEOUT", -8: "PN_INTR",
             -9: "PN_INPROGRESS", -10: "PN_OUT_OF_MEMORY", -11: "PN_ABORTED"}


class DescribeError(Exception):
    """A value Proton accepts but the JSON format cannot represent."""


# ---------------------------------------------------------------------------
# JSON text

_ESCAPES = {'"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t',
            '\b': '\\b', '\f': '\\f'}
for _c in range(0x20):
    _ESCAPES.setdefault(chr(_c), '\\u%04x' % _c)
_ESCAPE_TABLE = str.maketrans(_ESCAPES)


def jstr(text):
    """JSON string: only `\\"`, `\\\\`, `\\n`, `\\r`, `\\t`, `\\b`, `\\f` and `\\u00xx`
    for the other controls; everything else raw (UTF-8 on output)."""
    return '"' + text.translate(_ESCAPE_TABLE) + '"'


# Swift's `description` of Float / Double (shortest round-trip digits, Swift layout).
# Informational only: cross-checks compare "bits".

decimal.getcontext().prec = 200


def _digits_exp(text):
    """Significant digits and E with value = 0.d1d2... * 10**E."""
    t = decimal.Decimal(text).as_tuple()
    all_digits = "".join(map(str, t.digits))
    digits = all_digits.lstrip("0")
    exp = t.exponent + len(all_digits) - (len(all_digits) - len(digits))
    return digits.rstrip("0"), exp


def _swift_layout(negative, digits, exp, exponential):
    sign = "-" if negative else ""
    n = len(digits)
    if exponential:
        e = exp - 1
        mantissa = digits[0] + ("." + digits[1:] if n > 1 else "")
        return "%s%se%s%02d" % (sign, mantissa, "-" if e < 0 else "+", abs(e))
    if exp <= 0:
        return sign + "0." + "0" * (-exp) + digits
    if exp < n:
        return sign + digits[:exp] + "." + digits[exp:]
    return sign + digits + "0" * (exp - n) + ".0"


def swift_double_description(bits):
    x = struct.unpack(">d", struct.pack(">Q", bits))[0]
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    if x == 0:
        return "-0.0" if bits >> 63 else "0.0"
    digits, exp = _digits_exp(repr(abs(x)))  # repr: shortest round-trip digits
    return _swift_layout(x < 0, digits, exp, exp < -3 or abs(x) > 2.0 ** 53)


def _f32_value(bits):
    return decimal.Decimal(struct.unpack(">f", struct.pack(">I", bits))[0])


def swift_float_description(bits):
    x = struct.unpack(">f", struct.pack(">I", bits))[0]
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "-inf" if x < 0 else "inf"
    if x == 0:
        return "-0.0" if bits >> 31 else "0.0"
    mag = bits & 0x7fffffff
    exact = _f32_value(mag)
    lo = (_f32_value(mag - 1) + exact) / 2 if mag > 0 else decimal.Decimal(0)
    if mag < 0x7f7fffff:
        hi = (_f32_value(mag + 1) + exact) / 2
    else:
        hi = exact + (exact - _f32_value(mag - 1)) / 2
    even = mag % 2 == 0
    best = None
    for precision in range(1, 10):
        base = decimal.Decimal("%.*e" % (precision - 1, abs(x)))
        ulp = decimal.Decimal(1).scaleb(base.adjusted() - (precision - 1))
        candidates = [c for c in (base, base - ulp, base + ulp)
                      if lo < c < hi or (even and (c == lo or c == hi))]
        if candidates:  # closest; ties to an even last digit
            best = min(candidates, key=lambda c: (abs(c - exact), c.as_tuple().digits[-1] % 2))
            break
    digits, exp = _digits_exp(str(best))
    return _swift_layout(x < 0, digits, exp, exp < -3 or abs(x) > 2.0 ** 24)


# Raw float bits.  proton's get_float() widens the C float to a Python float, which
# quietens signalling NaNs (0x7fa00001 -> 0x7fe00001); pn_data_get_atom keeps the bits.

class _Atom(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("_pad", ctypes.c_int), ("u", ctypes.c_uint8 * 16)]


try:
    _core = ctypes.CDLL("libqpid-proton-core.so.10")
    _core.pn_data_get_atom.restype = _Atom
    _core.pn_data_get_atom.argtypes = [ctypes.c_void_p]
except (OSError, AttributeError):  # pragma: no cover
    _core = None


def _raw_float_bits(d, size):
    if _core is not None:
        atom = _core.pn_data_get_atom(int(d._data))
        if atom.type == d.type():
            raw = bytes(atom.u)[:size]
            return int.from_bytes(raw, sys.byteorder)
    if size == 4:
        return struct.unpack(">I", struct.pack(">f", d.get_float()))[0]
    return struct.unpack(">Q", struct.pack(">d", d.get_double()))[0]


# ---------------------------------------------------------------------------
# Data tree -> JSON

def _symbol_text(d):
    raw = cproton.pn_data_get_symbol(d._data)
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise DescribeError("symbol is not ASCII")


def _string_text(d):
    raw = cproton.pn_data_get_string(d._data)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DescribeError("string is not valid UTF-8")


def _descriptor_name(d):
    """Name of the descriptor at the current node, or None."""
    t = d.type()
    if t == Data.ULONG:
        return DESCRIPTORS.get(int(d.get_ulong()))
    if t == Data.SYMBOL:
        text = cproton.pn_data_get_symbol(d._data).decode("latin-1")
        return text if text in DESCRIPTOR_NAMES else None
    return None


def _children(d):
    nodes = []
    if d.enter():
        while d.next() is not None:
            nodes.append(node_json(d))
        d.exit()
    return nodes


def _described_json(name, descriptor, value):
    head = '{"type":"described"'
    if name is not None:
        head += ',"name":' + jstr(name)
    return head + ',"descriptor":' + descriptor + ',"value":' + value + '}'


def node_json(d):
    """JSON for the current node of `d` (cursor is left on the node)."""
    t = d.type()
    name = TYPE_NAMES.get(t)
    if t == Data.NULL:
        return '{"type":"null"}'
    if t == Data.BOOL:
        return '{"type":"boolean","value":%s}' % ("true" if d.get_bool() else "false")
    if t in (Data.UBYTE, Data.USHORT, Data.UINT, Data.BYTE, Data.SHORT, Data.INT):
        getter = {Data.UBYTE: d.get_ubyte, Data.USHORT: d.get_ushort, Data.UINT: d.get_uint,
                  Data.BYTE: d.get_byte, Data.SHORT: d.get_short, Data.INT: d.get_int}[t]
        return '{"type":"%s","value":%d}' % (name, int(getter()))
    if t in (Data.ULONG, Data.LONG, Data.TIMESTAMP):
        getter = {Data.ULONG: d.get_ulong, Data.LONG: d.get_long, Data.TIMESTAMP: d.get_timestamp}[t]
        return '{"type":"%s","value":"%d"}' % (name, int(getter()))
    if t == Data.FLOAT:
        bits = _raw_float_bits(d, 4)
        return '{"type":"float","value":%s,"bits":"%08x"}' % (jstr(swift_float_description(bits)), bits)
    if t == Data.DOUBLE:
        bits = _raw_float_bits(d, 8)
        return '{"type":"double","value":%s,"bits":"%016x"}' % (jstr(swift_double_description(bits)), bits)
    if t == Data.DECIMAL32:
        return '{"type":"decimal32","value":"%08x"}' % int(d.get_decimal32())
    if t == Data.DECIMAL64:
        return '{"type":"decimal64","value":"%016x"}' % int(d.get_decimal64())
    if t == Data.DECIMAL128:
        return '{"type":"decimal128","value":"%s"}' % bytes(d.get_decimal128()).hex()
    if t == Data.CHAR:
        return '{"type":"char","value":"U+%04X"}' % cproton.pn_data_get_char(d._data)
    if t == Data.UUID:
        return '{"type":"uuid","value":"%s"}' % str(d.get_uuid())
    if t == Data.BINARY:
        return '{"type":"binary","value":"%s"}' % bytes(d.get_binary()).hex()
    if t == Data.STRING:
        return '{"type":"string","value":%s}' % jstr(_string_text(d))
    if t == Data.SYMBOL:
        return '{"type":"symbol","value":%s}' % jstr(_symbol_text(d))
    if t == Data.LIST:
        return '{"type":"list","value":[' + ",".join(_children(d)) + ']}'
    if t == Data.MAP:
        items = _children(d)
        if len(items) % 2:
            raise DescribeError("map has an odd number of elements")
        pairs = ['{"key":%s,"value":%s}' % (items[i], items[i + 1]) for i in range(0, len(items), 2)]
        return '{"type":"map","value":[' + ",".join(pairs) + ']}'
    if t == Data.DESCRIBED:
        d.enter()
        d.next()
        dname = _descriptor_name(d)
        descriptor = node_json(d)
        value = node_json(d) if d.next() is not None else '{"type":"null"}'
        d.exit()
        return _described_json(dname, descriptor, value)
    if t == Data.ARRAY:
        count, described, element_type = d.get_array()
        elements = []
        element = "described" if described else TYPE_NAMES.get(element_type, "null")
        if d.enter():
            if described:
                d.next()
                dname = _descriptor_name(d)
                descriptor = node_json(d)
            while d.next() is not None:
                value = node_json(d)
                elements.append(_described_json(dname, descriptor, value) if described else value)
            d.exit()
        if len(elements) != count:
            raise DescribeError("array count %d but %d elements" % (count, len(elements)))
        return '{"type":"array","element":"%s","value":[%s]}' % (element, ",".join(elements))
    raise DescribeError("unknown proton type %r" % (t,))


def _proton_message(exc):
    text = str(exc)
    m = re.match(r"^\[(-?\d+)\]: (.*)$", text, re.S)
    if not m:
        return text
    code, msg = int(m.group(1)), m.group(2)
    if msg in ("", "None"):
        return "proton error %d (%s)" % (code, PN_ERRORS.get(code, "?"))
    return msg


def describe_bytes(buf):
    """Decode a concatenation of values: ([json line...], None) or ([...], (message, offset))."""
    lines = []
    offset = 0
    view = bytes(buf)
    while offset < len(view):
        d = Data()
        try:
            consumed = d.decode(view[offset:])
        except DataException as exc:
            return lines, (_proton_message(exc), offset)
        if consumed <= 0:
            return lines, ("proton consumed no bytes", offset)
        d.rewind()
        d.next()
        try:
            lines.append(node_json(d))
        except DescribeError as exc:
            return lines, (str(exc), offset)
        offset += consumed
    return lines, None


# ---------------------------------------------------------------------------
# Frame layer (parsed here, independently of the transport that wrote it)

PROTOCOL_IDS = {0: "amqp", 2: "tls", 3: "sasl"}
FRAME_TYPES = {0: "amqp", 1: "sasl"}


def list_frames(buf):
    """One line per protocol header / frame: ([line...], None) or ([...], (message, offset))."""
    lines = []
    pos = 0
    buf = bytes(buf)
    while pos < len(buf):
        if buf[pos:pos + 4] == b"AMQP":
            if len(buf) - pos < 8:
                return lines, ("truncated protocol header", pos)
            pid, major, minor, revision = buf[pos + 4:pos + 8]
            if pid not in PROTOCOL_IDS:
                return lines, ("unknown protocol id %d" % pid, pos)
            lines.append("header %s %d %d %d" % (PROTOCOL_IDS[pid], major, minor, revision))
            pos += 8
            continue
        if len(buf) - pos < 8:
            return lines, ("truncated frame header", pos)
        size, doff, ftype, channel = struct.unpack(">IBBH", buf[pos:pos + 8])
        if size < 8 or doff < 2 or doff * 4 > size:
            return lines, ("bad frame size %d / doff %d" % (size, doff), pos)
        if pos + size > len(buf):
            return lines, ("truncated frame (size %d)" % size, pos)
        if ftype not in FRAME_TYPES:
            return lines, ("unknown frame type %d" % ftype, pos)
        body = buf[pos + doff * 4:pos + size]
        if not body:
            what = "empty"
        else:
            d = Data()
            try:
                d.decode(body)
            except DataException as exc:
                return lines, (_proton_message(exc), pos + doff * 4)
            d.rewind()
            d.next()
            what = None
            if d.is_described():
                d.enter()
                d.next()
                name = _descriptor_name(d)
                d.exit()
                if name is not None:
                    what = short_name(name)
            if what is None:
                return lines, ("frame body is not a known performative", pos + doff * 4)
        lines.append("%s %d %s" % (FRAME_TYPES[ftype], channel, what))
        pos += size
    return lines, None


# ---------------------------------------------------------------------------
# Corpus

def encode_values(*values):
    d = Data()
    for v in values:
        d.put_object(v)
    return d.encode()


def encode_map_pairs(pairs):
    d = Data()
    d.put_map()
    d.enter()
    for key, value in pairs:
        d.put_object(key)
        d.put_object(value)
    d.exit()
    return d.encode()


def encode_with(fill):
    d = Data()
    fill(d)
    return d.encode()


def reencode(raw):
    """Let Proton decode `raw` (one value) and encode it again."""
    d = Data()
    assert d.decode(raw) == len(raw)
    return d.encode()


def syms(*names):
    return Array(UNDESCRIBED, Data.SYMBOL, *[symbol(n) for n in names])


def composite(code, *fields):
    fields = list(fields)
    while fields and fields[-1] is None:
        fields.pop()
    return Described(ulong(code), fields)


def pattern_bytes(n, seed):
    return bytes((i * 131 + seed * 17 + (i >> 8)) & 0xff for i in range(n))


U1 = uuid.UUID("00112233-4455-6677-8899-aabbccddeeff")
U2 = uuid.UUID("6ba7b810-9dad-11d1-80b4-00c04fd430c8")
U3 = uuid.UUID("f47ac10b-58cc-4372-a567-0e02b2c3d479")
T0 = 1700000000000  # 2023-11-14T22:13:20Z, in ms


def error(full=True):
    if not full:
        return composite(0x1d, symbol("amqp:internal-error"))
    return composite(0x1d, symbol("amqp:not-found"), "node 'queue://missing' does not exist",
                     {symbol("address"): "queue://missing", symbol("retry-after"): uint(5),
                      symbol("x-opt-trace"): [ulong(1), ulong(2)]})


def accepted():
    return composite(0x24)


def received():
    return composite(0x23, uint(1), ulong(1024))


def rejected(full=True):
    return composite(0x25, error()) if full else composite(0x25)


def released():
    return composite(0x26)


def modified(full=True):
    if not full:
        return composite(0x27)
    return composite(0x27, True, True, {symbol("x-opt-delivery-failure"): "consumer crashed",
                                         symbol("x-opt-redeliveries"): uint(3)})


TXN_ID = b"\x00\x00\x00\x2a"


def transactional_state(full=True):
    return composite(0x34, TXN_ID, accepted()) if full else composite(0x34, TXN_ID)


def source(full=True):
    if not full:
        return composite(0x28)
    filters = {
        symbol("selector"): Described(symbol("apache.org:selector-filter:string"), "color = 'red' AND size > 10"),
        symbol("subject"): Described(ulong(0x0000468C00000001), "orders.*.created"),
        symbol("no-local"): Described(symbol("apache.org:no-local-filter:list"), []),
    }
    return composite(0x28, "queue://orders", uint(2), symbol("never"), uint(300), False,
                     {symbol("lifetime-policy"): composite(0x2b)}, symbol("copy"), filters,
                     modified(), syms("amqp:accepted:list", "amqp:rejected:list",
                                      "amqp:released:list", "amqp:modified:list"),
                     syms("queue", "shared"))


def target(full=True):
    if not full:
        return composite(0x29)
    return composite(0x29, "topic://prices", uint(1), symbol("link-detach"), uint(0), True,
                     {symbol("lifetime-policy"): composite(0x2c),
                      symbol("supported-dist-modes"): syms("move", "copy")},
                     syms("topic"))


def fields_map():
    return {symbol("product"): "swift-amqp", symbol("version"): "1.0.0",
            symbol("platform"): "linux", symbol("x-opt-weight"): int32(-7)}


class Corpus:
    def __init__(self):
        self.cases = []  # (category, name, bytes)

    def add(self, category, name, data):
        assert re.match(r"^[a-z0-9][a-z0-9.-]*$", name), name
        assert name not in {c[1] for c in self.cases}, name
        self.cases.append((category, name, bytes(data)))

    def value(self, category, name, *values):
        self.add(category, name, encode_values(*values))


def build_primitives(c):
    p = "primitive"
    c.value(p, "null", None)
    c.value(p, "boolean-true", True)
    c.value(p, "boolean-false", False)
    for v in (0, 1, 127, 128, 255):
        c.value(p, "ubyte-%d" % v, ubyte(v))
    for v in (0, 255, 256, 32768, 65535):
        c.value(p, "ushort-%d" % v, ushort(v))
    for v in (0, 1, 255, 256, 65535, 65536, 2 ** 31, 2 ** 32 - 1):
        c.value(p, "uint-%d" % v, uint(v))
    for v in (0, 1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 63, 2 ** 64 - 1):
        c.value(p, "ulong-%d" % v, ulong(v))
    for v in (0, 1, -1, 127, -128):
        c.value(p, "byte-%s" % str(v).replace("-", "m"), pbyte(v))
    for v in (0, -1, 127, 128, -128, -129, 32767, -32768):
        c.value(p, "short-%s" % str(v).replace("-", "m"), short(v))
    for v in (0, 1, -1, 127, 128, -128, -129, 2 ** 31 - 1, -2 ** 31):
        c.value(p, "int-%s" % str(v).replace("-", "m"), int32(v))
    for v in (0, 1, -1, 127, 128, -128, -129, 2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, -2 ** 63):
        c.value(p, "long-%s" % str(v).replace("-", "m"), v)
    floats = [("0", 0.0), ("m0", -0.0), ("1.5", 1.5), ("m1.5", -1.5), ("0.1", 0.1),
              ("max", 3.4028234663852886e38), ("min-normal", 2.0 ** -126),
              ("min-subnormal", 2.0 ** -149), ("2p24", 16777216.0), ("2p24-plus-2", 16777218.0),
              ("1e-5", 1e-5), ("inf", math.inf), ("minf", -math.inf), ("nan", math.nan)]
    for tag, v in floats:
        c.value(p, "float-%s" % tag, float32(v))
    doubles = [("0", 0.0), ("m0", -0.0), ("1.5", 1.5), ("m1.5", -1.5), ("0.1", 0.1),
               ("pi", math.pi), ("max", sys.float_info.max), ("min-normal", sys.float_info.min),
               ("min-subnormal", 5e-324), ("2p53", 2.0 ** 53), ("1e16", 1e16), ("1e-4", 1e-4),
               ("1e-5", 1e-5), ("inf", math.inf), ("minf", -math.inf), ("nan", math.nan),
               ("mnan", -math.nan)]
    for tag, v in doubles:
        c.value(p, "double-%s" % tag, v)
    for tag, v in (("0", 0), ("one", 0x32800001), ("max", 0xffffffff)):
        c.value(p, "decimal32-%s" % tag, decimal32(v))
    for tag, v in (("0", 0), ("one", 0x31c0000000000001), ("max", 0xffffffffffffffff)):
        c.value(p, "decimal64-%s" % tag, decimal64(v))
    for tag, v in (("0", bytes(16)), ("one", bytes.fromhex("30400000000000000000000000000001")),
                   ("ramp", bytes(range(16)))):
        c.value(p, "decimal128-%s" % tag, decimal128(v))
    for code in (0x41, 0x0, 0xe9, 0x20ac, 0xffff, 0x1f600, 0x10ffff):
        c.value(p, "char-u%04x" % code, char(chr(code)))
    for tag, v in (("0", 0), ("1", 1), ("m1", -1), ("2023", T0), ("year1", -62135596800000),
                   ("year9999", 253402300799999), ("max", 2 ** 63 - 1), ("min", -2 ** 63)):
        c.value(p, "timestamp-%s" % tag, timestamp(v))
    for tag, v in (("nil", uuid.UUID(int=0)), ("seq", U1), ("v1", U2), ("v4", U3),
                   ("max", uuid.UUID(int=2 ** 128 - 1))):
        c.value(p, "uuid-%s" % tag, v)
    for n in (0, 1, 255, 256, 1000):
        c.value(p, "binary-%d" % n, pattern_bytes(n, n))
    c.value(p, "binary-all-bytes", bytes(range(256)))
    strings = [
        ("empty", ""), ("ascii", "hello, world"), ("255", "a" * 254 + "z"), ("256", "b" * 255 + "z"),
        ("1000", "".join(chr(0x61 + i % 26) for i in range(1000))),
        ("latin1", "h\u00e9llo w\u00f6rld \u00a9 \u00ff"), ("cjk", "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8"),
        ("emoji", "\U0001f600 \U0001f44d\U0001f3fd \U0001f1e9\U0001f1ea"),
        ("4-byte", "\U00010348\U0010ffff\U0001d11e"),
        ("escapes", 'quote " backslash \\ slash / nl \n cr \r tab \t bs \b ff \f'),
        ("controls", "".join(chr(i) for i in range(0x20)) + "\x7f"),
        ("separators", "line\u2028para\u2029bom\ufeffnbsp\u00a0"),
        ("255-bytes-utf8", "\u00e9" * 127 + "z"), ("256-bytes-utf8", "\u20ac" * 85 + "z"),
    ]
    for tag, v in strings:
        c.value(p, "string-%s" % tag, v)
    for tag, v in (("empty", ""), ("a", "a"), ("descriptor", "amqp:accepted:list"),
                   ("255", "s" * 254 + "z"), ("256", "t" * 255 + "z"),
                   ("1000", "".join(chr(0x41 + i % 26) for i in range(1000))),
                   ("punct", "x-opt-jms-dest/\"quoted\"\\")):
        c.value(p, "symbol-%s" % tag, symbol(v))
    # Encodings Proton never writes itself, decoded by Proton and written back.
    r = "roundtrip"
    c.add(r, "roundtrip-float-snan", reencode(bytes.fromhex("727fa00001")))
    c.add(r, "roundtrip-double-snan", reencode(bytes.fromhex("827ff4000000000001")))
    c.add(r, "roundtrip-list8", reencode(bytes.fromhex("c00603a101614341")))
    c.add(r, "roundtrip-map8", reencode(bytes.fromhex("c10702a30161a10162")))
    c.add(r, "roundtrip-array8-ubyte", reencode(bytes.fromhex("e00402500102")))
    c.add(r, "roundtrip-str32-sym32-vbin32", reencode(bytes.fromhex("d00000001600000003b10000000161b30000000162b00000000163")))
    c.add(r, "roundtrip-wide-ints", reencode(bytes.fromhex("d00000002000000004700000000580000000000000000771000000ff81ffffffffffffffff")))
    c.add(r, "roundtrip-boolean-forms", reencode(bytes.fromhex("c00704415601560042")))


def build_compounds(c):
    k = "list"
    c.value(k, "list-empty", [])
    c.value(k, "list-one-int", [int32(1)])
    c.value(k, "list-mixed", [None, True, False, ubyte(1), ushort(2), uint(3), ulong(4), pbyte(-5),
                               short(-6), int32(-7), -8, float32(9.5), 10.25, decimal32(11),
                               decimal64(12), decimal128(bytes(15) + b"\x0d"), char("\u00e9"),
                               timestamp(T0), U1, b"\xca\xfe", "str", symbol("sym")])
    c.value(k, "list-nested", [[], [[]], [int32(1), [int32(2), [int32(3)]]], ["x"]])
    deep = ["bottom"]
    for _ in range(20):
        deep = [deep]
    c.value(k, "list-deep-20", deep)
    c.value(k, "list-of-nulls", [None] * 10)
    c.value(k, "list-over-255-bytes", ["x" * 300, uint(1)])
    c.value(k, "list-300-elements", [uint(i) for i in range(300)])
    c.value(k, "list-containers", [{"k": "v"}, syms("a", "b"), Described(symbol("x:y"), int32(1)), []])
    m = "map"
    c.value(m, "map-empty", {})
    c.value(m, "map-string-int", {"one": int32(1), "two": int32(2), "three": int32(3)})
    c.value(m, "map-symbol-keys", {symbol("x-opt-a"): "a", symbol("x-opt-b"): uint(2)})
    # Built pair by pair: a dict would merge True/ubyte(1) and "s"/symbol("s").
    c.add(m, "map-mixed-keys", encode_map_pairs([
        (None, "null"), (True, "boolean"), (ubyte(1), "ubyte"), (ushort(1), "ushort"), (uint(1), "uint"),
        (ulong(2 ** 64 - 1), "ulong"), (pbyte(1), "byte"), (short(1), "short"), (int32(-1), "int"),
        (7, "long"), (float32(1.5), "float"), (1.5, "double"), (decimal32(1), "decimal32"),
        (char("k"), "char"), (timestamp(T0), "timestamp"), (U1, "uuid"), (b"\x00\x01", "binary"),
        ("s", "string"), (symbol("s"), "symbol"), ([int32(1), int32(2)], "list"), ({"k": "v"}, "map"),
        (syms("a"), "array"), (Described(ulong(0x24), []), "described")]))
    c.value(m, "map-nested", {"outer": {"inner": {"leaf": [int32(1), {"x": None}]}}, "empty": {}})
    c.value(m, "map-over-255-bytes", {"big": "y" * 300})
    c.value(m, "map-300-entries", {"key-%03d" % i: uint(i) for i in range(300)})
    c.value(m, "map-values-all-types", {"null": None, "bool": False, "float": float32(-2.5),
                                        "decimal64": decimal64(5), "array": syms("p", "q"),
                                        "described": Described(ulong(0x77), "v"), "list": [],
                                        "map": {}})
    a = "array"
    elements = [
        ("null", Data.NULL, [None, None, None]),
        ("boolean", Data.BOOL, [True, False, True]),
        ("ubyte", Data.UBYTE, [ubyte(0), ubyte(255)]),
        ("ushort", Data.USHORT, [ushort(0), ushort(65535)]),
        ("uint", Data.UINT, [uint(0), uint(1), uint(2 ** 32 - 1)]),
        ("ulong", Data.ULONG, [ulong(0), ulong(255), ulong(2 ** 64 - 1)]),
        ("byte", Data.BYTE, [pbyte(-128), pbyte(127)]),
        ("short", Data.SHORT, [short(-32768), short(32767)]),
        ("int", Data.INT, [int32(0), int32(-1), int32(2 ** 31 - 1)]),
        ("long", Data.LONG, [0, -1, 2 ** 63 - 1]),
        ("float", Data.FLOAT, [float32(0.5), float32(-0.0), float32(math.inf)]),
        ("double", Data.DOUBLE, [0.1, -2.5e-300, math.nan]),
        ("decimal32", Data.DECIMAL32, [decimal32(1), decimal32(0x32800001)]),
        ("decimal64", Data.DECIMAL64, [decimal64(1), decimal64(0x31c0000000000001)]),
        ("decimal128", Data.DECIMAL128, [decimal128(bytes(range(16))), decimal128(bytes(16))]),
        ("char", Data.CHAR, [char("a"), char("\U0001f600")]),
        ("timestamp", Data.TIMESTAMP, [timestamp(0), timestamp(T0), timestamp(-1)]),
        ("uuid", Data.UUID, [U1, U2]),
        ("binary", Data.BINARY, [b"", b"\x01\x02", pattern_bytes(300, 3)]),
        ("string", Data.STRING, ["", "a", "\u00e9\U0001f600"]),
        ("symbol", Data.SYMBOL, [symbol("amqp:accepted:list"), symbol("amqp:rejected:list")]),
        ("list", Data.LIST, [[], [int32(1), "two"], [None]]),
        ("map", Data.MAP, [{}, {"k": int32(1)}]),
    ]
    for tag, etype, values in elements:
        c.value(a, "array-%s" % tag, Array(UNDESCRIBED, etype, *values))
    for tag, etype in (("int", Data.INT), ("symbol", Data.SYMBOL), ("ulong", Data.ULONG),
                       ("string", Data.STRING), ("list", Data.LIST), ("map", Data.MAP),
                       ("boolean", Data.BOOL), ("uuid", Data.UUID)):
        c.value(a, "array-empty-%s" % tag, Array(UNDESCRIBED, etype))
    c.value(a, "array-300-uints", Array(UNDESCRIBED, Data.UINT, *[uint(i) for i in range(300)]))
    c.value(a, "array-long-strings", Array(UNDESCRIBED, Data.STRING, "x" * 300, "y" * 10))
    c.value(a, "array-of-arrays", Array(UNDESCRIBED, Data.ARRAY,
                                        Array(UNDESCRIBED, Data.INT, int32(1), int32(2)),
                                        Array(UNDESCRIBED, Data.INT, int32(3))))
    c.value(a, "array-of-arrays-mixed", Array(UNDESCRIBED, Data.ARRAY, syms("a"),
                                              Array(UNDESCRIBED, Data.INT), Array(UNDESCRIBED, Data.LIST, [])))
    c.value(a, "array-described-ulong-lists", Array(ulong(0x24), Data.LIST, [], []))
    c.value(a, "array-described-symbol-strings", Array(symbol("com.example:name:string"), Data.STRING, "a", "b"))
    c.value(a, "array-described-symbol-lists", Array(symbol("amqp:modified:list"), Data.LIST,
                                                     [True], [False, True, {symbol("k"): "v"}]))
    c.value(a, "array-described-empty", Array(ulong(0x29), Data.LIST))
    # put_array(False, DESCRIBED) with one element comes out as a described array; with
    # two or more Proton 0.37 writes descriptor + constructor again before every element,
    # which nothing (Proton included) can decode, so only the one-element form is kept.
    c.add(a, "array-element-type-described", encode_with(_fill_array_of_described))
    d = "described"
    c.value(d, "described-ulong-string", Described(ulong(0x77), "value"))
    c.value(d, "described-symbol-string", Described(symbol("amqp:amqp-value:*"), "value"))
    c.value(d, "described-unknown-ulong", Described(ulong(0x1234), [uint(1)]))
    c.value(d, "described-unknown-symbol", Described(symbol("com.example:thing:list"), [uint(1)]))
    c.value(d, "described-domain-ulong", Described(ulong(0x0000468C00000001), "orders.*"))
    c.value(d, "described-known-code-not-zero-domain", Described(ulong(0x0000000100000010), []))
    c.value(d, "described-null-value", Described(ulong(0x26), None))
    c.value(d, "described-map-value", Described(symbol("amqp:footer:map"), {symbol("x-opt-sig"): b"\x01"}))
    c.value(d, "described-nested", Described(symbol("outer"), Described(ulong(0x75), b"inner")))
    c.value(d, "described-descriptor-string", Described("string-descriptor", int32(1)))
    c.value(d, "described-in-map", {symbol("filter"): Described(symbol("apache.org:selector-filter:string"), "a = 1")})
    m2 = "multi"
    c.value(m2, "multi-values", uint(1), "two", [symbol("three")], None)
    c.value(m2, "multi-empty-containers", [], {}, Array(UNDESCRIBED, Data.INT), b"", "", symbol(""))


def _fill_array_of_described(d):
    d.put_array(False, Data.DESCRIBED)
    d.enter()
    for value in ("only",):
        d.put_described()
        d.enter()
        d.put_ulong(0x77)
        d.put_string(value)
        d.exit()
    d.exit()


def build_performatives(c):
    p = "performative"
    caps = syms("ANONYMOUS-RELAY", "DELAYED_DELIVERY", "SHARED-SUBS")
    c.value(p, "open-full", composite(0x10, "swift-amqp-container-1", "broker.example.com", uint(65536),
                                      ushort(1023), uint(30000), syms("en-US", "de-DE"), syms("en-US"),
                                      caps, syms("SOLE-CONNECTION-FOR-CONTAINER"), fields_map()))
    c.value(p, "open-min", composite(0x10, "swift-amqp-container-1"))
    c.value(p, "open-single-symbols", composite(0x10, "c", None, None, None, None, symbol("en-US"),
                                                symbol("fr-FR"), symbol("ANONYMOUS-RELAY"), symbol("SHARED-SUBS")))
    c.value(p, "open-symbolic-descriptor", Described(symbol("amqp:open:list"), ["c", "h", uint(512)]))
    c.value(p, "begin-full", composite(0x11, ushort(7), uint(1), uint(2048), uint(4096), uint(1023),
                                       caps, syms("ANONYMOUS-RELAY"), fields_map()))
    c.value(p, "begin-min", composite(0x11, None, uint(0), uint(2147483647), uint(2147483647)))
    c.value(p, "attach-sender-full", composite(
        0x12, "sender-link-1", uint(0), False, ubyte(2), ubyte(0), source(), target(),
        {b"\x00\x00\x00\x01": accepted(), b"\x00\x00\x00\x02": None, b"\x00\x00\x00\x03": received()},
        False, uint(0), ulong(1048576), syms("DELAYED_DELIVERY"), syms("SHARED-SUBS"), fields_map()))
    c.value(p, "attach-receiver-full", composite(
        0x12, "receiver-link-1", uint(1), True, ubyte(1), ubyte(1), source(), target(False),
        {b"tag-1": modified(False)}, True, None, ulong(2 ** 64 - 1), symbol("SHARED-SUBS"), None, {}))
    c.value(p, "attach-min", composite(0x12, "link", uint(0), True))
    c.value(p, "attach-coordinator", composite(0x12, "txn-ctrl", uint(2), False, ubyte(0), ubyte(0), source(False),
                                               composite(0x30, syms("amqp:local-transactions"))))
    c.value(p, "attach-symbolic-terminus", composite(0x12, "link", uint(3), True, None, None,
                                                     Described(symbol("amqp:source:list"), ["queue://x"]),
                                                     Described(symbol("amqp:target:list"), [])))
    c.value(p, "flow-full", composite(0x13, uint(10), uint(2048), uint(5), uint(2048), uint(0), uint(3),
                                      uint(100), uint(7), True, False, {symbol("x-opt-hint"): "drain-soon"}))
    c.value(p, "flow-min", composite(0x13, None, uint(2048), uint(0), uint(2048)))
    c.value(p, "flow-link", composite(0x13, uint(0), uint(100), uint(0), uint(100), uint(1), uint(0), uint(50)))
    c.value(p, "transfer-full", composite(0x14, uint(0), uint(7), b"\x00\x00\x00\x07", uint(0), False, False,
                                          ubyte(1), accepted(), False, False, True))
    c.value(p, "transfer-min", composite(0x14, uint(0)))
    c.value(p, "transfer-more", composite(0x14, uint(1), uint(2 ** 32 - 1), b"t", uint(0x80013700), None, True))
    c.value(p, "transfer-aborted", composite(0x14, uint(1), uint(8), b"t8", None, None, True,
                                             None, None, None, True))
    states = [("received", received()), ("accepted", accepted()), ("rejected", rejected()),
              ("released", released()), ("modified", modified()), ("transactional", transactional_state())]
    for tag, state in states:
        c.value(p, "transfer-state-%s" % tag, composite(0x14, uint(0), uint(1), b"\x01", uint(0), False, False,
                                                        None, state, True))
    c.value(p, "disposition-full", composite(0x15, True, uint(0), uint(9), True, accepted(), False))
    c.value(p, "disposition-min", composite(0x15, True, uint(3)))
    for tag, state in states:
        c.value(p, "disposition-state-%s" % tag, composite(0x15, False, uint(1), uint(1), tag != "received", state))
    c.value(p, "detach-full", composite(0x16, uint(1), True, error()))
    c.value(p, "detach-min", composite(0x16, uint(1)))
    c.value(p, "end-full", composite(0x17, composite(0x1d, symbol("amqp:session:window-violation"),
                                                      "incoming window exceeded")))
    c.value(p, "end-min", composite(0x17))
    c.value(p, "close-full", composite(0x18, composite(
        0x1d, symbol("amqp:connection:redirect"), "moved",
        {symbol("hostname"): "backup.example.com", symbol("network-host"): "10.0.0.2", symbol("port"): uint(5671)})))
    c.value(p, "close-min", composite(0x18))
    s = "sasl"
    c.value(s, "sasl-mechanisms-full", composite(0x40, syms("PLAIN", "ANONYMOUS", "EXTERNAL", "SCRAM-SHA-256")))
    c.value(s, "sasl-mechanisms-min", composite(0x40, symbol("ANONYMOUS")))
    c.value(s, "sasl-init-full", composite(0x41, symbol("PLAIN"), b"\x00user\x00secret", "broker.example.com"))
    c.value(s, "sasl-init-min", composite(0x41, symbol("ANONYMOUS")))
    c.value(s, "sasl-challenge", composite(0x42, b"r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096"))
    c.value(s, "sasl-response", composite(0x43, b"c=biws,r=fyko+d2lbbFgONRv9qkxdawL,p=v0X8v3Bz2T0CJGbJQyF0X"))
    c.value(s, "sasl-outcome-full", composite(0x44, ubyte(0), b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="))
    c.value(s, "sasl-outcome-min", composite(0x44, ubyte(1)))
    k = "composite"
    c.value(k, "error-full", error())
    c.value(k, "error-min", error(False))
    c.value(k, "received", received())
    c.value(k, "accepted", accepted())
    c.value(k, "rejected-full", rejected())
    c.value(k, "rejected-min", rejected(False))
    c.value(k, "released", released())
    c.value(k, "modified-full", modified())
    c.value(k, "modified-min", modified(False))
    c.value(k, "source-full", source())
    c.value(k, "source-min", source(False))
    c.value(k, "target-full", target())
    c.value(k, "target-min", target(False))
    for code in (0x2b, 0x2c, 0x2d, 0x2e):
        c.value(k, short_name(DESCRIPTORS[code]), composite(code))
    c.value(k, "coordinator-full", composite(0x30, syms("amqp:local-transactions", "amqp:multi-txns-per-ssn")))
    c.value(k, "coordinator-min", composite(0x30))
    c.value(k, "declare", composite(0x31))
    c.value(k, "discharge-full", composite(0x32, TXN_ID, True))
    c.value(k, "discharge-min", composite(0x32, TXN_ID))
    c.value(k, "declared", composite(0x33, TXN_ID))
    c.value(k, "transactional-state-full", transactional_state())
    c.value(k, "transactional-state-min", transactional_state(False))
    c.value(k, "header-full", composite(0x70, True, ubyte(9), uint(60000), True, uint(2)))
    c.value(k, "header-min", composite(0x70))
    c.value(k, "properties-full", composite(
        0x73, "msg-0001", b"alice", "queue://orders", "order-created", "queue://replies", U2,
        symbol("application/json"), symbol("gzip"), timestamp(T0 + 3600000), timestamp(T0), "group-a",
        uint(42), "group-b"))
    c.value(k, "properties-min", composite(0x73))
    sections = "section"
    c.value(sections, "section-delivery-annotations", composite(0x71, {symbol("x-opt-hop"): uint(1)}))
    c.value(sections, "section-message-annotations", composite(0x72, {symbol("x-opt-partition"): int32(3),
                                                                      ulong(99): "ulong key"}))
    c.value(sections, "section-application-properties", composite(0x74, {"colour": "red", "size": int32(12)}))
    c.value(sections, "section-data", Described(ulong(0x75), b"\x00\x01\x02"))
    c.value(sections, "section-amqp-sequence", composite(0x76, int32(1), "two"))
    c.value(sections, "section-amqp-value", Described(ulong(0x77), {"k": [uint(1)]}))
    c.value(sections, "section-footer", composite(0x78, {symbol("x-opt-checksum"): uint(0xdeadbeef)}))
    # A transfer frame body: performative followed by the message payload.
    payload = Message(body="payload", id=ulong(1)).encode()
    c.add("multi", "multi-transfer-with-payload",
          encode_values(composite(0x14, uint(0), uint(0), b"\x00", uint(0))) + payload)


def build_messages(c):
    m = "message"

    def msg(name, *extra, **kw):
        message = Message(**kw)
        data = message.encode()
        for section in extra:
            data += encode_values(section)
        c.add(m, "message-" + name, data)

    msg("default")
    msg("body-string", body="hello")
    msg("body-data", body=b"\x00binary\xff", inferred=True)
    msg("body-data-large", body=pattern_bytes(4000, 9), inferred=True)
    msg("body-value-binary", body=b"\x00binary\xff")
    msg("body-sequence", body=[int32(1), "two", 3.0, [symbol("four")]], inferred=True)
    msg("body-value-list", body=[int32(1), "two"])
    msg("body-map", body={"a": int32(1), "b": [True, None], symbol("c"): {"d": timestamp(T0)}})
    msg("body-int", body=int32(42))
    msg("body-long", body=-42)
    msg("body-ulong", body=ulong(2 ** 64 - 1))
    msg("body-double", body=2.5)
    msg("body-float", body=float32(-0.0))
    msg("body-boolean", body=False)
    msg("body-uuid", body=U3)
    msg("body-symbol", body=symbol("sym"))
    msg("body-char", body=char("\U0001f600"))
    msg("body-timestamp", body=timestamp(T0))
    msg("body-decimal128", body=decimal128(bytes(range(16))))
    msg("body-described", body=Described(symbol("com.example:point:list"), [int32(1), int32(2)]))
    msg("body-array", body=syms("a", "b", "c"))
    msg("body-unicode", body="gr\u00fc\u00df dich \U0001f30d", subject="\u65e5\u672c\u8a9e")
    msg("header-only-durable", durable=True)
    msg("header-fields", durable=True, priority=9, ttl=60, first_acquirer=True, delivery_count=3, body="h")
    for tag, ident in (("ulong", ulong(123456789)), ("uuid", U1), ("binary", b"\x01\x02\x03\x04"),
                       ("string", "msg-id-0001")):
        msg("id-" + tag, id=ident, correlation_id=ident, body="id")
    msg("all-sections",
        durable=True, priority=7, ttl=30, first_acquirer=True, delivery_count=1,
        instructions={symbol("x-opt-delivery-hint"): "fast", symbol("x-opt-hops"): uint(2)},
        annotations={symbol("x-opt-partition-key"): "customer-17", symbol("x-opt-sequence-number"): 1000,
                     symbol("x-opt-enqueued-time"): timestamp(T0)},
        id="msg-0001", user_id=b"alice", address="queue://orders", subject="order-created",
        reply_to="queue://replies", correlation_id=U2, content_type="application/json",
        content_encoding="utf-8", expiry_time=(T0 + 3600000) / 1000, creation_time=T0 / 1000,
        group_id="group-a", group_sequence=42, reply_to_group_id="group-b",
        properties={"colour": "red", "size": int32(12), "price": 9.99, "tags": None, "sku": ulong(77)},
        body='{"order": 17}')
    msg("all-sections-data-body", durable=False, priority=0, id=ulong(7), address="queue://x",
        body=b'{"order": 18}', inferred=True, properties={"k": "v"})
    # Sections Proton's Message cannot produce, appended with proton.Data.
    msg("with-footer", composite(0x78, {symbol("x-opt-signature"): b"\x0f" * 8}), body="signed")
    msg("multiple-data-sections", Described(ulong(0x75), b" part two"), Described(ulong(0x75), b" part three"),
        body=b"part one", inferred=True)
    msg("multiple-sequence-sections", composite(0x76, "c", "d"), body=["a", "b"], inferred=True)


# ---------------------------------------------------------------------------
# In-memory connection capture

class Peer:
    def __init__(self, name, server, max_frame, use_sasl, idle_ms):
        self.name = name
        self.conn = Connection()
        self.transport = Transport(Transport.SERVER) if server else Transport()
        if max_frame:
            self.transport.max_frame_size = max_frame
        if idle_ms:
            self.transport.idle_timeout = idle_ms / 1000.0
        if use_sasl:
            self.transport.sasl().allowed_mechs("ANONYMOUS")
        self.collector = Collector()
        self.conn.collect(self.collector)
        self.output = bytearray()
        self.received = []
        self.sent = False
        self.settled_tags = set()


def _message(i, size=None):
    body = pattern_bytes(size, i) if size else "message %d" % i
    return Message(body=body, inferred=bool(size), id=ulong(1000 + i), durable=(i % 2 == 0),
                   creation_time=T0 / 1000 + i, subject="subject-%d" % i,
                   properties={"index": int32(i)}, annotations={symbol("x-opt-seq"): ulong(i)})


def capture_session(max_frame=None, server_max_frame=None, use_sasl=True, large=40000):
    client = Peer("client", False, max_frame, use_sasl, 0)
    server = Peer("server", True, server_max_frame or max_frame, use_sasl, 20000)
    client.conn.container = "swift-amqp-interop-client"
    client.conn.hostname = "broker.example.test"
    client.conn.properties = {symbol("product"): "proton-python-interop", symbol("version"): "0.37"}
    client.conn.offered_capabilities = syms("ANONYMOUS-RELAY")
    client.conn.desired_capabilities = syms("DELAYED_DELIVERY")
    server.conn.container = "swift-amqp-interop-server"
    client.transport.bind(client.conn)
    server.transport.bind(server.conn)
    outcome_for = {"tag-1": Delivery.REJECTED, "tag-2": Delivery.RELEASED, "tag-3": Delivery.MODIFIED}

    def handle(peer, ev):
        t = ev.type
        if peer is server:
            if t == Event.CONNECTION_REMOTE_OPEN and server.conn.state & Endpoint.LOCAL_UNINIT:
                server.conn.open()
            elif t == Event.SESSION_REMOTE_OPEN and ev.session.state & Endpoint.LOCAL_UNINIT:
                ev.session.open()
            elif t == Event.LINK_REMOTE_OPEN and ev.link.state & Endpoint.LOCAL_UNINIT:
                link = ev.link
                link.source.copy(link.remote_source)
                link.target.copy(link.remote_target)
                link.open()
                if link.is_receiver:
                    link.flow(10)
            elif t == Event.LINK_FLOW and ev.link.is_sender and ev.link.credit > 0 and not server.sent:
                server.sent = True
                for i in (100, 101):
                    ev.link.delivery("srv-%d" % i)
                    ev.link.stream(_message(i, 1500 if i == 101 else None).encode())
                    ev.link.advance()
            elif t == Event.DELIVERY and ev.link.is_receiver:
                dlv = ev.delivery
                if dlv.readable and not dlv.partial:
                    data = ev.link.recv(dlv.pending)
                    ev.link.advance()
                    server.received.append(data)
                    if not dlv.settled:
                        state = outcome_for.get(dlv.tag, Delivery.ACCEPTED)
                        if state == Delivery.REJECTED:
                            dlv.local.condition = Condition("amqp:decode-error", "bad payload",
                                                            {symbol("field"): "body"})
                        elif state == Delivery.MODIFIED:
                            dlv.local.failed = True
                            dlv.local.undeliverable = True
                            dlv.local.annotations = {symbol("x-opt-retry"): int32(1)}
                        dlv.update(state)
                    dlv.settle()
            elif t == Event.LINK_REMOTE_CLOSE and not ev.link.state & Endpoint.LOCAL_CLOSED:
                ev.link.close()
            elif t == Event.SESSION_REMOTE_CLOSE and not ev.session.state & Endpoint.LOCAL_CLOSED:
                ev.session.close()
            elif t == Event.CONNECTION_REMOTE_CLOSE and not server.conn.state & Endpoint.LOCAL_CLOSED:
                server.conn.close()
        else:
            if t == Event.DELIVERY:
                dlv = ev.delivery
                if ev.link.is_receiver and dlv.readable and not dlv.partial:
                    client.received.append(ev.link.recv(dlv.pending))
                    ev.link.advance()
                    dlv.update(Delivery.ACCEPTED)
                    dlv.settle()
                elif ev.link.is_sender and dlv.remote_state and dlv.tag not in client.settled_tags:
                    client.settled_tags.add(dlv.tag)
                    dlv.settle()

    def pump():
        moved = True
        while moved:
            moved = False
            for src, dst in ((client, server), (server, client)):
                n = min(src.transport.pending(), dst.transport.capacity())
                if n > 0:
                    chunk = src.transport.peek(n)
                    src.transport.pop(n)
                    src.output.extend(chunk)
                    dst.transport.push(chunk)
                    moved = True
            for peer in (client, server):
                while peer.collector.peek():
                    handle(peer, peer.collector.peek())
                    peer.collector.pop()
                    moved = True

    client.conn.open()
    idle_session = client.conn.session()  # channel 0; the links use channel 1
    idle_session.open()
    session = client.conn.session()
    session.open()
    sender = session.sender("sender-link")
    sender.source.address = "swift-amqp-interop-client"
    sender.target.address = "queue://orders"
    sender.target.capabilities.put_object(syms("queue"))
    sender.open()
    receiver = session.receiver("receiver-link")
    receiver.source.address = "queue://replies"
    receiver.source.filter.put_object({symbol("selector"): Described(
        symbol("apache.org:selector-filter:string"), "colour = 'red'")})
    receiver.source.outcomes.put_object(syms("amqp:accepted:list", "amqp:rejected:list"))
    receiver.source.distribution_mode = Terminus.DIST_MODE_MOVE
    receiver.target.address = "swift-amqp-interop-client"
    receiver.open()
    receiver.flow(5)
    pump()
    # Heart-beats: the server asked for a 20 s idle time-out, so the client sends an
    # empty frame when ticked past half of it.
    client.transport.tick(1000.0)
    pump()
    client.transport.tick(1011.0)
    pump()
    for i in range(5):
        sender.delivery("tag-%d" % i)
        sender.stream(_message(i, large if i == 4 else None).encode())
        sender.advance()
        pump()
    presettled = sender.delivery("tag-5")
    sender.stream(_message(5).encode())
    sender.advance()
    presettled.settle()
    client.settled_tags.add("tag-5")
    pump()
    sender.close()
    receiver.close()
    pump()
    session.close()
    idle_session.close()
    pump()
    client.conn.condition = Condition("amqp:connection:forced", "interop run finished",
                                      {symbol("reason"): "done", symbol("runs"): uint(1)})
    client.conn.close()
    pump()
    assert len(server.received) == 6, len(server.received)
    assert len(client.received) == 2, len(client.received)
    return bytes(client.output), bytes(server.output)


# ---------------------------------------------------------------------------
# generate / check

def write_corpus(outdir):
    os.makedirs(outdir, exist_ok=True)
    corpus = Corpus()
    build_primitives(corpus)
    build_compounds(corpus)
    build_performatives(corpus)
    build_messages(corpus)
    manifest = ["# Proton %s corpus written by Tests/Interop/proton_codec.py generate."
                % ".".join(map(str, __import__("proton").VERSION)),
                "# NAME.bin: AMQP values encoded by proton.Data / proton.Message;"
                " NAME.json: proton's own decoding in `amqp decode` format.",
                "# frames-*.bin: one direction of an in-memory proton.Transport connection;"
                " frames-*.txt: its headers and frames.",
                "# category name"]
    for category, name, data in corpus.cases:
        lines, err = describe_bytes(data)
        if err:
            raise SystemExit("case %s: proton cannot describe its own encoding: %s at byte %d" % (name, err[0], err[1]))
        with open(os.path.join(outdir, name + ".bin"), "wb") as f:
            f.write(data)
        with open(os.path.join(outdir, name + ".json"), "wb") as f:
            f.write(("\n".join(lines) + "\n").encode("utf-8"))
        manifest.append("%s %s" % (category, name))
    captures = [
        ("frames", dict(max_frame=65536, server_max_frame=16384)),
        ("frames-512", dict(max_frame=512)),
        ("frames-nosasl", dict(use_sasl=False, large=2000)),
    ]
    for prefix, kwargs in captures:
        client_bytes, server_bytes = capture_session(**kwargs)
        for side, data in (("client", client_bytes), ("server", server_bytes)):
            name = "%s-%s" % (prefix, side)
            lines, err = list_frames(data)
            if err:
                raise SystemExit("%s: cannot list frames: %s at byte %d" % (name, err[0], err[1]))
            with open(os.path.join(outdir, name + ".bin"), "wb") as f:
                f.write(data)
            with open(os.path.join(outdir, name + ".txt"), "w") as f:
                f.write("\n".join(lines) + "\n")
            manifest.append("frames %s" % name)
    with open(os.path.join(outdir, "MANIFEST.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")
    return len(corpus.cases)


def check_corpus(outdir):
    failures = 0
    count = 0
    for line in open(os.path.join(outdir, "MANIFEST.txt")):
        if line.startswith("#") or not line.strip():
            continue
        category, name = line.split()
        data = open(os.path.join(outdir, name + ".bin"), "rb").read()
        if category == "frames":
            lines, err = list_frames(data)
            expected = open(os.path.join(outdir, name + ".txt")).read()
        else:
            lines, err = describe_bytes(data)
            expected = open(os.path.join(outdir, name + ".json"), encoding="utf-8").read()
        got = "\n".join(lines) + "\n"
        count += 1
        if err or got != expected:
            failures += 1
            print("MISMATCH %s %s" % (name, err or ""), file=sys.stderr)
    print("%d files checked, %d mismatches" % (count, failures))
    return failures == 0


def read_input(args):
    hex_mode = "--hex" in args
    rest = [a for a in args if a != "--hex"]
    if len(rest) > 1:
        usage()
    raw = open(rest[0], "rb").read() if rest else sys.stdin.buffer.read()
    if not hex_mode:
        return raw
    text = re.sub(rb"\s+", b"", raw)
    bad = re.search(rb"[^0-9a-fA-F]", text)
    if bad or len(text) % 2:
        where = bad.start() if bad else len(text)
        sys.stderr.write("error: invalid hexadecimal input at digit %d\n" % where)
        sys.exit(1)
    return bytes.fromhex(text.decode("ascii"))


def usage():
    sys.stderr.write(__doc__)
    sys.exit(2)


def main(argv):
    if len(argv) < 2:
        usage()
    mode, args = argv[1], argv[2:]
    if mode in ("describe", "frames"):
        data = read_input(args)
        lines, err = (describe_bytes if mode == "describe" else list_frames)(data)
        out = sys.stdout.buffer
        for line in lines:
            out.write(line.encode("utf-8") + b"\n")
        out.flush()
        if err:
            sys.stderr.write("error: %s at byte %d\n" % err)
            return 1
        return 0
    if mode == "generate" and len(args) == 1:
        n = write_corpus(args[0])
        print("wrote %d value cases + frame captures to %s" % (n, args[0]))
        return 0
    if mode == "check" and len(args) == 1:
        return 0 if check_corpus(args[0]) else 1
    usage()


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Regenerates numpy_golden.json and pyrepr_golden.json (golden data for the unit tests of
engine::numpy_fmt, engine::pyrepr and engine::naming).

Run with the interpreter upstream KATO ships (CPython 3.10, Unicode 13.0.0) and NumPy >= 1.14:
    python3.10 gen_golden.py
The output depends only on the fixed seeds below. The Rust tests never run Python.
"""

import hashlib
import json
import random
import struct
import sys
import unicodedata

import numpy as np

HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def sha1(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def f64_from_bits(bits):
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


# --------------------------------------------------------------------------- numpy_golden.json

def random_value(rng, kind):
    if kind == "uniform":
        return rng.uniform(-10, 10)
    if kind == "rounded":
        return round(rng.uniform(-1000, 1000), rng.randint(0, 9))
    if kind == "integer":
        return float(rng.randint(-100000, 100000))
    if kind == "small_integer":
        return float(rng.randint(0, 40))
    if kind == "log":
        return rng.choice([-1, 1]) * 10 ** rng.uniform(-12, 12)
    if kind == "bits":
        while True:
            x = f64_from_bits(rng.getrandbits(64))
            if np.isfinite(x):
                return x
    if kind == "ninth_digit":
        # Values whose 9th fraction digit decides the rounding.
        return rng.randint(0, 10**9) / 1e9 + rng.choice([0.0, 5e-10, 4.9e-10, 5.1e-10])
    if kind == "dyadic":
        # Exact binary fractions, many of them exact ties at the 8th fraction digit.
        return rng.randint(1, 2**12) / 2.0 ** rng.randint(9, 14)
    if kind == "high_binade":
        # [2**26, 1e8): exact ties between two shortest 8-fraction-digit candidates (even wins).
        return rng.randint(2**26, 10**8 - 1) + rng.randrange(1, 512, 2) / 512
    if kind == "near_one":
        return 1.0 - rng.choice([1e-9, 4e-9, 5e-9, 6e-9, 1e-8, 1e-10])
    if kind == "boundary":
        return rng.choice([1e-4, 9.99999e-5, 1.0001e-4, 1e8, 99999999.0, 99999999.99999999,
                           1e8 * (1 - 1e-16), 1000.0, 0.1, 1.0, 1e5, 1e-3, 0.5])
    raise ValueError(kind)


def random_array(rng):
    kind = rng.choice(["uniform", "rounded", "integer", "small_integer", "log", "bits",
                       "ninth_digit", "dyadic", "high_binade", "near_one", "boundary",
                       "mixed"])
    length = rng.choice([0, 1, 1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 25, 30, 40, 60, 100, 120])
    values = []
    for _ in range(length):
        k = kind
        if kind == "mixed":
            k = rng.choice(["uniform", "rounded", "integer", "log", "dyadic", "boundary"])
        values.append(random_value(rng, k))
    # Sprinkle specials into some arrays.
    if values and rng.random() < 0.3:
        for _ in range(rng.randint(1, 3)):
            values[rng.randrange(len(values))] = rng.choice(
                [float("nan"), float("inf"), float("-inf"), 0.0, -0.0])
    if values and rng.random() < 0.2:
        values = [-v for v in values]
    return kind, values


def numpy_cases():
    rng = random.Random(20260509)
    cases = []
    for _ in range(280):
        kind, values = random_array(rng)
        text = str(np.array(values, dtype=np.float64))
        cases.append({
            "kind": kind,
            "values": [repr(v) for v in values],
            "str": text,
            "name": "VCTR|" + sha1(text),
        })
    # Summarised arrays (> 1000 elements): only the edges matter, so the middle is one repeated
    # fill value that would change the format if NumPy looked at it.
    for _ in range(20):
        kind, edges = random_array(rng)
        while len(edges) < 6:
            edges.append(random_value(rng, "uniform"))
        head, tail = edges[:3], edges[-3:]
        n = rng.choice([1001, 1002, 1500, 4096])
        fill = rng.choice([1e300, 1e-300, float("nan"), -float("inf"), 123.456])
        full = np.array(head + [fill] * (n - 6) + tail, dtype=np.float64)
        cases.append({
            "kind": "summarised-" + kind,
            "len": n,
            "head": [repr(v) for v in head],
            "tail": [repr(v) for v in tail],
            "fill": repr(fill),
            "str": str(full),
        })
    return cases


# -------------------------------------------------------------------------- pyrepr_golden.json

# Code points assigned after Unicode 13.0 (unassigned, hence escaped, in Python 3.10).
LATER_ASSIGNED = [0x0870, 0x08BE, 0x1F6DD, 0x1FAE0, 0x1F979, 0x0CDD, 0x11F00, 0x2FFFF - 2]


def random_char(rng):
    kind = rng.random()
    if kind < 0.30:
        return chr(rng.randint(0x20, 0x7E))
    if kind < 0.38:
        return rng.choice(["'", '"', "\\", "\t", "\n", "\r", " "])
    if kind < 0.45:
        return chr(rng.choice(list(range(0x00, 0x20)) + [0x7F]))
    if kind < 0.55:
        return chr(rng.randint(0x80, 0xFF))
    if kind < 0.65:
        return chr(rng.choice([0x00A0, 0x00AD, 0x034F, 0x061C, 0x1680, 0x180E, 0x2000, 0x200B,
                               0x200D, 0x2028, 0x2029, 0x202F, 0x205F, 0x2060, 0x3000, 0xFEFF,
                               0xE000, 0xF8FF, 0xFFFE, 0xFFFF, 0xFFFD, 0x10FFFF, 0xF0000,
                               0xE0001, 0x1D173]))
    if kind < 0.70:
        return chr(rng.choice(LATER_ASSIGNED))
    if kind < 0.88:
        while True:
            c = rng.randint(0x100, 0xFFFF)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)
    return chr(rng.randint(0x10000, 0x10FFFF))


def random_string(rng):
    return "".join(random_char(rng) for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8, 13])))


def random_float(rng):
    kind = rng.random()
    if kind < 0.4:
        while True:
            x = f64_from_bits(rng.getrandbits(64))
            if np.isfinite(x):
                return x
    if kind < 0.6:
        return rng.choice([-1, 1]) * 10 ** rng.uniform(-20, 20)
    if kind < 0.75:
        return float(rng.randint(-10**17, 10**17))
    if kind < 0.9:
        return rng.choice([-1, 1]) * 10.0 ** rng.randint(-8, 20) * rng.choice([1, 1.5, 9.99])
    return rng.choice([0.0, -0.0, float("inf"), float("-inf"), float("nan"), 5e-324,
                       1.7976931348623157e308, 2.2250738585072014e-308, 1e16, 1e-4, 1e-5])


def random_json(rng, depth=0):
    kind = rng.random() if depth < 3 else rng.random() * 0.7
    if kind < 0.15:
        return random_string(rng)
    if kind < 0.25:
        return rng.randint(-2**63, 2**64 - 1) if rng.random() < 0.3 else rng.randint(-999, 999)
    if kind < 0.4:
        return random_float(rng) if rng.random() < 0.5 else round(rng.uniform(-100, 100), 3)
    if kind < 0.5:
        return rng.choice([True, False, None])
    if kind < 0.7:
        return {random_string(rng): random_json(rng, depth + 1)
                for _ in range(rng.randint(0, 3))}
    return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def printable_ranges():
    """Non-ASCII code points Python 3.10 prints raw, as 'start-end' hex ranges, one per line."""
    lines, start = [], None
    for cp in range(0x80, 0x110001):
        printable = cp <= 0x10FFFF and not 0xD800 <= cp <= 0xDFFF and chr(cp).isprintable()
        if printable and start is None:
            start = cp
        elif not printable and start is not None:
            lines.append("%x-%x" % (start, cp - 1))
            start = None
    return "\n".join(lines)


def pyrepr_cases():
    rng = random.Random(13_000)
    strings = [random_string(rng) for _ in range(250)]
    patterns = []
    for _ in range(60):
        events = [[rng.choice(strings) for _ in range(rng.randint(1, 4))]
                  for _ in range(rng.randint(1, 4))]
        patterns.append({"events": events, "repr": repr(events), "sha1": sha1(repr(events))})
    floats = [random_float(rng) for _ in range(300)]
    values = []
    for _ in range(80):
        value = random_json(rng)
        text = json.dumps(value, allow_nan=False) if _json_ok(value) else None
        if text is not None:
            values.append({"json": text, "str": str(json.loads(text))})
    ranges = printable_ranges()
    return {
        "strings": [{"s": s, "repr": repr(s)} for s in strings],
        "patterns": patterns,
        "floats": [repr(x) for x in floats],
        "json": values,
        "printable_ranges_sha1": sha1(ranges),
        "printable_ranges_count": ranges.count("\n") + 1,
    }


def _json_ok(value):
    try:
        json.dumps(value, allow_nan=False)
        return True
    except ValueError:
        return False


def main():
    meta = {
        "python": sys.version.split()[0],
        "unicodedata": unicodedata.unidata_version,
        "numpy": np.__version__,
    }
    with open(HERE + "/numpy_golden.json", "w") as f:
        f.write('{"generator": %s,\n"cases": [\n' % json.dumps(meta))
        f.write(",\n".join(json.dumps(case) for case in numpy_cases()))
        f.write("\n]}\n")
    with open(HERE + "/pyrepr_golden.json", "w") as f:
        json.dump({"generator": meta, **pyrepr_cases()}, f, indent=0, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()

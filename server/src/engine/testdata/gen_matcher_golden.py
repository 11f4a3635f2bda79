"""Regenerates fuzz_ratio_golden.json, lcs_golden.json and difflib_golden.json (golden data for
the unit tests of engine::matcher, ALGORITHM.md §4.3/§4.4).

Needs rapidfuzz (pip install rapidfuzz; the tables were made with the version recorded in each
file) and CPython's difflib:
    python3 gen_matcher_golden.py
The output depends only on the fixed seeds below. The Rust tests never run Python.
"""
import difflib, json, random, struct, sys
import rapidfuzz
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq

def bits(x: float) -> str:
    return struct.pack('>d', x).hex()

# ---- fuzz.ratio on strings ---------------------------------------------------------
rng = random.Random(20240611)
ALPHABETS = [
    "ab", "abc", "aab", "abcdefghij", "token123 _", "ab ",
    "aéü€ñ", "日本語テキスト", "😀😃🎉ab", "αβγδ ab", "Zz09!?",
    "".join(chr(c) for c in range(0x20, 0x7f)),
]
def rand_unicode_char():
    while True:
        c = rng.randrange(0x20, 0x30000)
        if 0xD800 <= c <= 0xDFFF:
            continue
        return chr(c)

def rand_str(maxlen):
    n = rng.randint(0, maxlen)
    kind = rng.random()
    if kind < 0.08:
        return rng.choice(["a", "b", "ab"]) * rng.randint(0, maxlen // 2 + 1)
    if kind < 0.15:
        return "".join(rand_unicode_char() for _ in range(n))
    alpha = rng.choice(ALPHABETS)
    return "".join(rng.choice(alpha) for _ in range(n))

def length_cap():
    r = rng.random()
    if r < 0.55:
        return 12
    if r < 0.80:
        return 64
    if r < 0.95:
        return 140
    return 300

rows = [["", ""], ["", "a"], ["a", ""], ["a", "a"], ["token1 token2 token3 token4", "token1 token2 token3"],
        ["apple banana cherry", "apple banana"], ["a" * 64, "a" * 63], ["a" * 65, "a" * 64 + "b"],
        ["ab" * 70, "ba" * 70], ["é" * 70, "e" * 70 + "é"]]
while len(rows) < 2000:
    a = rand_str(length_cap())
    if rng.random() < 0.3 and a:
        # a mutated copy: many shared characters, exercises long LCS values
        b = list(a)
        for _ in range(rng.randint(0, max(1, len(b) // 4))):
            op = rng.random()
            pos = rng.randrange(0, len(b) + 1)
            if op < 0.4 and b and pos < len(b):
                del b[pos]
            elif op < 0.7:
                b.insert(pos, rng.choice(a))
            elif b and pos < len(b):
                b[pos] = rng.choice(ALPHABETS[rng.randrange(len(ALPHABETS))])
        b = "".join(b)
    else:
        b = rand_str(length_cap())
    rows.append([a, b])

fuzz_rows = []
for a, b in rows:
    r = fuzz.ratio(a, b)
    lcs = LCSseq.similarity(a, b)
    L = len(a) + len(b)
    spec = 100.0 if L == 0 else (1.0 - (L - 2 * lcs) / L) * 100.0
    assert spec == r, (a, b, r, spec)  # §4.3 formula is RapidFuzz's, bit for bit
    fuzz_rows.append({"a": a, "b": b, "lcs": lcs, "ratio": repr(r), "bits": bits(r)})

# ---- token LCS + §4.3 token similarity -------------------------------------------------
rng = random.Random(7)
lcs_rows = []
for n in range(1200):
    alpha = "abcdefghijklmnopqrstuvwxyz"[: rng.choice([1, 2, 3, 4, 6, 10, 26])]
    cap = rng.choice([0, 3, 10, 30, 64, 65, 100, 200])
    la, lb = rng.randint(0, cap), rng.randint(0, cap)
    a = [rng.choice(alpha) for _ in range(la)]
    b = [rng.choice(alpha) for _ in range(lb)]
    lcs = LCSseq.similarity(a, b)
    total = la + lb
    # upstream _lcs_ratio_scorer (score, 0..100) then score / 100.0 (ALGORITHM.md §4.3)
    sim = ((2.0 * lcs / total * 100.0) / 100.0) if total > 0 else 0.0
    lcs_rows.append({"a": "".join(a), "b": "".join(b), "lcs": lcs, "similarity": repr(sim),
                     "bits": bits(sim), "rapidfuzz_ratio_bits": bits(fuzz.ratio(a, b) / 100.0)})

# ---- difflib matching blocks -------------------------------------------------------------
rng = random.Random(4242)
dl_rows = []
for n in range(1200):
    alpha = "abcdefgh"[: rng.choice([1, 2, 2, 3, 3, 4, 5, 8])]
    la, lb = rng.randint(0, 40), rng.randint(0, 40)
    a = "".join(rng.choice(alpha) for _ in range(la))
    b = "".join(rng.choice(alpha) for _ in range(lb))
    sm = difflib.SequenceMatcher(None, list(a), list(b), autojunk=False)
    blocks = [list(m) for m in sm.get_matching_blocks()[:-1]]
    longest = list(sm.find_longest_match(0, la, 0, lb))
    # a random window too
    alo = rng.randint(0, la); ahi = rng.randint(alo, la)
    blo = rng.randint(0, lb); bhi = rng.randint(blo, lb)
    window = [alo, ahi, blo, bhi, list(sm.find_longest_match(alo, ahi, blo, bhi))]
    dl_rows.append({"a": a, "b": b, "blocks": blocks, "longest": longest, "window": window})

meta = {"python": sys.version.split()[0], "rapidfuzz": rapidfuzz.__version__}
out = sys.argv[1] if len(sys.argv) > 1 else (__file__.rsplit("/", 1)[0] if "/" in __file__ else ".")
def dump(name, rows, doc):
    with open(f"{out}/{name}", "w", encoding="utf-8") as f:
        json.dump({"generator": "gen_matcher_golden.py", "doc": doc, **meta, "rows": rows},
                  f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
dump("fuzz_ratio_golden.json", fuzz_rows,
     "rapidfuzz.fuzz.ratio(a, b) on str; bits = IEEE-754 big-endian hex of the f64; lcs = LCSseq.similarity")
dump("lcs_golden.json", lcs_rows,
     "token lists (one char = one token); lcs = LCSseq.similarity(a, b); similarity = (2.0*lcs/(la+lb)*100.0)/100.0 "
     "(ALGORITHM.md 4.3, 0.0 when la+lb == 0); rapidfuzz_ratio_bits = fuzz.ratio(list_a, list_b)/100 for reference only")
dump("difflib_golden.json", dl_rows,
     "difflib.SequenceMatcher(None, list(a), list(b), autojunk=False): blocks = get_matching_blocks() minus sentinel; "
     "longest = find_longest_match(0, la, 0, lb); window = [alo, ahi, blo, bhi, find_longest_match(alo, ahi, blo, bhi)]")
print(len(fuzz_rows), len(lcs_rows), len(dl_rows))

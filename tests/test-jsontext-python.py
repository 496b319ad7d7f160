#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Differential test: jsontext's verdicts against Python's json (strict UTF-8, no NaN/Infinity) and json-c's.

Every document of the unit table, exhaustive short strings, generated valid JSON and random mutations of it go
to tests/jsontext-verdict. jsontext must agree with Python on every document nested less than 100 deep (Python's
recursion), and whatever jsontext accepts json-c (strict, UTF-8 validated) must accept too. How many documents
json-c accepts that jsontext refuses is printed, not judged: we are stricter on purpose.
"""

import json
import os
import random
import struct
import subprocess
import sys

VERDICT = os.environ.get("JSONTEXT_VERDICT", "tests/jsontext-verdict")
SEED = int(os.environ.get("JSONTEXT_SEED", "8259"))
PYTHON_DEPTH = 100

if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(0)


def refuse_constant(name):
    raise ValueError("not JSON: " + name)


def python_refusal(doc):
    """None if Python takes the document, else why not (without the position)."""
    try:
        text = doc.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid UTF-8"
    try:
        json.loads(text, parse_constant=refuse_constant, parse_int=str, parse_float=str)
    except json.JSONDecodeError as e:
        return e.msg
    except (ValueError, RecursionError) as e:
        return str(e)
    return None


def nesting(doc):
    """The deepest bracket nesting outside strings (an estimate for invalid documents)."""
    depth = deepest = 0
    in_string = escaped = False
    for c in doc:
        if in_string:
            if escaped:
                escaped = False
            elif c == 0x5c:
                escaped = True
            elif c == 0x22:
                in_string = False
        elif c == 0x22:
            in_string = True
        elif c in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in b"]}":
            depth -= 1
    return deepest


# --- generated valid JSON ---------------------------------------------------

SPECIAL_CHARS = ["\u00e9", "\u20ac", "\U0001f600", "\U0010ffff", "\uffff", "\u0080", "\u07ff", "\u0800",
                 "\ud7ff", "\ue000", "\u2028", "\ufeff", "\x7f", "/", "'"]
SHORT_ESCAPES = ["\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t"]


def ws(rng):
    return "".join(rng.choice(" \t\n\r") for _ in range(rng.choice([0, 0, 0, 1, 2])))


def hex4(rng, value):
    h = "%04x" % value
    return "".join(c.upper() if rng.random() < 0.5 else c for c in h)


def gen_string(rng):
    out = []
    for _ in range(rng.randrange(0, 12)):
        r = rng.random()
        if r < 0.5:
            out.append(chr(rng.randrange(0x20, 0x7f)).replace("\\", "\\\\").replace("\"", "\\\""))
        elif r < 0.65:
            out.append(rng.choice(SPECIAL_CHARS))
        elif r < 0.8:
            out.append(rng.choice(SHORT_ESCAPES))
        elif r < 0.9:
            out.append("\\u" + hex4(rng, rng.choice([0, 0x1f, 0x69, 0xe9, 0x20ac, 0xffff, rng.randrange(0x10000)])))
        elif r < 0.95:
            out.append("\\u" + hex4(rng, 0xd83d) + "\\u" + hex4(rng, 0xde00))
        else:
            out.append("\\u" + hex4(rng, rng.randrange(0xd800, 0xe000)))
    return "\"" + "".join(out) + "\""


def digits(rng, n, first_nonzero=False):
    s = "".join(rng.choice("0123456789") for _ in range(n))
    if first_nonzero and s:
        s = rng.choice("123456789") + s[1:]
    return s


def gen_number(rng):
    s = rng.choice(["", "", "-"])
    s += "0" if rng.random() < 0.2 else digits(rng, rng.choice([1, 1, 2, 5, 19, 20, 40]), True)
    if rng.random() < 0.3:
        s += "." + digits(rng, rng.choice([1, 2, 17, 30]))
    if rng.random() < 0.3:
        s += rng.choice("eE") + rng.choice(["", "+", "-"]) + digits(rng, rng.choice([1, 2, 3, 4]))
    return s


def gen_value(rng, depth):
    kind = rng.choice(["object", "array", "string", "number", "literal"] if depth < 5
                      else ["string", "number", "literal"])
    if kind == "object":
        members = [ws(rng) + gen_string(rng) + ws(rng) + ":" + ws(rng) + gen_value(rng, depth + 1) + ws(rng)
                   for _ in range(rng.randrange(0, 5))]
        return "{" + (",".join(members) if members else ws(rng)) + "}"
    if kind == "array":
        items = [ws(rng) + gen_value(rng, depth + 1) + ws(rng) for _ in range(rng.randrange(0, 5))]
        return "[" + (",".join(items) if items else ws(rng)) + "]"
    if kind == "string":
        return gen_string(rng)
    if kind == "number":
        return gen_number(rng)
    return rng.choice(["true", "false", "null"])


def gen_python(rng, depth=0):
    """A Python value for json.dumps, for its own formatting choices."""
    r = rng.random()
    if depth < 4 and r < 0.25:
        return {gen_text(rng): gen_python(rng, depth + 1) for _ in range(rng.randrange(0, 4))}
    if depth < 4 and r < 0.45:
        return [gen_python(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    if r < 0.7:
        return gen_text(rng)
    if r < 0.8:
        return rng.randrange(-10**30, 10**30)
    if r < 0.9:
        return rng.uniform(-1e300, 1e300)
    return rng.choice([True, False, None])


def gen_text(rng):
    return "".join(rng.choice(["a", "Z", " ", "\"", "\\", "\n", "\x00", "\x1f", "\x7f"] + SPECIAL_CHARS)
                   for _ in range(rng.randrange(0, 8)))


def gen_valid(rng):
    if rng.random() < 0.7:
        return (ws(rng) + gen_value(rng, 0) + ws(rng)).encode("utf-8")
    return json.dumps(gen_python(rng), ensure_ascii=rng.random() < 0.5,
                      indent=rng.choice([None, 0, 2, "\t"])).encode("utf-8")


# --- mutations --------------------------------------------------------------

INTERESTING = b"{}[]:,\"\\ \t\n\rtfnul0123456789-+.eE'/*#xX\x00\x01\x0b\x0c\x1f\x7f\x80\xbf\xc0\xc1\xc2\xdf\xe0" \
              b"\xed\xef\xf0\xf4\xf5\xff"
TOKENS = [b"/*", b"*/", b"//", b"#", b"NaN", b"Infinity", b"-Infinity", b",", b",]", b",}", b"'", b"\\", b"\\u12",
          b"\\x41", b"\\U0041", b"0", b"00", b".", b"e", b"+", b"-", b"0x", b"\x00", b"\t", b"\f", b"\v",
          b"\xef\xbb\xbf", b"\xc2\xa0", b"true", b"nul", b"[", b"{", b"]", b"}", b"\"", b":", b"{}", b"[]"]
UTF8_JUNK = [b"\x80", b"\xbf", b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80", b"\xe0\x9f\xbf", b"\xed\xa0\x80",
             b"\xed\xbf\xbf", b"\xf0\x80\x80\x80", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf5\x80\x80\x80",
             b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xc3\xa9",
             b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xf4\x8f\xbf\xbf", b"\xef\xbf\xbf", b"\xed\x9f\xbf"]


def mutate(rng, doc):
    b = bytearray(doc)
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        pos = rng.randrange(len(b) + 1)
        op = rng.randrange(8)
        if op == 0 and b:
            b[min(pos, len(b) - 1)] = rng.choice(INTERESTING) if rng.random() < 0.8 else rng.randrange(256)
        elif op == 1:
            b[pos:pos] = bytes([rng.choice(INTERESTING)])
        elif op == 2:
            b[pos:pos] = rng.choice(TOKENS)
        elif op == 3 and b:
            del b[pos:pos + rng.choice([1, 1, 2, 4])]
        elif op == 4:
            del b[pos:]
        elif op == 5:
            b[pos:pos] = rng.choice(UTF8_JUNK)
        elif op == 6 and b:
            start = rng.randrange(len(b))
            b[pos:pos] = b[start:start + rng.randrange(1, 8)]
        elif op == 7 and b:
            quotes = [i for i, c in enumerate(b) if c == 0x22]
            if quotes:
                b[rng.choice(quotes)] = 0x27
    return bytes(b)


# --- the run ----------------------------------------------------------------

def unit_cases():
    out = subprocess.run([VERDICT, "--cases"], check=True, stdout=subprocess.PIPE).stdout
    docs, pos = [], 0
    while pos < len(out):
        (n,) = struct.unpack(">I", out[pos:pos + 4])
        docs.append(out[pos + 4:pos + 4 + n])
        pos += 4 + n
    return docs


def exhaustive():
    """Every byte alone and inside a string, every byte pair inside a string, three-byte sequences."""
    docs = [bytes([x]) for x in range(256)]
    docs += [b"\"" + bytes([x, y]) + b"\"" for x in range(256) for y in range(256)]
    conts = list(range(0x70, 0xc8, 3)) + [0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0]
    docs += [b"\"" + bytes([x, y, z]) + b"\"" for x in range(0xe0, 0xf8) for y in conts for z in conts]
    docs += [b"\"" + bytes([x, y, 0x80, z]) + b"\"" for x in (0xf0, 0xf4) for y in conts for z in conts]
    docs += [b"\"\\" + bytes([x]) + b"\"" for x in range(256)]
    docs += [b"\"\\u" + bytes([x]) + b"000\"" for x in range(256)]
    docs += [b"[" * n + b"]" * n for n in (98, 99, 100, 127, 128, 129, 200)]
    docs += [b"{\"a\":" * n + b"0" + b"}" * n for n in (98, 99, 127, 128, 129)]
    return docs


def verdicts(docs):
    stream = b"".join(struct.pack(">I", len(d)) + d for d in docs)
    out = subprocess.run([VERDICT, "-"], input=stream, check=True, stdout=subprocess.PIPE).stdout
    lines = out.decode().splitlines()
    if len(lines) != len(docs):
        sys.exit("jsontext-verdict answered %d lines for %d documents" % (len(lines), len(docs)))
    return [tuple(v == "valid" for v in line.split()) for line in lines]


def main():
    if not os.access(VERDICT, os.X_OK):
        print("no %s (build it with make check)" % VERDICT)
        return 99
    rng = random.Random(SEED)
    table = unit_cases()
    valid = [gen_valid(rng) for _ in range(1500)]
    mutated = [mutate(rng, rng.choice(valid + table)) for _ in range(5000)]
    docs = table + exhaustive() + valid + mutated

    failures, compared, skipped, lenient, accepted, reasons = 0, 0, 0, [], 0, {}
    for doc, (ours, jsonc) in zip(docs, verdicts(docs)):
        accepted += ours
        if ours and not jsonc:
            failures += 1
            print("FAIL jsontext accepts what json-c refuses: %r" % doc)
        if jsonc and not ours:
            lenient.append(doc)
        if nesting(doc) >= PYTHON_DEPTH:
            skipped += 1
            continue
        compared += 1
        refusal = python_refusal(doc)
        python = refusal is None
        if jsonc and not ours:
            reasons[refusal] = reasons.get(refusal, 0) + 1
        if python != ours:
            failures += 1
            print("FAIL jsontext says %s, Python %s: %r" % (
                "valid" if ours else "invalid", "valid" if python else "invalid", doc))
    print("seed %d: %d documents (%d of the unit table, %d generated valid, %d mutated), %d accepted" % (
        SEED, len(docs), len(table), len(valid), len(mutated), accepted))
    print("%d compared with Python, %d skipped as nested %d or deeper" % (compared, skipped, PYTHON_DEPTH))
    print("json-c accepts %d documents jsontext refuses; Python's reasons to refuse them:" % len(lenient))
    for reason, count in sorted(reasons.items(), key=lambda item: -item[1]):
        print("  %6d  %s" % (count, reason))
    print("the shortest:", " ".join(repr(doc) for doc in sorted(set(lenient), key=len)[:16]))
    print("%d disagreements" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""Bad policy text never makes the parser crash.

Corpus policies are mutated (tokens dropped or doubled, brackets unbalanced,
escapes broken, integers pushed out of range, bytes made invalid UTF-8) with a
fixed seed.  Every mutant must either parse — and then cedarpy must accept it
too, with the same AST — or raise CedarError with located diagnostics, in
which case cedarpy must reject it as well.  No other exception is allowed.
"""

from __future__ import annotations

import random
import re

import pytest

from cedarscope.lang.diagnostics import CedarError
from cedarscope.lang.parser import MAX_DEPTH, load_policies, parse_expr, parse_policies

try:
    from tests.test_parser_corpus import cedar_est, corpus_policy_texts, est_policy
except ImportError:  # pytest importing tests/ as a rootless folder
    from test_parser_corpus import cedar_est, corpus_policy_texts, est_policy

cedarpy = pytest.importorskip("cedarpy", reason="cedarpy (the official Cedar engine) is not installed")

SEED = 1126
MUTANTS_PER_KIND = 60

# A rough Cedar tokenizer, only to pick what to mutate.
_TOKEN = re.compile(
    r'"(?:[^"\\]|\\[^\n])*"|//[^\n\r]*|[_a-zA-Z][_a-zA-Z0-9]*|\?[_a-zA-Z]+|[0-9]+'
    r"|==|!=|<=|>=|&&|\|\||::|\S")


def sample_texts(rng: random.Random, n_tar: int = 150) -> list[tuple[str, str]]:
    """The corpus's own .cedar files and `n_tar` of the corpus-tests policies."""
    texts = corpus_policy_texts()
    files = [t for t in texts if not t[0].startswith("corpus-tests/")]
    generated = [t for t in texts if t[0].startswith("corpus-tests/")]
    chosen = files + rng.sample(generated, min(n_tar, len(generated)))
    return [(name, text) for name, text in chosen if text.strip()]


def tokens(text: str) -> list[re.Match]:
    return [m for m in _TOKEN.finditer(text) if not m.group().startswith("//")]


def splice(text: str, start: int, end: int, new: str) -> str:
    return text[:start] + new + text[end:]


# Each mutation takes (rng, text) and returns a mutant, or None when the text
# offers nothing to mutate.

def drop_token(rng, text):
    toks = tokens(text)
    if not toks:
        return None
    m = rng.choice(toks)
    return splice(text, m.start(), m.end(), "")


def double_token(rng, text):
    toks = tokens(text)
    if not toks:
        return None
    m = rng.choice(toks)
    return splice(text, m.start(), m.end(), m.group() + " " + m.group())


def unbalance_bracket(rng, text):
    brackets = [m for m in tokens(text) if m.group() in "()[]{}"]
    if not brackets:
        return None
    m = rng.choice(brackets)
    if rng.random() < 0.5:
        return splice(text, m.start(), m.end(), "")
    return splice(text, m.start(), m.start(), rng.choice("()[]{}"))


def break_escape(rng, text):
    strings = [m for m in tokens(text) if m.group().startswith('"')]
    if not strings:
        return None
    m = rng.choice(strings)
    bad = rng.choice([r"\q", r"\x80", r"\u{110000}", r"\u{D800}", r"\u{}", "\\", r"\*", "\r",
                      r"\u{1F600}", r"\x41", r"\'"])
    cut = m.start() + 1 + rng.randrange(len(m.group()) - 1)
    return splice(text, cut, cut, bad)


def integer_out_of_range(rng, text):
    ints = [m for m in tokens(text) if m.group().isdigit()]
    big = rng.choice(["9223372036854775807", "9223372036854775808", "-9223372036854775808",
                      "18446744073709551616", "9" * 30, "0009223372036854775808"])
    if ints:
        m = rng.choice(ints)
        return splice(text, m.start(), m.end(), big)
    conds = [m for m in tokens(text) if m.group() == "{"]
    if not conds:
        return None
    m = rng.choice(conds)
    return splice(text, m.end(), m.end(), f" {big} == {big} && ")


def random_bytes_as_text(rng, text):
    cut = rng.randrange(len(text) + 1)
    junk = "".join(chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0x80, 0x3000),
                                   rng.randrange(0, 0x20)])) for _ in range(rng.randint(1, 4)))
    return splice(text, cut, cut, junk)


MUTATIONS = [drop_token, double_token, unbalance_bracket, break_escape, integer_out_of_range,
             random_bytes_as_text]


def check_against_cedarpy(text: str, name: str) -> str:
    """'accepted' or 'rejected', asserting we agree with cedarpy."""
    try:
        official = cedar_est(text)
    except ValueError:
        official = None
    try:
        ours = parse_policies(text, name)
    except CedarError as e:
        assert e.diagnostics, name
        for d in e.diagnostics:
            assert d.file == name and d.line is not None and d.column is not None, d
            assert d.line >= 1 and d.column >= 1, d
        assert official is None, f"{name}: we reject what cedarpy accepts:\n{e.format()}"
        return "rejected"
    assert official is not None, f"{name}: we accept what cedarpy rejects:\n{text}"
    assert [est_policy(p) for _, p in ours.policies] == official, name
    return "accepted"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda f: f.__name__)
def test_mutants_parse_or_fail_with_located_errors(mutation):
    rng = random.Random(f"{SEED}-{mutation.__name__}")
    texts = sample_texts(rng)
    verdicts = {"accepted": 0, "rejected": 0}
    made = 0
    while made < MUTANTS_PER_KIND:
        name, text = rng.choice(texts)
        mutant = mutation(rng, text)
        if mutant is None:
            continue
        made += 1
        verdicts[check_against_cedarpy(mutant, f"{name}~{mutation.__name__}{made}")] += 1
    print(f"\n{mutation.__name__}: {made} mutants, {verdicts['accepted']} accepted and "
          f"{verdicts['rejected']} rejected, as cedarpy does")
    assert verdicts["rejected"] > 0


def test_invalid_utf8_is_located(tmp_path):
    rng = random.Random(SEED)
    texts = sample_texts(rng, n_tar=20)
    for i in range(40):
        name, text = rng.choice(texts)
        data = text.encode("utf-8")
        # Cut only between characters, so the prefix itself is valid.
        cuts = [j for j in range(len(data) + 1) if j == len(data) or (data[j] & 0xC0) != 0x80]
        cut = rng.choice(cuts)
        bad = rng.choice([b"\xff", b"\xc0\xaf", b"\x80", b"\xe2\x82", b"\xed\xa0\x80", b"\xf8"])
        f = tmp_path / f"m{i}.cedar"
        f.write_bytes(data[:cut] + bad + data[cut:])
        with pytest.raises(CedarError) as info:
            load_policies([f])
        d = info.value.diagnostics[0]
        prefix = data[:cut].decode("utf-8")
        assert (d.file, d.line) == (str(f), prefix.count("\n") + 1)
        assert d.column == len(prefix) - (prefix.rfind("\n") + 1) + 1
        assert "invalid UTF-8" in d.message


def test_empty_and_blank_files(tmp_path):
    for text in ["", "\n\n", "   \t", "// nothing here\n"]:
        assert cedar_est(text) == []
        assert parse_policies(text).policies == ()
    (tmp_path / "empty.cedar").write_bytes(b"")
    assert load_policies([tmp_path]).policies == ()


DEEP_AND_HUGE = {
    "10k-parentheses": "(" * 10_000 + "true" + ")" * 10_000,
    "10k-unclosed-parentheses": "(" * 10_000 + "true",
    "10k-nested-sets": "[" * 10_000 + "]" * 10_000,
    "10k-not": "!!!!(" * 2_500 + "true" + ")" * 2_500,
    "10k-minus": "-" * 10_000 + "1",
    "10k-plus-chain": " + ".join(["1"] * 10_000),
    "10k-and-chain": " && ".join(["true"] * 10_000),
    "10k-nested-if": "if true then " * 10_000 + "1" + " else 2" * 10_000,
    "10k-attribute-chain": "principal" + ".a" * 10_000,
    "10k-nested-records": "{a: " * 10_000 + "1" + "}" * 10_000,
    "1M-string": '"' + "x" * 1_000_000 + '"',
    "1M-identifier": "principal.a" + "b" * 1_000_000,
    "100k-digit-integer": "1" * 100_000,
}


@pytest.mark.parametrize("body", list(DEEP_AND_HUGE.values()), ids=list(DEEP_AND_HUGE))
def test_deep_and_huge_expressions(body):
    """Never a RecursionError: either an AST or a located CedarError
    (cedarpy is not asked: the official parser overflows its stack here)."""
    text = f"permit(principal, action, resource) when {{ {body} }};"
    try:
        parse_policies(text, "deep.cedar")
    except CedarError as e:
        assert all(d.line == 1 and d.column is not None for d in e.diagnostics)
    try:
        parse_expr(body)
    except CedarError as e:
        assert all(d.line == 1 and d.column is not None for d in e.diagnostics)


def test_nesting_beyond_the_limit_is_rejected():
    with pytest.raises(CedarError) as info:
        parse_expr("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    assert "nested too deeply" in info.value.diagnostics[0].message


def test_huge_files():
    rng = random.Random(SEED)
    many = "".join(f'@id("p{i}") permit(principal == User::"u{i}", action, resource) '
                   f'when {{ context.level > {i} }};\n' for i in range(10_000))
    assert len(parse_policies(many).policies) == 10_000
    garbage = "".join(chr(rng.randrange(0x20, 0x7f)) for _ in range(200_000))
    with pytest.raises(CedarError) as info:
        parse_policies(garbage, "garbage.cedar")
    assert all(d.line is not None for d in info.value.diagnostics)
    unclosed = "permit(principal, action, resource) when { [" * 5_000
    with pytest.raises(CedarError):
        parse_policies(unclosed)

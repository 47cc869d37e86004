"""Policy parsing throughput: our parser against the official one (cedarpy).

The workload is every policy in ../shared/corpus: all `.cedar` files and the
policy files inside integration-tests/corpus-tests.tar.gz (files cedarpy
rejects are left out of both sides), plus one synthetic file of 10,000
policies, the size an audit must handle.  Each side parses the same texts in
the same run; the figure is policies per CPU second, best of `repeats` passes.

    python -m bench.bench_parse            # full
    python -m bench.bench_parse --quick    # a tenth of the corpus, one pass
"""

from __future__ import annotations

import sys
import tarfile
import time
from pathlib import Path

from cedarscope.lang.parser import parse_policies

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TARBALL = CORPUS / "integration-tests" / "corpus-tests.tar.gz"


def corpus_texts(quick: bool) -> list[str]:
    if not CORPUS.is_dir():
        raise SystemExit(f"../shared/corpus not present: {CORPUS}")
    texts = [f.read_bytes().decode("utf-8") for f in sorted(CORPUS.rglob("*.cedar")) if f.is_file()]
    with tarfile.open(TARBALL) as tar:
        members = sorted((m for m in tar.getmembers() if m.name.endswith(".cedar")),
                         key=lambda m: m.name)
        if quick:
            members = members[::10]
        texts += [tar.extractfile(m).read().decode("utf-8") for m in members]
    return texts


def synthetic_policies(n: int) -> str:
    """`n` policies of the usual shapes: scopes, attributes, sets, extension calls."""
    shapes = [
        'permit(principal == User::"u{i}", action == Action::"view", resource in Folder::"f{i}");',
        'forbid(principal, action in [Action::"edit", Action::"delete"], resource is Doc)\n'
        '  when {{ resource.owner != principal && context.level > {i} }};',
        '@id("p{i}")\npermit(principal in Group::"g{i}", action, resource)\n'
        '  when {{ principal has dept && principal.dept == resource.dept }}\n'
        '  unless {{ context.ip.isInRange(ip("10.{m}.0.0/16")) || resource.tags.contains("x{i}") }};',
        'permit(principal is User in ?principal, action, resource)\n'
        '  when {{ decimal("{m}.5").lessThan(principal.score) && principal.name like "a*{i}" }};',
    ]
    return "\n".join(shapes[i % len(shapes)].format(i=i, m=i % 256) for i in range(n))


def _best_time(fn, texts: list[str], repeats: int) -> float:
    """CPU seconds of this process (both parsers run in it), so that other
    work on a shared machine does not skew the comparison."""
    best = float("inf")
    for _ in range(repeats):
        start = time.process_time()
        for t in texts:
            fn(t)
        best = min(best, time.process_time() - start)
    return best


def _cedarpy_parser():
    try:
        import cedarpy
    except ImportError:
        return None
    if hasattr(cedarpy, "PolicySet") and hasattr(cedarpy.PolicySet, "from_str"):
        return cedarpy.PolicySet.from_str
    return cedarpy.policies_to_json_str


def _rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def measure(quick: bool = False) -> dict:
    """Policies per second for our parser and cedarpy on the corpus and on a
    synthetic 10,000-policy file (2,000 in quick mode)."""
    official = _cedarpy_parser()
    texts = corpus_texts(quick)
    if official is not None:
        def accepted_by_cedarpy(t: str) -> bool:
            try:
                official(t)
                return True
            except ValueError:
                return False
        texts = [t for t in texts if accepted_by_cedarpy(t)]
    n_policies = sum(len(parse_policies(t).policies) for t in texts)
    synthetic_n = 2_000 if quick else 10_000
    synthetic = [synthetic_policies(synthetic_n)]
    repeats = 1 if quick else 3

    result: dict = {
        "files": len(texts),
        "policies": n_policies,
        "synthetic_policies": synthetic_n,
        "repeats": repeats,
    }
    ours = _best_time(parse_policies, texts, repeats)
    ours_synthetic = _best_time(parse_policies, synthetic, repeats)
    result["ours_policies_per_second"] = _rate(n_policies, ours)
    result["ours_synthetic_policies_per_second"] = _rate(synthetic_n, ours_synthetic)
    if official is not None:
        theirs = _best_time(official, texts, repeats)
        theirs_synthetic = _best_time(official, synthetic, repeats)
        result["cedarpy_parser"] = f"cedarpy.{getattr(official, '__qualname__', official.__name__)}"
        result["cedarpy_policies_per_second"] = _rate(n_policies, theirs)
        result["cedarpy_synthetic_policies_per_second"] = _rate(synthetic_n, theirs_synthetic)
    # The figures as `python -m bench` tabulates them.
    result["baseline"] = result.get("cedarpy_parser", "cedarpy not installed")
    result["rows"] = [
        {"name": f"corpus ({len(texts)} files, {n_policies} policies)",
         "ours": result["ours_policies_per_second"],
         "baseline": result.get("cedarpy_policies_per_second"), "unit": "policies/s"},
        {"name": f"one file of {synthetic_n:,} policies",
         "ours": result["ours_synthetic_policies_per_second"],
         "baseline": result.get("cedarpy_synthetic_policies_per_second"), "unit": "policies/s"},
    ]
    return result


def main(argv: list[str]) -> None:
    result = measure(quick="--quick" in argv)
    figures = {k: v for k, v in result.items() if k != "rows"}
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        print(f"{key:<{width}}  {value}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""`access` on every cedar-examples application, checked with cedarpy.

For each application (bench.bench_queries.APPS) and the bundled example:
the levels found, and how many requests cedarpy decided in agreement with
them (each example of the report and 50 perturbations of it, and the
application's own ALLOW/DENY requests), with every disagreement.

    python -m tests.access_apps

prints one line per application and exits 1 on any disagreement.
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from cedarscope.analyzer.cli import cli
from cedarscope.lang.schema import load_schema
from tests.support.corpus import CORPUS
from tests.test_access import EXAMPLES, check_with_cedarpy


def measure(name: str, policies: Path, schema_file: Path, folder: Path | None) -> list[str]:
    started = time.perf_counter()
    result = CliRunner().invoke(cli, ["access", str(policies), "-s", str(schema_file), "-f", "json"])
    seconds = time.perf_counter() - started
    if result.exit_code not in (0, 3):
        print(f"{name}: exit {result.exit_code}: {result.output.strip()[:300]}")
        return [f"{name}: exit {result.exit_code}"]
    report = json.loads(result.output)
    own = []
    if folder is not None:
        entities = json.loads(next(folder.glob("*entities.json")).read_text())
        own = [(json.loads(p.read_text()), entities)
               for d in ("ALLOW", "DENY") for p in sorted((folder / d).glob("*.json"))]
    decided, wrong = check_with_cedarpy(report, load_schema(schema_file), schema_file.read_text(),
                                        policies.read_text(), own)
    levels = Counter(r["access"] for r in report["environments"])
    sometimes = [r for r in report["environments"] if r["access"] == "sometimes"]
    described = sum(1 for r in sometimes if r["description"])
    structural = sum(1 for r in sometimes if r["description_form"] == "structural")
    print(f"{name}: {len(report['environments'])} environments "
          f"({', '.join(f'{n} {lv}' for lv, n in sorted(levels.items()))}); "
          f"{described}/{len(sometimes)} sometimes described ({structural} structural); "
          f"{decided} requests decided by cedarpy ({len(own)} of the app's own), {len(wrong)} disagreements; "
          f"{seconds:.1f}s wall", flush=True)
    for w in wrong[:3]:
        print("   DISAGREEMENT", w[:600])
    return wrong


def main() -> int:
    from bench.bench_queries import APPS, app_files

    wrong = measure("bundled example", EXAMPLES / "policies.cedar", EXAMPLES / "schema.cedarschema", None)
    if not CORPUS.exists():
        print(f"the corpus is not at {CORPUS}: set CEDARSCOPE_CORPUS")
        return 1 if wrong else 0
    for name in sorted(APPS):
        folder = CORPUS / APPS[name]
        policies, schema_file = app_files(folder)
        wrong += measure(name, policies, schema_file, folder if (folder / "ALLOW").exists() else None)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())

"""Planted bugs: does the test suite catch realistic mistakes? (issue 23)

    python scripts/mutants.py              # every mutant, each against the tests that should catch it
    python scripts/mutants.py --only tile-overlap pts-shift

Each mutant is one small, plausible change to the code (an off-by-one tile margin, a dropped
audio packet, a shifted timestamp, a state skipped on resume, the wrong colour matrix, a metric
on RGB instead of Y ...) and the test files that should fail because of it. The script copies the
working tree to a temporary folder, plants one mutant at a time there, runs those tests (``-x``,
stopping at the first failure) and reports CAUGHT or MISSED; the working tree is never touched.
A MISSED mutant is a hole in the suite: write the test that catches it. TESTING.md lists them.
Exit code: the number of missed mutants.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mutant_list import MUTANTS, Mutant

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("vsrgan", "tests", "configs", "scripts", "pyproject.toml", "ARCHITECTURE.md")




def plant(tree: Path, mutant: Mutant) -> str:
    """Apply ``mutant`` in ``tree``; return the file's original text."""
    path = tree / mutant.file
    text = path.read_text()
    if text.count(mutant.old) != 1:
        raise SystemExit(f"mutant {mutant.name}: its code no longer occurs exactly once in {mutant.file}; update scripts/mutant_list.py")
    path.write_text(text.replace(mutant.old, mutant.new))
    return text


def run_tests(tree: Path, tests: tuple[str, ...]) -> bool:
    """True if the tests fail (the mutant is caught)."""
    env = {**os.environ, "PYTHONPATH": str(tree), "VSRGAN_SAMPLES": str(ROOT / "data" / "samples")}
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests], cwd=tree, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return done.returncode != 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME", help="run only these mutants")
    args = parser.parse_args()
    if unknown := set(args.only or ()) - {m.name for m in MUTANTS}:
        raise SystemExit(f"no mutant named {', '.join(sorted(unknown))}; see scripts/mutant_list.py")
    chosen = [m for m in MUTANTS if args.only is None or m.name in args.only]
    missed = 0
    with tempfile.TemporaryDirectory(prefix="vsrgan-mutants.") as folder:
        tree = Path(folder)
        for name in COPIED:
            source = ROOT / name
            (shutil.copytree if source.is_dir() else shutil.copy2)(source, tree / name)
        files = tuple(sorted({t for m in chosen for t in m.tests}))
        if run_tests(tree, files):
            raise SystemExit(f"{' '.join(files)} fail without any mutant; fix them first")
        for mutant in chosen:
            start = time.monotonic()
            original = plant(tree, mutant)
            try:
                caught = run_tests(tree, mutant.tests)
            finally:
                (tree / mutant.file).write_text(original)
            missed += not caught
            print(f"{'CAUGHT' if caught else 'MISSED'}  {mutant.name:22s} {mutant.area:11s} {time.monotonic() - start:5.0f} s  {mutant.why}", flush=True)
    print(f"{len(chosen) - missed} of {len(chosen)} caught")
    return missed


if __name__ == "__main__":
    sys.exit(main())

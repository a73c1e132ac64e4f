#!/usr/bin/env bash
# The README's second command (and what CI runs): set up with test tools, fetch the real clips,
# run the whole test suite on the CPU.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bash scripts/setup.sh test
. .venv/bin/activate
bash scripts/data/fetch_samples.sh >/dev/null
ruff check vsrgan tests scripts
python -m pytest -q "$@"

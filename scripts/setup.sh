#!/usr/bin/env bash
# Make .venv with vsrgan and everything it needs. `scripts/setup.sh test` adds the test tools
# (pytest, scikit-image, Playwright, and Debian's Chromium for the HTML report test).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -x .venv/bin/python ] || python3 -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
# torch first, pinned: 2.13.0 is the local CPU build here; pyproject's range then installs nothing more.
python -m pip install -q "torch==2.13.0" 2>&1 | grep -v '^WARNING: Location' || true
if [ "${1:-}" = "test" ]; then
  python -m pip install -q -e ".[train,eval,test]" 2>&1 | grep -v '^WARNING: Location' || true
  if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
      || echo "setup: could not install chromium; the browser test will be skipped"
  fi
else
  python -m pip install -q -e ".[train,eval]" 2>&1 | grep -v '^WARNING: Location' || true
fi
python -c "import torch, av, vsrgan; print(f'setup: vsrgan {vsrgan.__version__}, torch {torch.__version__}, PyAV {av.__version__}')"

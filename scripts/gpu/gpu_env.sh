# Sourced by the scripts that run on the lent GPU machine (bench_gpu.sh, check_gpu.sh,
# bench_cluster_gpu.sh), from the repository root with $python set. That machine has PyTorch but
# no PyAV and no Ray: they travel in .whl/ (scripts/gpu/pack_wheels.sh packs both; BENCHMARKS.md
# says how to fetch PyAV's wheel alone) and are unpacked into /tmp/site, skipped where `import av`
# already works, as on a developer's machine. vsrgan comes from this checkout.
if ! "$python" -c "import av" 2>/dev/null && compgen -G ".whl/*.tar.xz" >/dev/null; then
    mkdir -p /tmp/site
    for pack in .whl/*.tar.xz; do tar -xJf "$pack" -C /tmp/site; done
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
if ! "$python" -c "import av" 2>/dev/null; then
    if ! compgen -G ".whl/av-*.whl" >/dev/null; then
        echo "$(basename "$0"): PyAV is not installed and .whl/ holds no av wheel; BENCHMARKS.md says how to fetch it" >&2
        exit 1
    fi
    "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}  # vsrgan from this checkout, installed or not
export PYTHONUNBUFFERED=1

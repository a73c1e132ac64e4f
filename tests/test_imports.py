"""Training must import where PyAV is missing (the GPU machine has none)."""

import subprocess
import sys


def test_training_imports_without_pyav():
    code = (
        "import sys; sys.modules['av'] = None\n"  # any 'import av' now raises ImportError
        "import vsrgan.training.loop, vsrgan.dataset.crops, vsrgan.training.losses, vsrgan.models, vsrgan.inference.upscaler, vsrgan.metrics\n"
        "from vsrgan import train, Upscaler\n"
        "from vsrgan.io.video import probe\n"
        "from vsrgan.errors import VideoError\n"
        "try:\n"
        "    probe('x.mp4')\n"
        "except VideoError as e:\n"
        "    assert 'PyAV is not installed' in str(e)\n"
        "else:\n"
        "    raise SystemExit('probe ran without PyAV')\n"
        "print('ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

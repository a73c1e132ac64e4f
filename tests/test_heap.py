"""vsrgan.inference.heap: a CPU Upscaler keeps freed activations in the heap, so frames after the first
fault no pages in; VSRGAN_HEAP=system leaves malloc as it is. Counted in a fresh process each,
since the setting is process-wide."""

import json
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the heap setting is glibc's")

# Two 3x3 convolutions over 32 channels at 960x540: 66 MB a feature map, above glibc's largest
# mmap threshold (32 MB), so without the setting every call maps and faults in fresh pages.
CHILD = """
import json, resource, torch
from torch import nn
from vsrgan.inference import heap
from vsrgan.inference.upscaler import Upscaler

class Net(nn.Module):
    scale, receptive_radius = 1, 2
    def __init__(self):
        super().__init__()
        self.a, self.b, self.c = nn.Conv2d(3, 32, 3, padding=1), nn.Conv2d(32, 32, 3, padding=1), nn.Conv2d(32, 3, 3, padding=1)
    def forward(self, x):
        return self.c(self.b(self.a(x)))

torch.set_num_threads(1)
up = Upscaler(Net(), device="cpu")
x = torch.rand(1, 3, 540, 960)
for _ in range(2):
    up(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
up(x)
print(json.dumps({"reusing": heap.reusing(), "faults": resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before}))
"""

PAGES_PER_MAP = 960 * 540 * 32 * 4 // 4096  # one feature map, in 4 KB pages


def faults(heap_setting: str) -> dict:
    env = {**os.environ, "VSRGAN_HEAP": heap_setting}
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cpu_upscaler_reuses_freed_memory():
    reuse = faults("reuse")
    assert reuse["reusing"]
    assert reuse["faults"] < PAGES_PER_MAP / 2  # the third frame finds its pages in the heap


def test_vsrgan_heap_system_leaves_malloc_alone():
    system = faults("system")
    assert not system["reusing"]
    assert system["faults"] > 2 * PAGES_PER_MAP  # each large feature map mapped and faulted in anew

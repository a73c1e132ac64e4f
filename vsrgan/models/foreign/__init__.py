"""Other projects' networks, so that the weights people already have run here: ESRGAN and
Real-ESRGAN's RRDBNet (:mod:`.rrdb`), Real-ESRGAN's SRVGGNetCompact (:mod:`.srvgg`) and BasicSR's
MSRResNet (:mod:`.msrresnet`), each written from its published definition; :mod:`.detect` tells
them apart by the keys and shapes of a state dict and reads their hyper-parameters.

Each network has ``scale`` and ``receptive_radius`` as ours do, so it runs under the same
Upscaler contract (tiling, batching, precisions), and ``arch`` and ``hparams``, which with its
state dict rebuild it (:func:`build`): what a cluster task receives.
"""

from .detect import ARCHS, KNOWN, SUFFIXES, Detected, build, detect, is_foreign, load_foreign, read_weights
from .msrresnet import MSRResNet
from .rrdb import RRDBNet
from .srvgg import SRVGGNetCompact

__all__ = ["ARCHS", "KNOWN", "SUFFIXES", "Detected", "MSRResNet", "RRDBNet", "SRVGGNetCompact", "build", "detect",
           "is_foreign", "load_foreign", "read_weights"]

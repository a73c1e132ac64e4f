"""Other projects' networks, so that the weights people already have run here: ESRGAN and
Real-ESRGAN's RRDBNet (:mod:`.rrdb`), Real-ESRGAN's SRVGGNetCompact (:mod:`.srvgg`) and BasicSR's
MSRResNet (:mod:`.msrresnet`), each written from its published definition; :mod:`.detect` tells
them apart by the keys and shapes of a state dict and reads their hyper-parameters.

Each network has ``scale`` and ``receptive_radius`` as ours do, so it runs under the same
Upscaler contract (tiling, batching, precisions), and ``arch`` and ``hparams``, which with its
state dict rebuild it (:func:`build`): what a cluster task receives. ncnn's ``.param``/``.bin``
pairs of the same networks (Real-ESRGAN's, as realesrgan-ncnn-vulkan ships them) convert to these
modules too (:mod:`.ncnn`, reading the files with :mod:`.ncnn_files`).
"""

from .detect import ARCHS, KNOWN, SUFFIXES, Detected, build, detect, is_foreign, load_foreign, read_object, read_weights
from .msrresnet import MSRResNet
from .ncnn import load_ncnn
from .rrdb import RRDBNet
from .srvgg import SRVGGNetCompact

__all__ = ["ARCHS", "KNOWN", "SUFFIXES", "Detected", "MSRResNet", "RRDBNet", "SRVGGNetCompact", "build", "detect",
           "is_foreign", "load_foreign", "load_ncnn", "read_object", "read_weights"]

"""Running a model on frames: the one inference contract and what makes it fast and safe.

``upscaler`` holds :class:`Upscaler` (float ``(N, 3, H, W)`` in ``[0, 1]`` in, the same ``scale``
times larger out; padding, precision, clamping) and ``ModelOptions``, what a job runs a model
with; ``backends`` runs it in eager PyTorch, ``torch.compile``, ONNX Runtime or OpenVINO;
``tiling`` cuts large frames into overlapping tiles with the model's receptive radius, so tiled
equals untiled; ``memory`` and ``heap`` size batches and tiles to the memory there is; ``threads``
shares one thread budget between model, encoder and decoder; ``device`` picks CUDA, MPS or the CPU
and the autocast type; ``pipeline`` overlaps decoding, the model and encoding in threads joined
by bounded queues; ``export`` writes ONNX.
"""

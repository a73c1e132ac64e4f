"""One video upscaled in keyframe segments by Ray tasks, then joined without re-encoding (:mod:`.run`)."""

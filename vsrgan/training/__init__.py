"""``vsrgan train``: config, losses, one GAN step, checkpoints, validation, the loss curve and the loop."""

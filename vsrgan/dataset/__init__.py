"""Making and reading training data: the manifest format, degradations, ``vsrgan prepare``, crop sampling."""

"""Command-line apps built on the library: ``explore`` is ``deepsee explore`` (a model on a folder of
one's own face images)."""

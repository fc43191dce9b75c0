"""SHA-256 of every file of the shipped showcase models (pretrained/showcase/<name>/...).

Written by ``deepsee.showcase.export_run``; ``deepsee.showcase.verify_model`` checks the files
against it before any use. Do not edit by hand."""

FILES: dict[str, dict[str, str]] = {
}

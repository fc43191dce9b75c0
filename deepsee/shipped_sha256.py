"""SHA-256 of every file of the shipped showcase models (pretrained/showcase/<name>/...).

Written by ``deepsee.showcase.export_run``; ``deepsee.showcase.verify_model`` checks the files
against it before any use. Do not edit by hand."""

FILES: dict[str, dict[str, str]] = {
    'independent': {
        'config.yaml': '66122c6b53475364f0d5ad68705b26ad6e7f0f314c8cd35da79d1ea510566bf5',
        'model/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'model/model.safetensors': '63e9ae346249597bc8b723c31f793aae8bc3ef449de2d36af20921a3dfbd1d58',
        'run_info.json': '4a9664cdc15d74e058d5de1a3b4df9866d47a57916899d76118f59e8f09a214e',
        'snapshots/step_00000500/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00000500/model.safetensors': '32d8781fc66253831b98d837693d759d755efb82daaa4846ae592f9f7b4111ff',
        'snapshots/step_00001000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00001000/model.safetensors': 'a375535c5378fb4f3d3d3677cbaf8a260da0f923ce4c91a1b7baaf88bc6a2b8c',
        'snapshots/step_00002000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00002000/model.safetensors': 'da07324c071e4fe25f982309509abd56fdfbab76b17f6e899875c5a7d61e7000',
        'stats.jsonl': '8a8c7e6f25f895d0700c59187a7a08d52a222e801cedc88829d0ec0f6b73e767',
    },
    'segmenter': {
        'class_weights.json': '67441c4a8baa6e71747508baf6f7f5028758554864138505dd6bd4acb196979b',
        'config.yaml': 'aed91c1199dd96047d511471a884858c92139b916f5a7a2454985f87cde37e8a',
        'model.safetensors': '13ea1024927b2b15fef3d3537afde8aa5a9bfd1547dab1e84aae48c71454ccc8',
        'run_info.json': 'ca9beefda69860c171c3eb0b05e019c58b0aa42e10c33424369d71b67ddd2a7b',
        'segmenter.json': '9276238ee025ab8360573bc6670c3b7a95279399ec1869e607c212dd9442af87',
        'stats.jsonl': 'b69da2b05a2fcb0edff4564a5f7080a4301c6fc2dc6d9ee2b7aa8a7cb7f28588',
    },
}

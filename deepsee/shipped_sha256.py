"""SHA-256 of every file of the shipped showcase models (pretrained/showcase/<name>/...).

Written by ``deepsee.showcase.export_run``; ``deepsee.showcase.verify_model`` checks the files
against it before any use. Do not edit by hand."""

FILES: dict[str, dict[str, str]] = {
    'guided': {
        'config.yaml': '94749c59cce8dd5f4da47de1a208c0b9920689c110bb01d929a23c46aeed04b5',
        'model/config.json': '9effc1351116d359cff9efe87a099cac14b41497bd0f25183086538ff1651554',
        'model/model.safetensors': '27ac110991486c8f2fd6bf5c53f3d30e461c1edead7da306c4768f29624d21d4',
        'run_info.json': '0ad8d0d4135a7a4ffb3bce7feadddd40deacff1ba75d510004299ec1c8371fd4',
        'stats.jsonl': '2868ba5e542639e18efc5beaa80255b0995ee666826868a583a287032473d576',
    },
    'independent': {
        'config.yaml': '66122c6b53475364f0d5ad68705b26ad6e7f0f314c8cd35da79d1ea510566bf5',
        'model/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'model/model.safetensors': '9484ec523f0a8ca8bb6d7a77b9f35483d42d3cabfac9495af67e30bb4b5940ff',
        'run_info.json': '30b7742ba1c256ad8cfcf199364aafa5871da2205b8a4af3b6060e195ce8557b',
        'snapshots/step_00000500/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00000500/model.safetensors': '32d8781fc66253831b98d837693d759d755efb82daaa4846ae592f9f7b4111ff',
        'snapshots/step_00001000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00001000/model.safetensors': 'a375535c5378fb4f3d3d3677cbaf8a260da0f923ce4c91a1b7baaf88bc6a2b8c',
        'snapshots/step_00002000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00002000/model.safetensors': 'da07324c071e4fe25f982309509abd56fdfbab76b17f6e899875c5a7d61e7000',
        'snapshots/step_00003000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00003000/model.safetensors': '63e9ae346249597bc8b723c31f793aae8bc3ef449de2d36af20921a3dfbd1d58',
        'snapshots/step_00005000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00005000/model.safetensors': '3d26aa6855afabff14c8805fe16f7d5c82739e26968aea92ded02571fa923a32',
        'snapshots/step_00008000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00008000/model.safetensors': '6dfdd2f41061815d9939234ed7524b8d75b6e5f2ff300bb5bff93698fd985d42',
        'stats.jsonl': '1e0fa09fae01d70b26f974d508e9eaae2b300e58b4712e60d83757155c54a395',
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

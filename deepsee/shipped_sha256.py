"""SHA-256 of every file of the shipped showcase models (pretrained/showcase/<name>/...).

Written by ``deepsee.showcase.export_run``; ``deepsee.showcase.verify_model`` checks the files
against it before any use. Do not edit by hand."""

FILES: dict[str, dict[str, str]] = {
    'guided': {
        'config.yaml': '94749c59cce8dd5f4da47de1a208c0b9920689c110bb01d929a23c46aeed04b5',
        'model/config.json': '9effc1351116d359cff9efe87a099cac14b41497bd0f25183086538ff1651554',
        'model/model.safetensors': '52f762b683e69c99e7477723d10508f2be8b15c453caba543995bd5719015ae6',
        'run_info.json': '514490f4f4585e2b05c1a377b6ce3324d46a7c0132db933398f8b83f94950925',
        'stats.jsonl': 'fb24a320bb255a9f77e2f7e4c1d3751e9e14752475e275e85a612289b6e29bc8',
    },
    'independent': {
        'config.yaml': '66122c6b53475364f0d5ad68705b26ad6e7f0f314c8cd35da79d1ea510566bf5',
        'model/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'model/model.safetensors': 'd1a5baafd796e8b7f5a4bfc8ef966bac4a2abbf3c95a01089a89133a2c106f5e',
        'run_info.json': '16bc2a4bf2f805c383f28a2c10918380dbb9a68da8f30efe0056835494f6fd00',
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
        'snapshots/step_00012000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00012000/model.safetensors': '2067c373a914d171f3ba9e44dc2c0e68c3feba8fdc2692bb00593b914fb3eb39',
        'snapshots/step_00016000/config.json': 'f0c721e0eecef4f668ac0ddd505add3c3deea2207e5e3ceda64d7222286bdd21',
        'snapshots/step_00016000/model.safetensors': 'dd6e47f1219f77f80d7b721f075c1c67d5ac9cbca62b9117de597c3930185ef9',
        'stats.jsonl': 'c0b7c772de81a8f430829de81c7e880470b218ed488087d3e89ffae4b8a73e71',
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

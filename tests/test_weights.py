"""deepsee.weights: registry, checksums, verified downloads (file:// and loopback http), error messages."""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import threading

import pytest

from deepsee import weights
from deepsee.weights import MissingWeightsError, WeightsChecksumError

PAYLOAD = b"stand-in weights " * 1000


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty torch hub dir; 'alexnet' expects the SHA-256 prefix of PAYLOAD."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("DEEPSEE_WEIGHTS", str(tmp_path / "userweights"))
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], sha256=digest[:8]))
    src = tmp_path / "src" / "alexnet-owt-7be5be79.pth"
    src.parent.mkdir()
    src.write_bytes(PAYLOAD)
    return tmp_path, src


def test_registry_entries_follow_torchvision_names():
    r = weights.REGISTRY
    assert r["vgg19"].filename == "vgg19-dcbb9e9d.pth" and r["vgg19"].sha256 == "dcbb9e9d"
    assert r["vgg19"].url == "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth"
    assert r["alexnet"].filename == "alexnet-owt-7be5be79.pth" and r["alexnet"].sha256 == "7be5be79"
    from pytorch_fid.inception import FID_WEIGHTS_URL
    assert r["inception_fid"].url == FID_WEIGHTS_URL
    assert r["inception_fid"].filename == "pt_inception-2015-12-05-6726825d.pth"


def test_cache_dir_follows_torch_home(hub):
    tmp, _ = hub
    assert weights.REGISTRY["vgg19"].path == tmp / "torch" / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"


def test_require_missing_names_file_path_and_command(hub):
    tmp, _ = hub
    with pytest.raises(MissingWeightsError) as e:
        weights.require("inception_fid")
    msg = str(e.value)
    assert "pt_inception-2015-12-05-6726825d.pth" in msg
    assert str(tmp / "torch" / "hub" / "checkpoints") in msg
    assert "deepsee weights fetch inception_fid" in msg
    assert "https://github.com/mseitzer/pytorch-fid/releases" in msg
    assert isinstance(e.value, RuntimeError)


def test_fetch_from_file_url_then_require(hub):
    tmp, src = hub
    path = weights.fetch("alexnet", url=src.as_uri(), progress=False)
    assert path == weights.REGISTRY["alexnet"].path and path.read_bytes() == PAYLOAD
    assert weights.require("alexnet") == path
    assert weights.verify("alexnet")
    row = {r["name"]: r for r in weights.status()}["alexnet"]
    assert row["present"] and row["ok"] and row["size"] == len(PAYLOAD)
    assert row["sha256_actual"].startswith(row["sha256_expected"])
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]   # no temporary files left


def test_fetch_from_loopback_http(hub):
    tmp, src = hub
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(src.parent))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{src.name}"
        path = weights.fetch("alexnet", url=url, progress=False)
    finally:
        server.shutdown()
        server.server_close()
    assert path.read_bytes() == PAYLOAD


def test_checksum_mismatch_is_rejected_and_leaves_nothing(hub, monkeypatch):
    tmp, src = hub
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], sha256="00000000"))
    with pytest.raises(WeightsChecksumError, match="nothing was written"):
        weights.fetch("alexnet", url=src.as_uri(), progress=False)
    ckpt = weights.REGISTRY["alexnet"].path.parent
    assert not ckpt.exists() or list(ckpt.iterdir()) == []


def test_full_sha256_entries_are_checked(hub, monkeypatch):
    tmp, src = hub
    full = hashlib.sha256(PAYLOAD).hexdigest()
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], sha256=full))
    weights.fetch("alexnet", url=src.as_uri(), progress=False)
    assert weights.verify("alexnet")
    bad = full[:-1] + ("0" if full[-1] != "0" else "1")   # differs only in the last hex digit
    monkeypatch.setitem(weights.REGISTRY, "alexnet",
                        dataclasses.replace(weights.REGISTRY["alexnet"], sha256=bad))
    assert not weights.verify("alexnet")


def test_corrupt_cached_file_is_reported(hub):
    tmp, _ = hub
    p = weights.REGISTRY["alexnet"].path
    p.parent.mkdir(parents=True)
    p.write_bytes(b"truncated")
    with pytest.raises(WeightsChecksumError, match="--force"):
        weights.require("alexnet")
    with pytest.raises(WeightsChecksumError):
        weights.fetch("alexnet", url="file:///nonexistent", progress=False)   # not replaced without force
    assert p.read_bytes() == b"truncated"


def test_force_replaces_a_corrupt_file(hub):
    tmp, src = hub
    p = weights.REGISTRY["alexnet"].path
    p.parent.mkdir(parents=True)
    p.write_bytes(b"truncated")
    weights.fetch("alexnet", url=src.as_uri(), force=True, progress=False)
    assert p.read_bytes() == PAYLOAD


def test_plain_http_to_remote_hosts_is_refused(hub):
    with pytest.raises(ValueError, match="https"):
        weights.fetch("alexnet", url="http://example.com/alexnet.pth", progress=False)


def test_user_entries_are_status_only(hub):
    tmp, _ = hub
    with pytest.raises(MissingWeightsError, match="segmenter"):
        weights.require("segmenter")
    with pytest.raises(MissingWeightsError, match="cannot be fetched"):
        weights.fetch("segmenter")
    d = tmp / "userweights" / "segmenter"
    d.mkdir(parents=True)
    (d / "model.safetensors").write_bytes(b"x" * 10)
    assert weights.require("segmenter") == d
    row = {r["name"]: r for r in weights.status()}["segmenter"]
    assert row["present"] and row["ok"] and row["size"] == 10


def test_status_lists_every_entry(hub):
    """Every registry entry (none present in the empty cache), then the shipped showcase models."""
    from deepsee.apps.weights import status_rows
    rows = status_rows()
    shipped = [r for r in rows if r["kind"] == "shipped"]
    assert [r["name"] for r in rows if r["kind"] != "shipped"] == list(weights.REGISTRY)
    assert [r["name"] for r in weights.status()] == list(weights.REGISTRY)     # the registry alone
    assert [r["name"] for r in shipped] == ["showcase_segmenter", "showcase_independent", "showcase_guided",
                                            "showcase_judge", "showcase_scenes-segmenter", "showcase_scenes-independent",
                                            "showcase_independent-32x", "showcase_prior_only", "showcase_lr_style_only",
                                            "showcase_hr_style_only", "showcase_semantics_only"]
    for r in rows:
        assert set(r) >= {"name", "purpose", "path", "size", "sha256_expected", "sha256_actual", "present", "ok"}
        assert r["kind"] == "shipped" or not r["present"]


def test_unknown_name():
    with pytest.raises(KeyError, match="registered"):
        weights.require("resnet9000")


def test_cli_fetch_and_status(hub, capsys):
    from deepsee.cli import main
    tmp, src = hub
    assert main(["weights", "fetch", "alexnet", "--url", src.as_uri()]) == 0
    assert main(["weights", "status"]) == 0
    out = capsys.readouterr().out
    line = [ln for ln in out.splitlines() if ln.startswith("alexnet ")][0]
    assert " ok " in line
    assert "missing" in [ln for ln in out.splitlines() if ln.startswith("vgg19 ")][0]
    assert main(["weights", "fetch", "alexnet", "vgg19", "--url", src.as_uri()]) == 1   # --url needs one name

"""``deepsee weights status|fetch``: every pretrained weight file the kit can use (:mod:`deepsee.weights`) and the
models shipped in ``pretrained/showcase`` (:mod:`deepsee.showcase`, verified file by file), in one list."""
from __future__ import annotations

import json

from ..showcase import status_rows as shipped_rows
from ..weights import REGISTRY, fetch, status


def status_rows() -> list[dict]:
    """The weight registry's rows (:func:`deepsee.weights.status`), then the shipped showcase models'."""
    return status() + shipped_rows()


def register(sub) -> None:
    w = sub.add_parser("weights", help="status and download of pretrained weight files")
    wsub = w.add_subparsers(dest="weights_command", metavar="ACTION")
    s = wsub.add_parser("status", help="list every weight file the kit can use and whether it is present")
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=_weights_status)
    f = wsub.add_parser("fetch", help="download weight files into torch's checkpoint cache (verified)")
    f.add_argument("names", nargs="*", help="registry names (default: every downloadable entry)")
    f.add_argument("--url", default=None, help="alternative URL (mirror or file://), only with one name")
    f.add_argument("--force", action="store_true", help="replace an existing file")
    f.set_defaults(func=_weights_fetch)
    w.set_defaults(func=lambda args: (w.print_help(), 2)[1])


def _weights_status(args) -> int:
    rows = status_rows()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    w = max(24, *(len(r["name"]) for r in rows))
    print(f"{'name':<{w}} {'state':<11} {'size':>10}  {'sha256 (expected)':<18} path")
    for r in rows:
        state = "ok" if r["ok"] else ("BAD HASH" if r["present"] else "missing")
        if r["kind"] == "shipped":
            state = "verified" if r["ok"] else (state if r.get("files") else "not shipped")   # none registered yet
        size = f"{r['size'] / 2**20:.1f} MiB" if r["size"] else "-"
        expected = r["sha256_expected"] or ("(shipped)" if r["kind"] == "shipped" else "(user)")
        print(f"{r['name']:<{w}} {state:<11} {size:>10}  {expected:<18} {r['path']}")
        if r.get("trained_on"):
            print(f"{'':<{w}} trained on: {r['trained_on']}")
    return 0


def _weights_fetch(args) -> int:
    names = args.names or [n for n, e in REGISTRY.items() if e.kind == "torch_hub"]
    if args.url and len(names) != 1:
        raise ValueError("--url needs exactly one weights name")
    for name in names:
        path = fetch(name, url=args.url, force=args.force)
        print(f"{name}: {path}")
    return 0

"""Render colorcore's nginx configuration: the two snippets a lab's nginx includes, or a standalone file.

Usage::

    python deploy/render_nginx.py --base-path /colorcore --htpasswd /etc/nginx/colorcore.htpasswd \
        --replica 127.0.0.1:8501 [--replica HOST:PORT ...] --out-dir DIR [--standalone PORT --prefix DIR]

Writes ``DIR/colorcore-http.conf`` (upstream and maps, for nginx's ``http { }``) and
``DIR/colorcore-location.conf`` (the location with sign-in, for your site's ``server { }``); with
``--standalone PORT`` also ``DIR/nginx.conf``, a complete configuration listening on 127.0.0.1:PORT
with its pid, logs and temporary files under ``--prefix`` (what ``deploy/run.sh`` starts).  Each rendering
draws a new random token per replica for the affinity cookie (the cookie never holds a replica's address;
re-rendering sends every browser to a replica chosen afresh).
"""
from __future__ import annotations

import argparse
import re
import secrets
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
_REPLICA = re.compile(r"^[A-Za-z0-9.-]+:[0-9]{1,5}$")
_BASE = re.compile(r"^(/[A-Za-z0-9._-]+)+$")

STANDALONE = """\
# Standalone nginx for colorcore (deploy/run.sh); the lab's own nginx includes the two snippets instead.
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {out}/colorcore-http.conf;
    server {{
        listen {host}:{port};
        include {out}/colorcore-location.conf;
    }}
}}
"""


def render(template: str, values: dict[str, str]) -> str:
    """Replace every ``@NAME@`` in ``template``; an unknown placeholder is an error."""
    def sub(match: re.Match) -> str:
        if match.group(1) not in values:
            raise ValueError(f"no value for placeholder @{match.group(1)}@")
        return values[match.group(1)]

    return re.sub(r"@([A-Z_]+)@", sub, template)


def snippet_values(base_path: str, htpasswd: Path, replicas: list[str], max_body_mb: int) -> dict[str, str]:
    """Placeholder values, checked (a bad value would otherwise become a broken or unsafe nginx file)."""
    if not _BASE.match(base_path):
        raise ValueError(f"--base-path must look like /colorcore (letters, digits, . _ -), got {base_path!r}")
    if not replicas or not all(_REPLICA.match(r) for r in replicas):
        raise ValueError(f"--replica must be HOST:PORT, got {replicas!r}")
    if not htpasswd.is_file():
        raise ValueError(f"--htpasswd {htpasswd} is not a file (make one with: htpasswd -c FILE USER)")
    tokens = {replica: secrets.token_hex(16) for replica in replicas}  # the affinity cookie's values
    return {"BASE_PATH": base_path, "HTPASSWD": str(htpasswd.resolve()), "MAX_BODY_MB": str(max_body_mb),
            "UPSTREAM_SERVERS": "\n".join(f"    server {r};" for r in replicas),
            "BACKEND_MAP": "\n".join(f'    "{token}" {r};' for r, token in tokens.items()),
            "TOKEN_MAP": "\n".join(f'    "{r}" {token};' for r, token in tokens.items())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-path", required=True)
    parser.add_argument("--htpasswd", required=True, type=Path)
    parser.add_argument("--replica", action="append", required=True, help="HOST:PORT of a Streamlit process")
    parser.add_argument("--max-body-mb", type=int, default=200)
    parser.add_argument("--out-dir", required=True, type=Path)
    parser.add_argument("--standalone", type=int, metavar="PORT", help="also write a complete nginx.conf")
    parser.add_argument("--host", default="127.0.0.1", help="address the standalone nginx listens on")
    parser.add_argument("--prefix", type=Path, help="folder for the standalone nginx's pid, logs, temp files")
    parser.add_argument("--user", default="", help="standalone: nginx 'user' line for worker processes")
    args = parser.parse_args(argv)
    try:
        values = snippet_values(args.base_path.rstrip("/") or "/", args.htpasswd, args.replica, args.max_body_mb)
    except ValueError as err:
        print(f"render_nginx: error: {err}", file=sys.stderr)
        return 2
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name in ("colorcore-http.conf", "colorcore-location.conf"):
        (args.out_dir / name).write_text(render((HERE / "nginx" / name).read_text(), values))
    if args.standalone:
        prefix = (args.prefix or args.out_dir).resolve()
        (args.out_dir / "nginx.conf").write_text(STANDALONE.format(
            prefix=prefix, out=args.out_dir.resolve(), host=args.host, port=args.standalone,
            user=f"user {args.user};" if args.user else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``secplane lab exec | list``: work inside the lab network of ``serve --dataplane netns``; and the two
helpers ``serve`` uses to offer ``--dataplane``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from secplane.config import Settings

log = logging.getLogger("secplane.dataplane")

DATAPLANES = ("none", "netns")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lab = sub.add_parser("lab", help="the lab network of `serve --dataplane netns` (Linux, root)")
    tasks = lab.add_subparsers(dest="lab_command", required=True)
    run = tasks.add_parser(
        "exec",
        help="run a command inside a running instance's namespace",
        description="Run CMD inside INSTANCE's network namespace, with SECPLANE_ENDPOINT set to the API "
        "as reached from there (host:port). Example: secplane lab exec i-bp1... -- curl "
        "http://100.100.100.200/latest/meta-data/instance-id",
    )
    run.add_argument("instance", help="the instance id (it must be Running, in a VPC)")
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD [ARG ...]")
    run.set_defaults(func=cmd_lab_exec)
    listing = tasks.add_parser("list", help="the instance namespaces on this host, with their addresses")
    listing.set_defaults(func=cmd_lab_list)


def cmd_lab_exec(args: argparse.Namespace) -> int:
    from secplane.dataplane.lab import LAB_ENDPOINT, find_instance_namespace

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print("secplane lab exec: give the command after --, e.g. `lab exec i-... -- sh`", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("secplane lab exec: entering a namespace needs root", file=sys.stderr)
        return 1
    found = find_instance_namespace(args.instance)
    if not found:
        print(
            f"secplane lab exec: {args.instance} has no namespace on this host: it is not Running, not in "
            "a VPC, or no `secplane serve --dataplane netns` runs here",
            file=sys.stderr,
        )
        return 1
    if len(found) > 1:
        print(f"secplane lab exec: several labs hold {args.instance}: {', '.join(found)}", file=sys.stderr)
        return 1
    env = {**os.environ, "SECPLANE_ENDPOINT": LAB_ENDPOINT}
    sys.stdout.flush()
    os.execvpe("ip", ["ip", "netns", "exec", found[0], *command], env)


def cmd_lab_list(args: argparse.Namespace) -> int:
    from secplane.dataplane import netns
    from secplane.dataplane.lab import PREFIX

    for name in netns.list_netns():
        if not name.startswith(PREFIX) or "-i-" not in name:
            continue
        out = netns.ip("-n", name, "-4", "-o", "addr", "show", "dev", "eth0", check=False).split()
        address = out[out.index("inet") + 1] if "inet" in out else "-"
        print(f"{name.split('-', 2)[2]:<28} {address:<20} {name}")
    return 0


# ---------------------------------------------------------------- for `secplane serve`


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--dataplane",
        choices=DATAPLANES,
        default=os.environ.get("SECPLANE_DATAPLANE", "none"),
        help="netns: run each VPC instance in a network namespace with 100.100.100.200 and the API "
        "reachable (Linux, root); none: API only (env SECPLANE_DATAPLANE, default none)",
    )


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread is, so that the lab is torn down on the way out."""


@contextmanager
def dataplane(mode: str, settings: Settings) -> Iterator[None]:
    """Run what ``--dataplane`` asks for around the API server, and say in the log which mode is active.

    ``netns`` on a host that cannot make namespaces is an error (SystemExit with the reason), never a
    silent fallback. uvicorn re-raises SIGTERM after its graceful shutdown with the handler it found:
    with the default one the process would die before the lab is torn down, so a handler that unwinds
    the stack is installed for as long as the lab runs; the signal is raised again at the end.
    """
    if mode != "netns":
        log.info("dataplane mode: none (no instance namespaces; `--dataplane netns` on Linux as root)")
        yield
        return
    from secplane.dataplane.lab import LabUnavailable, start_lab

    def terminate(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, terminate)
    terminated = False
    lab = None
    try:
        lab = start_lab(settings)
        yield
    except LabUnavailable as err:
        raise SystemExit(f"secplane serve: {err}") from None
    except _Terminated:
        terminated = True
    finally:
        if lab is not None:
            lab.stop()
        signal.signal(signal.SIGTERM, previous)
    if terminated:
        signal.raise_signal(signal.SIGTERM)

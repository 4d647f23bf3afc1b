"""Low-level network-namespace helpers: ``ip`` (iproute2) for the topology, ``setns`` for sockets.

Python 3.11 has no ``os.setns``, so :func:`in_netns` calls libc's ``setns(fd, CLONE_NEWNET)`` from a
short-lived thread: the network namespace is per thread, so the rest of the process stays where it was,
and a socket created in that thread stays in the namespace for good (whichever thread uses it later).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

NETNS_DIR = "/run/netns"
CLONE_NEWNET = 0x40000000

T = TypeVar("T")


class NetnsError(RuntimeError):
    """An ``ip`` command or a namespace switch failed; the message says which and why."""


_libc: ctypes.CDLL | None = None


def _setns() -> Callable[[int, int], int]:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    fn: Callable[[int, int], int] = _libc.setns
    return fn


def ip(*args: str, input: str | None = None, check: bool = True) -> str:
    """Run ``ip ARGS``; its stdout. Failures raise :class:`NetnsError` with ip's own message."""
    proc = subprocess.run(["ip", *args], input=input, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {proc.stderr.strip() or f'exit {proc.returncode}'}")
    return proc.stdout


def ip_batch(netns: str, commands: Iterable[str]) -> None:
    """Several ``ip`` commands inside ``netns`` in one process (``ip -n NS -batch -``)."""
    lines = "\n".join(commands) + "\n"
    ip("-n", netns, "-batch", "-", input=lines)


def list_netns() -> list[str]:
    """Names of the named network namespaces (those ``ip netns add`` made)."""
    try:
        return sorted(os.listdir(NETNS_DIR))
    except FileNotFoundError:
        return []


def exists(name: str) -> bool:
    return os.path.exists(os.path.join(NETNS_DIR, name))


def add(name: str) -> None:
    ip("netns", "add", name)


def pids(name: str) -> list[int]:
    out = ip("netns", "pids", name, check=False)
    return [int(p) for p in out.split() if p.isdigit()]


def delete(name: str) -> None:
    """Remove a namespace for good: processes still inside it (what ``lab exec`` left running) are
    killed first, otherwise they would keep it, and its interfaces, alive after the name is gone."""
    if not exists(name):
        return
    for pid in pids(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc = subprocess.run(["ip", "netns", "delete", name], capture_output=True, text=True, check=False)
    if proc.returncode != 0 and exists(name):
        raise NetnsError(f"ip netns delete {name}: {proc.stderr.strip()}")


def in_netns(name: str, fn: Callable[[], T]) -> T:
    """Call ``fn`` in a fresh thread that has entered namespace ``name``; its result (or exception)."""
    path = os.path.join(NETNS_DIR, name)
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            error.append(NetnsError(f"cannot open namespace {name}: {exc}"))
            return
        try:
            if _setns()(fd, CLONE_NEWNET) != 0:
                err = ctypes.get_errno()
                error.append(NetnsError(f"setns({name}): {os.strerror(err)}"))
                return
            result.append(fn())
        except BaseException as exc:
            error.append(exc)
        finally:
            os.close(fd)

    thread = threading.Thread(target=target, name=f"setns-{name}", daemon=True)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def listen(name: str, host: str, port: int, backlog: int = 128) -> socket.socket:
    """A listening TCP socket bound to ``host:port`` inside namespace ``name`` (non-blocking, ready to
    hand to asyncio or uvicorn)."""

    def make() -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
            sock.listen(backlog)
            sock.setblocking(False)
        except OSError:
            sock.close()
            raise
        return sock

    return in_netns(name, make)


def sysctl(name: str, settings: dict[str, str]) -> None:
    """Write ``/proc/sys`` keys (``net/ipv4/ip_forward`` style) as seen from inside namespace ``name``."""

    def write() -> None:
        for key, value in settings.items():
            with open(f"/proc/sys/{key}", "w") as f:
                f.write(value)

    in_netns(name, write)


def unavailable_reason(probe_name: str) -> str | None:
    """Why this machine cannot run the lab (None when it can): root, iproute2 and a namespace that can
    really be made (containers without CAP_SYS_ADMIN fail only there)."""
    if os.geteuid() != 0:
        return "network namespaces need root (run `secplane serve --dataplane netns` as root)"
    if shutil.which("ip") is None:
        return "the `ip` command (iproute2) is not installed"
    try:
        add(probe_name)
    except NetnsError as exc:
        return f"cannot create a network namespace: {exc}"
    try:
        sysctl(probe_name, {"net/ipv4/ip_forward": "1"})
    except (NetnsError, OSError) as exc:
        return f"cannot enter a network namespace: {exc}"
    finally:
        delete(probe_name)
    return None

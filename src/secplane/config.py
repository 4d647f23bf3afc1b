"""Server settings: flags win over ``SECPLANE_*`` environment variables, which win over defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from secplane.domain.regions import DEFAULT_REGION


@dataclass(frozen=True)
class Settings:
    listen: str = "127.0.0.1:8080"
    data_dir: Path = Path(".secplane")
    database_url: str = ""  # empty: SQLite in the data dir
    workers: int = 1
    region_id: str = DEFAULT_REGION
    threads: int | None = None  # request threads per worker; None: by database (see request_threads)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        values: dict[str, object] = {
            "listen": env.get("SECPLANE_LISTEN", cls.listen),
            "data_dir": Path(env.get("SECPLANE_DATA_DIR", str(cls.data_dir))),
            "database_url": env.get("SECPLANE_DATABASE_URL", ""),
            "workers": int(env.get("SECPLANE_WORKERS", "1")),
            "region_id": env.get("SECPLANE_REGION", DEFAULT_REGION),
            "threads": int(env["SECPLANE_THREADS"]) if env.get("SECPLANE_THREADS") else None,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        values["data_dir"] = Path(str(values["data_dir"])).resolve()
        return cls(**values)  # type: ignore[arg-type]

    @property
    def host(self) -> str:
        return self.listen.rsplit(":", 1)[0].strip("[]") or "127.0.0.1"

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])

    @property
    def endpoint(self) -> str:
        """What an SDK is pointed at (``host:port``); a wildcard listen address is shown as loopback."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"{host}:{self.port}" if ":" not in host else f"[{host}]:{self.port}"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'secplane.db'}"

    @property
    def request_threads(self) -> int:
        """Threads a worker runs requests on; 0: one request at a time on the event loop's thread.

        Handing a request to a thread pool costs more CPU than a typical handler (the GIL passes between
        the event loop and the workers twice per request, and workers contend for it), and SQLite runs one
        writer at a time anyway: on SQLite a worker runs its requests inline, and ``--workers`` scales.
        PostgreSQL calls wait on the network, so there threads overlap those waits.
        """
        if self.threads is not None:
            return self.threads
        return 0 if self.effective_database_url.startswith("sqlite") else 8

    def to_env(self) -> dict[str, str]:
        """The same settings as environment variables, for worker processes."""
        return {
            "SECPLANE_LISTEN": self.listen,
            "SECPLANE_DATA_DIR": str(self.data_dir),
            "SECPLANE_DATABASE_URL": self.effective_database_url,
            "SECPLANE_WORKERS": str(self.workers),
            "SECPLANE_REGION": self.region_id,
            "SECPLANE_THREADS": "" if self.threads is None else str(self.threads),
        }

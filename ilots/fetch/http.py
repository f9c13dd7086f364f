"""HTTP with retries, a download cache and a provenance log.

Every download goes through :class:`Downloader`: a request is keyed by source, URL and
parameters; its body is cached under ``cache_dir/<source>/<key>.<ext>``, written to a temporary
file first and renamed only when complete, so an interrupted run never leaves a corrupt entry.
A rerun finds the entry and makes no request. Each download (or cache hit) is logged with its
URL, time and item id, for the territory manifest.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import ServiceUnavailableError
from ..folders import process_alive
from ..store import write_atomic

__all__ = ["Downloader", "RetryPolicy", "default_cache_dir", "cache_key", "write_atomic", "strip_query"]

RETRY_STATUSES = (429, 500, 502, 503, 504)


def default_cache_dir() -> Path:
    """``$ILOTS_CACHE_DIR``, else ``$XDG_CACHE_HOME/ilots``, else ``~/.cache/ilots``."""
    if os.environ.get("ILOTS_CACHE_DIR"):
        return Path(os.environ["ILOTS_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ilots"


def strip_query(url: str) -> str:
    """The URL without its query string (drops signatures such as SAS tokens)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def cache_key(*parts: object) -> str:
    """A stable 32-hex key for a request (JSON of its parts, keys sorted)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def remove_dead_parts(folder: Path) -> int:
    """Delete temporary files left by downloads whose process died (killed mid-write); return how many."""
    removed = 0
    if not folder.is_dir():
        return 0
    for part in folder.rglob(".*.part-*"):
        m = re.search(r"\.part-(\d+)-", part.name)
        if m and not process_alive(int(m.group(1))):
            part.unlink(missing_ok=True)
            removed += 1
    return removed


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: ``total`` attempts after the first on 429/5xx, only ``connect`` on connection errors."""

    total: int = 4
    connect: int = 1
    backoff_s: float = 1.0
    timeout_s: tuple[float, float] = (10.0, 120.0)

    def retry(self) -> Retry:
        return Retry(
            total=self.total,
            connect=self.connect,
            read=2,
            status=self.total,
            backoff_factor=self.backoff_s,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,
            raise_on_status=False,
            respect_retry_after_header=True,
        )

    def session(self) -> requests.Session:
        session = requests.Session()
        adapter = HTTPAdapter(max_retries=self.retry())
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        session.headers["User-Agent"] = "ilots (https://github.com/ ; îlots de chaleur, données ouvertes)"
        return session


SERVICE_NAMES = {
    "wfs": "le service WFS de la Géoplateforme IGN",
    "stac": "le catalogue STAC (Planetary Computer)",
    "cog": "le stockage des images satellite",
    "mtl": "le stockage des images satellite",
}


def unreachable_message(source: str, url: str, detail: str = "") -> str:
    """One French sentence for a service that cannot be reached, with the offline alternative."""
    host = urlsplit(url).netloc or url
    what = SERVICE_NAMES.get(source, host)
    return (
        f"Impossible de joindre {what} ({host}){' : ' + detail if detail else ''}. Vérifiez la connexion "
        "Internet ou le proxy ; sans réseau, construisez le territoire à partir de fichiers locaux avec "
        "« python -m ilots build » (voir le README)."
    )


@dataclass
class Downloader:
    """Cached, retried HTTP GET/POST returning bytes; logs provenance of every entry used."""

    cache_dir: Path
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    provenance: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.cache_dir = Path(self.cache_dir)
        self._session = self.policy.session()
        remove_dead_parts(self.cache_dir)

    def path_for(self, source: str, key: str, ext: str) -> Path:
        return self.cache_dir / source / f"{key}.{ext}"

    def record(self, source: str, url: str, path: Path, cached: bool, **extra) -> None:
        meta_path = path.with_name(path.name + ".meta.json")
        when = None
        if meta_path.exists():
            try:
                when = json.loads(meta_path.read_text(encoding="utf-8")).get("time")
            except (OSError, ValueError):
                when = None
        self.provenance.append(
            {
                "source": source,
                "url": strip_query(url),
                "time": when,
                "cached": cached,
                "file": str(path),
                **{k: v for k, v in extra.items() if v is not None},
            }
        )

    def write_meta(self, path: Path, url: str, params: dict | None, extra: dict) -> None:
        """Record beside a cache entry where it came from and when (read back for provenance)."""
        meta = {
            "url": strip_query(url),
            "params": params,
            "time": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            **extra,
        }
        write_atomic(
            path.with_name(path.name + ".meta.json"),
            lambda tmp: tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"),
        )

    def fetch(
        self,
        source: str,
        url: str,
        params: dict | None = None,
        *,
        json_body: dict | None = None,
        ext: str = "bin",
        item_id: str | None = None,
        check: Callable[[bytes, str], None] | None = None,
        key_url: str | None = None,
    ) -> Path:
        """The cached file of one request; download it (with retries) if absent.

        ``check(body, content_type)`` may raise to refuse a body (an HTML error page served
        with status 200, say); nothing is cached then. ``key_url`` replaces ``url`` in the cache
        key (a signed URL whose signature changes between runs).
        """
        key = cache_key(source, key_url or url, params, json_body)
        path = self.path_for(source, key, ext)
        if path.exists():
            self.record(source, url, path, cached=True, item_id=item_id)
            return path
        full = url if not params else f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        try:
            if json_body is None:
                resp = self._session.get(full, timeout=self.policy.timeout_s)
            else:
                resp = self._session.post(full, json=json_body, timeout=self.policy.timeout_s)
        except requests.exceptions.RequestException as exc:
            raise ServiceUnavailableError(unreachable_message(source, url, _short(exc))) from exc
        if resp.status_code >= 400:
            raise ServiceUnavailableError(
                f"{SERVICE_NAMES.get(source, urlsplit(url).netloc).capitalize()} a répondu par une erreur "
                f"{resp.status_code} ({_snippet(resp)}) ; réessayez plus tard."
            )
        body = resp.content
        if check is not None:
            check(body, resp.headers.get("Content-Type", ""))
        write_atomic(path, lambda tmp: tmp.write_bytes(body))
        self.write_meta(path, full, params, {"item_id": item_id} if item_id else {})
        self.record(source, url, path, cached=False, item_id=item_id)
        return path


def _short(exc: Exception) -> str:
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "délai de connexion dépassé"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connexion refusée ou adresse introuvable"
    if isinstance(exc, requests.exceptions.Timeout):
        return "délai de réponse dépassé"
    return type(exc).__name__


def _snippet(resp: requests.Response) -> str:
    text = resp.text[:2000] if resp.content else ""
    title = re.search(r"<(?:title|ows:ExceptionText|ExceptionText)[^>]*>\s*([^<]{1,160})", text)
    if title:
        return title.group(1).strip()
    return resp.reason or "sans détail"

"""Downloads the pages offer, served by the explorer's own route (``<base>/api/download/<token>``).

Streamlit's deferred downloads (``st.download_button(data=callable)``) are given a new id on every script
run and dropped when a run ends without drawing them (a rerun, a page that stops early) or when any
session's run collects orphaned files; a click on a button the browser still shows from the run before
then fails with ``Deferred file <id> not found`` and no file arrives (about one click in fifteen in the
soak, with one session alone; docs/reliability.md).  Here a download's token is the same on every run
of the session that draws it (an HMAC of the session and the download's key under a secret drawn when
the server starts), so a button from an earlier run still names a live download; the file is made when
it is fetched.  Tokens cannot be guessed, so one session cannot fetch another's files.

Memory is bounded (a download holds its input and result): a session keeps the downloads its last two
page runs drew (the one a click may still come from, and the one now drawing; at most :data:`PER_SESSION`),
and the downloads of sessions that have ended are dropped (:meth:`Downloads.forget`).
"""
from __future__ import annotations

import hashlib
import hmac
import html
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Hashable

#: Most downloads a session keeps, whatever its runs drew; the oldest are dropped first.
PER_SESSION = 256


@dataclass(frozen=True)
class Download:
    """A file a page offers: ``make()`` gives its bytes when it is fetched; ``key`` names what the file is (the
    input's digest, checkpoint and settings), so a button of an earlier run never fetches another file."""

    make: Callable[[], bytes]
    file_name: str
    mime: str
    key: Hashable


class Downloads:
    """Process-wide registry of the sessions' downloads, by token (thread safe)."""

    def __init__(self, per_session: int = PER_SESSION):
        self.per_session = per_session
        self._secret = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._sessions: dict[str, OrderedDict[str, tuple[int, Download]]] = {}
        self._owner: dict[str, str] = {}

    def token(self, session: str, key: Hashable) -> str:
        """The token of download ``key`` of ``session``: the same on every run, unguessable without the secret."""
        return hmac.new(self._secret, repr((session, key)).encode(), hashlib.sha256).hexdigest()[:40]

    def register(self, session: str, download: Download, run: int) -> str:
        """Offer ``download`` to ``session`` in its page run number ``run`` (the same token on every run); its
        token.  The session's downloads last drawn before run ``run - 1`` are dropped."""
        token = self.token(session, download.key)
        with self._lock:
            mine = self._sessions.setdefault(session, OrderedDict())
            mine[token] = (run, download)
            mine.move_to_end(token)
            self._owner[token] = session
            for old in [t for t, (drawn, _) in mine.items() if drawn < run - 1]:
                del mine[old]
                self._owner.pop(old, None)
            while len(mine) > self.per_session:
                self._owner.pop(mine.popitem(last=False)[0], None)
        return token

    def get(self, token: str) -> Download | None:
        """The download of ``token``; None when it is unknown (never offered, dropped, or the server restarted)."""
        with self._lock:
            session = self._owner.get(token)
            return None if session is None else self._sessions[session][token][1]

    def forget(self, is_active: Callable[[str], bool]) -> None:
        """Drop the downloads of every session for which ``is_active(session)`` is false."""
        with self._lock:
            for session in [s for s in self._sessions if not is_active(s)]:
                for token in self._sessions.pop(session):
                    self._owner.pop(token, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._owner)


def link_html(url: str, download: Download, label: str, tooltip: str = "", primary: bool = False) -> str:
    """An ``<a download>`` link to ``url`` drawn like a Streamlit button (text escaped: names in any script).

    The link is followed in the page itself (no new tab); the browser saves the response under the
    ``Content-Disposition`` name (:func:`colorcore.app.api.content_disposition`) or ``download.file_name``.
    """
    colours = "background:#ff4b4b;color:white;border-color:#ff4b4b" if primary else \
        "background:transparent;color:inherit;border-color:rgba(49,51,63,0.2)"
    style = (f"display:inline-block;padding:0.4rem 0.75rem;border:1px solid;border-radius:0.5rem;"
             f"text-decoration:none;{colours}")
    return (f'<a class="colorcore-download" href="{html.escape(url)}" download="{html.escape(download.file_name)}" '
            f'title="{html.escape(tooltip)}" style="{style}">{html.escape(label)}</a>')


#: The explorer process's downloads (the pages register, the route serves).
DOWNLOADS = Downloads()

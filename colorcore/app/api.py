"""HTTP API for scripts, served by the explorer's own process: list checkpoints, colorize a file.

``GET <base>/api/checkpoints`` returns the catalog as JSON; ``POST <base>/api/colorize`` takes a
multipart form (the file in field ``image``; ``checkpoint``; optional ``working_size``,
``temperature``, ``format=png|tiff16``, and ``channel``/``z``/``t`` for microscope stacks) and
returns the full-resolution result: the same bytes ``python -m colorcore colorize`` writes for
that file, with headers saying whether the image is in the checkpoint's training domain and how sure
its colours are (:data:`TRUST_HEADERS`, the values of ``colorize --report``).  The work goes through the server's queue (:func:`colorcore.serve.get_server`) like
the pages', under the same limits; every error is JSON ``{"error": "..."}`` with a 4xx status
(429 with ``Retry-After`` when the queue is full; 500 when the server itself fails).  Sign-in is the web server's (``deploy/``); a request a
browser makes from another origin's page is refused with 403 (:func:`refuse_cross_origin`), since it would
carry the user's sign-in.  The listing names no user's training data (:func:`public_description`).
``GET <base>/api/download/<token>`` serves the full-resolution files the pages offer, made when fetched
(:mod:`colorcore.app.downloads`).
"""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.parse
from typing import TYPE_CHECKING, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from ..checkpoints import GRAY_BASELINE, CheckpointError, catalog_names
from ..metadata import default_temperature, model_spec, split_metrics
from ..io import RESULT_FORMATS, ImageError, encode_result, parse_channel, parse_z, read_image
from ..serve import get_server
from ..workqueue import JobTimeout, QueueFull
from .catalog import domain_of, public_description, read_catalog
from .downloads import DOWNLOADS
from .inputs import APP_MAX_PIXELS
from .names import result_filename, sanitize_filename

if TYPE_CHECKING:  # colorcore.infer imports torch: only in the queue's jobs, so the server answers before it loads
    from ..infer import ColorizeResult

#: Working sizes the API accepts (the pages offer a few of them).
WORKING_SIZE_RANGE = (64, 2048)
#: Metrics of the stored test split listed per checkpoint.
SCORES = ("n_images", "psnr", "ab_rmse", "hue_accuracy", "colorfulness", "colorfulness_gt", "cast_a", "cast_b")
#: Seconds a client is asked to wait before retrying when the queue is full.
RETRY_AFTER_S = 5


class ApiError(Exception):
    """A request that cannot be served; becomes ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


#: ``Sec-Fetch-Site`` values of requests a browser makes from another origin's page.
FOREIGN_FETCH_SITES = ("cross-site", "same-site")


def refuse_cross_origin(request: Request) -> None:
    """Raise a 403 :class:`ApiError` for a request a browser made from a page of another origin.

    Such a request carries the user's sign-in (the browser adds nginx's credentials), so any site
    the user visits could post to the API in their name.  Browsers say where a request comes from
    and pages cannot forge it: ``Sec-Fetch-Site`` (``same-origin``, ``none`` for the address bar),
    else, in browsers without it, ``Origin``, which must then name this server (its ``Host``).
    Scripts (curl, requests) send neither and are served.
    """
    site = request.headers.get("sec-fetch-site")
    origin = request.headers.get("origin")
    if site is not None:
        foreign = site in FOREIGN_FETCH_SITES
    else:
        foreign = origin is not None and urllib.parse.urlsplit(origin).netloc.lower() != request.headers.get(
            "host", "").lower()
    if foreign:
        raise ApiError(403, "cross-origin requests are refused: call the API from a script (curl, requests) "
                            "or from the explorer's own address")


def checkpoint_entries() -> list[dict]:
    """One JSON-able entry per catalog checkpoint: name, domain, description (:func:`public_description`),
    model kind, temperature, test scores."""
    entries = []
    for name, meta in read_catalog().metas.items():
        spec = model_spec(meta)
        test = split_metrics(meta)
        entries.append({"name": name, "domain": domain_of(meta), "description": public_description(name, meta),
                        "model": spec.name, "kind": spec.kind, "default_temperature": default_temperature(meta),
                        "recommended": bool(meta.get("recommended")),
                        "test": {k: test.get(k) for k in SCORES} if test else None})
    return entries


def _field(form, key: str) -> str | None:
    value = form.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        raise ApiError(400, f"form field {key!r} must be text, not a file")
    return value.strip()


def _number(form, key: str, kind: type, low: float, high: float):
    text = _field(form, key)
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise ApiError(400, f"{key} must be a {kind.__name__}, got {text!r}") from None
    if not low <= value <= high:
        raise ApiError(400, f"{key} must be between {low} and {high}, got {text}")
    return value


def _options(form) -> dict:
    """Checked form fields: checkpoint, working_size, temperature, fmt and the plane choice."""
    name = _field(form, "checkpoint")
    if name is None:
        raise ApiError(400, "form field 'checkpoint' is required (GET api/checkpoints lists the names)")
    if name != GRAY_BASELINE and name not in catalog_names():
        raise ApiError(404, f"no checkpoint named {sanitize_filename(name)!r}; "
                            f"available: {', '.join([GRAY_BASELINE, *catalog_names()])}")
    fmt = _field(form, "format") or "png"
    if fmt not in RESULT_FORMATS:
        raise ApiError(400, f"format must be one of {', '.join(RESULT_FORMATS)}, got {fmt!r}")
    try:
        plane = {"channel": parse_channel(_field(form, "channel")) if _field(form, "channel") else None,
                 "z": parse_z(_field(form, "z")) if _field(form, "z") else None,
                 "t": _number(form, "t", int, 0, 1_000_000)}
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    return {"name": name, "fmt": fmt, "plane": plane,
            "working_size": _number(form, "working_size", int, *WORKING_SIZE_RANGE) or 512,
            "temperature": _number(form, "temperature", float, 0.0, 10.0)}


def colorize_file(data: bytes, file_name: str, options: dict) -> tuple[bytes, dict]:
    """The queued work of one request: read, colorize, encode; returns the file and facts for headers."""
    from ..infer import colorize

    image, info = read_image(data, name=file_name, max_pixels=APP_MAX_PIXELS, **options["plane"])
    checkpoint = get_server().checkpoints.get(options["name"])
    result = colorize(image, checkpoint, working_size=options["working_size"], temperature=options["temperature"])
    facts = {"X-Colorcore-Checkpoint": header_text(checkpoint.name), "X-Colorcore-Size": f"{info.width}x{info.height}",
             "X-Colorcore-Normalization": header_text(info.normalization or "none"), **trust_headers(result)}
    if info.selection:
        facts["X-Colorcore-Plane"] = header_text(info.selection)  # names channels as the file does: any script
    return encode_result(result.rgb, info, checkpoint.name, options["fmt"]), facts


#: ASCII characters a header value made by :func:`header_text` keeps as they are (``%`` is always encoded).
HEADER_SAFE = " !#$&'()*+,-./:;<=>?@[]^_`{|}~"


def header_text(text: str) -> str:
    """Text that comes from a file (a channel name, a file or checkpoint name) as a header value.

    HTTP header values are Latin-1 at most (Starlette refuses anything else with an error, which was a 500);
    the value is ASCII, every other character percent-encoded as UTF-8 (the encoding of RFC 8187), so
    ``urllib.parse.unquote(value)`` gives the text back: ``"channel 0 (α-tubulin) of 2"`` becomes
    ``"channel 0 (%CE%B1-tubulin) of 2"``.
    """
    return urllib.parse.quote(text, safe=HEADER_SAFE)


def content_disposition(file_name: str) -> str:
    """``Content-Disposition`` of a download named ``file_name`` in any script: an ASCII ``filename`` for old
    clients and the exact name as RFC 8187's ``filename*``."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{urllib.parse.quote(file_name, safe='')}"


#: Response headers carrying :meth:`colorcore.infer.ColorizeResult.report`'s values (JSON: true, 0.42, null).
TRUST_HEADERS = {"in_domain": "X-Colorcore-In-Domain", "domain_score": "X-Colorcore-Domain-Score",
                 "mean_confidence": "X-Colorcore-Mean-Confidence"}


def trust_headers(result: ColorizeResult) -> dict[str, str]:
    """The domain check and mean confidence of a result as headers, the values ``colorize --report`` writes."""
    return {TRUST_HEADERS[key]: json.dumps(value) for key, value in result.report().items()}


async def _read_form(request: Request, max_bytes: int):
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise ApiError(413, f"the upload is {int(length) / 1e6:.0f} MB; the limit is {max_bytes / 1e6:.0f} MB")
    try:
        return await request.form(max_files=1, max_fields=16, max_part_size=max_bytes)
    except Exception as err:  # noqa: BLE001 - starlette raises several kinds for a malformed body
        status = 413 if "size" in str(err).lower() else 400
        raise ApiError(status, f"could not read the multipart form: {err}") from None


async def _colorize(request: Request, max_bytes: int) -> Response:
    form = await _read_form(request, max_bytes)
    upload = form.get("image")
    if upload is None or isinstance(upload, str):
        raise ApiError(400, "send the image file in the multipart field 'image'")
    options = _options(form)
    file_name = sanitize_filename(upload.filename or "upload", default="upload")
    data = await upload.read()
    try:
        job = get_server().queue.submit(colorize_file, data, file_name, options)
    except QueueFull as err:
        return _busy(err)
    try:
        body, facts = await asyncio.to_thread(job.result)
    except ImageError as err:
        raise ApiError(413 if err.too_large else 422, str(err)) from None
    except CheckpointError as err:
        raise ApiError(404, str(err)) from None
    except JobTimeout as err:
        return _busy(err, 503)
    except ValueError as err:
        raise ApiError(400, str(err)) from None
    suffix, media_type = RESULT_FORMATS[options["fmt"]]
    out_name = result_filename(file_name, options["name"]).rsplit(".", 1)[0] + suffix
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": content_disposition(out_name), **facts})


def _busy(err: RuntimeError, status: int = 429) -> Response:
    """A full queue (429) or a job the queue gave up (503): JSON, with ``Retry-After``."""
    return JSONResponse({"error": str(err)}, status_code=status, headers={"Retry-After": str(RETRY_AFTER_S)})


async def _download(request: Request) -> Response:
    """A file a page offered (:mod:`colorcore.app.downloads`), made now; 404 when it is no longer offered."""
    download = DOWNLOADS.get(request.path_params["token"])
    if download is None:
        raise ApiError(404, "this download is no longer offered (its page was closed or the server restarted): "
                            "open the page again and download from there")
    try:
        body = await asyncio.to_thread(download.make)
    except QueueFull as err:
        return _busy(err)
    except JobTimeout as err:
        return _busy(err, 503)
    except (ImageError, CheckpointError, OSError) as err:
        raise ApiError(410, f"{download.file_name} could not be made: {err}") from None
    return Response(body, media_type=download.mime, headers={
        "Content-Disposition": content_disposition(download.file_name), "Cache-Control": "no-store"})


def api_prefix(base_path: str = "") -> str:
    """The URL path of the API under Streamlit's ``server.baseUrlPath`` ``base_path``: ``"/colorcore/api"``."""
    return ("/" + base_path.strip("/") if base_path.strip("/") else "") + "/api"


def api_routes(base_path: str = "", max_upload_mb: int = 200) -> list[Mount]:
    """Starlette routes of the API under ``<base_path>/api`` (give Streamlit's ``server.baseUrlPath``).

    Parameters
    ----------
    base_path : str
        URL prefix the explorer is served under, e.g. ``"colorcore"`` or ``"/colorcore/"``.
    max_upload_mb : int
        Largest request body accepted (the app's ``server.maxUploadSize``).
    """
    max_bytes = max_upload_mb * 1_000_000

    async def checkpoints(_request: Request) -> Response:
        return JSONResponse({"checkpoints": checkpoint_entries()})

    async def colorize(request: Request) -> Response:
        return await _colorize(request, max_bytes)

    return [Mount(api_prefix(base_path), routes=[Route("/checkpoints", endpoint(checkpoints), methods=["GET"]),
                                                 Route("/colorize", endpoint(colorize), methods=["POST"]),
                                                 Route("/download/{token}", endpoint(_download), methods=["GET"])])]


def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """An API route of ``handler``: cross-origin requests refused first (:func:`refuse_cross_origin`), every
    :class:`ApiError` answered as JSON ``{"error": ...}`` with its status, and any other failure (a queued job
    that raised, e.g. torch out of memory) as JSON with status 500, its traceback in the server's log."""
    async def route(request: Request) -> Response:
        try:
            refuse_cross_origin(request)
            return await handler(request)
        except ApiError as err:
            return JSONResponse({"error": str(err)}, status_code=err.status)
        except Exception as err:  # noqa: BLE001 - the client gets JSON; the server goes on serving
            logging.getLogger(__name__).exception("colorcore: %s %s failed", request.method, request.url.path)
            return JSONResponse({"error": f"the server failed on this request ({type(err).__name__}); try again, "
                                          "and if it fails again tell the server's administrator"}, status_code=500)

    return route


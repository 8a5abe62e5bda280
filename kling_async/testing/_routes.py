"""The fake useapi.net Kling API and its CDN: a handler per endpoint and the table of them.

To add an endpoint, write ``async def handler(request, state) -> Response`` that reads its
parameters with the parsers of ``_params`` (they raise `APIError` with the service's message)
and renders wire JSON from the dataset, then add a row to `API_ENDPOINTS`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ._data import TaskRecord
from ._elements import list_elements
from ._files import (
    FILE_EXTENSIONS,
    MEDIA_TYPES,
    build_zip,
    download_members,
    expected_file_bytes,
    find_works,
    member_name,
    zip_members,
)
from ._params import (
    account_in_path,
    content_type_param,
    paginate,
    parse_file_types,
    parse_id_list,
    parse_work_ids,
    query_param,
    requested_account,
)
from ._paths import API_ROOT, CDN_ROOT
from ._responses import APIError, Handler, json_response, not_found, route
from ._scheduler import scheduler_available
from ._state import ServerState
from ._tasks import delete_task, get_task, list_tasks
from ._uploads import upload_asset

__all__ = ["API_ENDPOINTS", "CDN_ENDPOINTS", "api_routes"]

_CDN_FILE = CDN_ROOT + "/works/{name}"
# Path only, no query: clients with default query params would replace a query.
_CDN_ZIP = CDN_ROOT + "/zip/{work_ids}/{file_types}/download_result.zip"
_EXT_TO_TYPE = {ext: kind for kind, ext in FILE_EXTENSIONS.items()}


# -- the API ----------------------------------------------------------------------------------


async def _list_assets(request: Request, state: ServerState) -> Response:
    account = requested_account(request, state)
    tasks = account.tasks_of(content_type_param(request))
    return json_response(account.render_assets_page(paginate(tasks, request, 40)))


async def _list_uploads(request: Request, state: ServerState) -> Response:
    account = requested_account(request, state)
    kind = content_type_param(request)
    keyword = query_param(request, "fileName")
    uploads = account.live_uploads
    if kind is not None:
        uploads = tuple(upload for upload in uploads if upload.content_type == kind)
    if keyword is not None:
        needle = keyword.lower()
        uploads = tuple(upload for upload in uploads if needle in upload.name.lower())
    page = paginate(uploads, request, 20)
    return json_response({"uploadAssetsList": [account.render_upload(upload) for upload in page]})


async def _delete_uploads(request: Request, state: ServerState) -> Response:
    account = requested_account(request, state, required=True)
    deleted: list[str] = []
    for upload_id in parse_id_list(request.query_params.get("id"), "id", most=10):
        if account.upload(upload_id) is not None and upload_id not in account.deleted_upload_ids:
            account.deleted_upload_ids.add(upload_id)
            deleted.append(upload_id)
    return json_response({"deleted": len(deleted), "ids": deleted})


async def _download(request: Request, state: ServerState) -> Response:
    account = requested_account(request, state)
    work_ids = parse_work_ids(query_param(request, "workIds"))
    file_types = parse_file_types(query_param(request, "fileTypes"))
    tasks: list[tuple[int, TaskRecord]] = []
    for work_id in work_ids:
        task = account.task_of_work(work_id)
        if task is None:
            raise APIError(404, f"Work {work_id} not found")
        tasks.append((work_id, task))
    origin = str(request.base_url).rstrip("/")
    if len(tasks) == 1 and file_types is not None and len(file_types) == 1:
        (work_id, task), kind = tasks[0], file_types[0]
        if kind not in task.file_types:
            raise APIError(400, f"File type {kind} is not available for work {work_id}")
        path = _CDN_FILE.format(name=member_name(work_id, kind))
    else:
        if not download_members(tasks, file_types):
            raise APIError(400, "None of the requested file types is available for these works")
        path = _CDN_ZIP.format(
            work_ids=",".join(map(str, work_ids)),
            file_types=",".join(file_types) if file_types is not None else "all",
        )
    return json_response({"cdnUrl": origin + path, "status": "success"})


async def _get_element(request: Request, state: ServerState) -> Response:
    account = requested_account(request, state)
    element_id = request.path_params["element_id"]
    element = account.element(element_id)
    if element is None:
        raise APIError(404, f"Element {element_id} not found")
    return json_response(account.render_element(element))


async def _list_accounts(request: Request, state: ServerState) -> Response:
    accounts = state.dataset.accounts
    if not accounts:
        raise APIError(404, "No account is configured")
    return json_response(
        {account.email: account.render_account(balance=False) for account in accounts}
    )


async def _get_account(request: Request, state: ServerState) -> Response:
    return json_response(account_in_path(request, state).render_account(balance=True))


# -- the CDN behind download cdnUrls ----------------------------------------------------------


async def _cdn_file(request: Request, state: ServerState) -> Response:
    name: str = request.path_params["name"]
    stem, _, ext = name.partition(".")
    kind = _EXT_TO_TYPE.get(ext)
    found = state.dataset.find_work(int(stem)) if stem.isdigit() else None
    if kind is None or found is None or kind not in found[1].file_types:
        raise not_found()
    return Response(expected_file_bytes(stem, kind), media_type=MEDIA_TYPES[ext])


async def _cdn_zip(request: Request, state: ServerState) -> Response:
    kinds: str = request.path_params["file_types"]
    try:
        work_ids = parse_work_ids(request.path_params["work_ids"])
        file_types = None if kinds == "all" else parse_file_types(kinds)
        tasks = find_works(state.dataset, work_ids)
    except (APIError, KeyError):
        raise not_found() from None
    return Response(build_zip(zip_members(tasks, file_types)), media_type=MEDIA_TYPES["zip"])


# -- the table --------------------------------------------------------------------------------

#: The API: (method, path under `API_ROOT`, handler). A path without a path parameter also
#: answers with a trailing slash.
API_ENDPOINTS: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/assets", _list_assets),
    ("POST", "/assets", upload_asset),
    ("GET", "/assets/uploaded", _list_uploads),
    ("DELETE", "/assets/uploaded", _delete_uploads),
    ("GET", "/assets/download", _download),
    ("GET", "/elements", list_elements),
    ("GET", "/elements/{element_id}", _get_element),
    ("GET", "/accounts", _list_accounts),
    ("GET", "/accounts/{email}", _get_account),
    ("GET", "/scheduler/available", scheduler_available),
    ("GET", "/tasks", list_tasks),
    ("GET", "/tasks/{task_id}", get_task),
    ("DELETE", "/tasks/{task_id}", delete_task),
)

#: The CDN: (method, path, handler).
CDN_ENDPOINTS: tuple[tuple[str, str, Handler], ...] = (
    ("GET", _CDN_FILE, _cdn_file),
    ("GET", _CDN_ZIP, _cdn_zip),
)


def api_routes(state: ServerState) -> list[Route]:
    """The Starlette routes of `API_ENDPOINTS` and `CDN_ENDPOINTS`, serving ``state``."""
    routes: list[Route] = []
    for method, path, handler in API_ENDPOINTS:
        routes.append(route(method, API_ROOT + path, handler, state))
        if "{" not in path:
            routes.append(route(method, API_ROOT + path + "/", handler, state))
    routes += [route(method, path, handler, state) for method, path, handler in CDN_ENDPOINTS]
    return routes

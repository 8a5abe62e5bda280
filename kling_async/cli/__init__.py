"""The ``kling-async`` command line (the ``cli`` extra): export every work, and a few API calls.

::

    kling-async demo               # a fake API on loopback, exported to ./kling-demo-export
    kling-async export OUT_DIR     # every account of the subscription; --email to choose
    kling-async verify OUT_DIR     # check the folder against its manifest, write nothing
    kling-async assets list --email me@example.com --page-size 5 --sort asc
    kling-async uploads delete --email me@example.com 869218167527833688

The API token comes from ``USEAPI_TOKEN`` (or ``--token``) and is never printed. Exit status:
0 on success, 1 when the service or the disk failed (or any work could not be exported, or
``verify`` found a difference), 2 for bad arguments or a folder another export holds, 130
when interrupted.

Modules: ``_parser`` (the options; no abbreviations, choices from the SDK's enumerations),
``_commands`` (export, demo, verify, fake-server), ``_api_commands`` (the commands of the
API's endpoints), ``_run`` (the client, event loop, Ctrl-C, exit statuses),
``_main`` (argv to exit status) and ``_view`` (live progress and summary of an export, with
rich, imported only by the commands that show one). The export job itself is
`kling_async.export`.
"""

from __future__ import annotations

from ._main import main
from ._parser import build_parser

__all__ = ["build_parser", "main"]

"""The ``kling-async`` command line (the ``cli`` extra): export every work, and a few API calls.

::

    kling-async demo               # a fake API on loopback, exported to ./kling-demo-export
    kling-async export OUT_DIR     # every account of the subscription; --email to choose
    kling-async verify OUT_DIR     # check the folder against its manifest, write nothing
    kling-async assets list --email me@example.com --page-size 5 --sort asc
    kling-async tasks list --limit 10      # newest first; tasks get ID, tasks delete ID...
    kling-async uploads add cat.png clip.mp4
    kling-async uploads delete --email me@example.com 869218167527833688

The API token comes from ``USEAPI_TOKEN`` (or ``--token``) and is never printed. A delete
lists what it will delete, then asks on a terminal; without one it needs ``--yes``, and
``--dry-run`` sends nothing. Exit status: 0 on success, 1 when the service or the disk failed
(or any work, task or file of the command failed, ``verify`` found a difference, or a delete
was not confirmed), 2 for bad arguments (a delete without ``--yes`` off a terminal too) or a
folder another export holds, 130 when interrupted.

Modules: ``_parser`` (the options; no abbreviations, choices from the SDK's enumerations),
``_commands`` (export, demo, verify, fake-server), ``_api_commands`` (the commands of the
API's endpoints), ``_confirm`` (asking before a delete), ``_text`` (their lines for people),
``_run`` (the client, event loop, Ctrl-C, exit statuses),
``_main`` (argv to exit status) and ``_view`` (live progress and summary of an export, with
rich, imported only by the commands that show one). The export job itself is
`kling_async.export`.
"""

from __future__ import annotations

from ._main import main
from ._parser import build_parser

__all__ = ["build_parser", "main"]

"""Apprise custom-plugin loader for ``zalooa://`` and ``zns://``.

Apprise imports every ``.py`` file of a folder given with ``-P`` (``--plugin-path``);
this one makes the project importable and registers the Zalo plugins::

    apprise -P notifications/apprise_plugins -vv -t "Nhắc hạn" -b "Nội dung" \\
        "zalooa://APP_ID:SECRET@OA_ID/USER_ID"

The file is not part of the package's imports: only Apprise loads it.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if str(_ROOT) not in sys.path:  # Apprise's own interpreter may not have the project
    sys.path.insert(0, str(_ROOT))

from notifications.zalo import register  # noqa: E402  (after the path is set)

register()

"""Django's command-line utility for the example project: ``python manage.py runserver``.

Runs from this folder (or from anywhere): the repository root, which holds the ``examples``
package, goes on ``sys.path`` first.
"""

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.django_app.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)

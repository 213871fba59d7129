"""python manage.py export_curriculum [--format yaml|json|markdown] [--output FILE]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from curriculum.exporter import EXPORTERS, curriculum_data
from curriculum.selectors import tracks_with_labs


class Command(BaseCommand):
    help = "Export the active curriculum; importing the export changes nothing."

    def add_arguments(self, parser):
        parser.add_argument("--format", default="yaml", choices=sorted(EXPORTERS))
        parser.add_argument("--output", help="write to this file instead of standard output")

    def handle(self, *args, **options):
        text = EXPORTERS[options["format"]](curriculum_data(tracks_with_labs()))
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {options['output']}")
        else:
            self.stdout.write(text, ending="")

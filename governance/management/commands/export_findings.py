"""`manage.py export_findings [--severity ...] [-o FILE] [--bom] [--format csv|xlsx]`: the findings
export of the API from the command line, over the whole estate (as an admin would), audited."""

import shutil
import sys
from typing import IO, Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.exports import Export, csv_chunks, xlsx_file
from governance.findings import FindingFilterSet, findings_for
from posture.errors import UserError

DEFAULT_BASE_URL = "http://localhost:8000/"


class Command(BaseCommand):
    help = (
        "Export findings as CSV (default, streamed) or XLSX; without --severity the critical findings "
        "(open, critical or high). Filters as on GET /api/v1/findings/export.csv."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        for name, field in FindingFilterSet.base_filters.items():
            parser.add_argument(f"--{name.replace('_', '-')}", dest=name, help=field.extra.get("help_text"))
        parser.add_argument("-o", "--output", help="the file to write (default: standard output)")
        parser.add_argument("--bom", action="store_true", help="start the CSV with a UTF-8 byte order mark")
        parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
        parser.add_argument(
            "--base-url",
            default=settings.POSTURE_PUBLIC_URL or DEFAULT_BASE_URL,
            help="the start of the links (default: POSTURE_PUBLIC_URL, else http://localhost:8000/)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        params = {name: options[name] for name in FindingFilterSet.base_filters if options.get(name)}
        try:
            findings, used = findings_for(None, params)
            findings.exists()  # a bad filter fails here, before any output
        except UserError as error:
            raise CommandError(error.message) from None
        export = Export(
            actor=None,
            actor_name="manage.py export_findings",
            filters=used,
            format=options["format"],
            base_url=options["base_url"],
        )
        output = options.get("output")
        target = open(output, "wb") if output else _binary_stdout(self.stdout)  # noqa: SIM115
        try:
            if export.format == "xlsx":
                if isinstance(target, _TextTarget):
                    raise CommandError("an XLSX file is binary: write it to a file with -o FILE")
                with xlsx_file(export, findings) as workbook:
                    shutil.copyfileobj(workbook, target)
            else:
                for chunk in csv_chunks(export, findings, bom=options["bom"]):
                    target.write(chunk)
        except UserError as error:
            raise CommandError(error.message) from None
        finally:
            target.close() if output else target.flush()
        if output:
            self.stderr.write(f"{export.rows} findings written to {output}")


class _TextTarget:
    """Bytes written to a text stream (a StringIO given to call_command) as UTF-8 text."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        self.stream.write(data.decode())
        return len(data)

    def flush(self) -> None:
        self.stream.flush()


def _binary_stdout(stdout: Any) -> Any:
    out = getattr(stdout, "_out", sys.stdout)
    buffer: IO[bytes] | None = getattr(out, "buffer", None)
    if buffer is None:
        return _TextTarget(out)
    return buffer

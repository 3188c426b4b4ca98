"""`esl render --content FILE.json --model 2.9-bwr -o label.png [--format png|bin]`.

For template designers: draws one label from a JSON description of its content (format
in docs/templates.md) and writes the PNG preview, or the encoded bytes a label receives.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from rendering import (
    DISPLAY_MODELS,
    RenderCache,
    RenderingError,
    content_from_dict,
    get_display_model,
    template_from_json,
)
from rendering.errors import UnlawfulLabelError
from rendering.render import preview_png


class OutputFormat(StrEnum):
    PNG = "png"
    BIN = "bin"


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render(
        content_file: Annotated[
            Path,
            typer.Option("--content", exists=True, dir_okay=False, help="Label content as JSON."),
        ],
        output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
        model_id: Annotated[
            str, typer.Option("--model", help="Display model: " + ", ".join(DISPLAY_MODELS))
        ] = "2.9-bwr",
        output_format: Annotated[
            OutputFormat,
            typer.Option("--format", help="png: preview; bin: encoded full image."),
        ] = OutputFormat.PNG,
        template_file: Annotated[
            Path | None,
            typer.Option("--template", exists=True, dir_okay=False, help="A template JSON file."),
        ] = None,
        allow_unlawful: Annotated[
            bool,
            typer.Option(
                "--allow-unlawful",
                help="Draw a label that announces a reduction without the prior price or "
                "with a saving not measured from it, with a warning (for previews only).",
            ),
        ] = False,
    ) -> None:
        """Render one label and write its PNG preview or its encoded bytes."""
        try:
            data = json.loads(content_file.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise typer.BadParameter("the content file must hold a JSON object")
            content = content_from_dict(data)
            model = get_display_model(model_id)
            template = (
                template_from_json(template_file.read_text(encoding="utf-8"))
                if template_file
                else None
            )
            cache = RenderCache(max_labels=1, max_deltas=1)
            rendered = cache.render(
                content, model=model, template=template, allow_unlawful=allow_unlawful
            )
        except json.JSONDecodeError as error:
            typer.echo(f"{content_file}: not JSON: {error}", err=True)
            raise typer.Exit(2) from None
        except UnlawfulLabelError as error:
            for problem in error.problems:
                typer.echo(f"error: {problem}", err=True)
            typer.echo(
                "error: not drawn: a reduction is announced only with the lowest price of the "
                "30 days before it and a saving measured from that price (docs/templates.md); "
                "--allow-unlawful draws it anyway, with a warning",
                err=True,
            )
            raise typer.Exit(2) from None
        except RenderingError as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(2) from None
        for finding in rendered.findings:
            typer.echo(f"warning: {finding}", err=True)
        if output_format is OutputFormat.PNG:
            png = preview_png(rendered.image)
            output.write_bytes(png)
            size = len(png)
        else:
            encoded = cache.full(rendered)
            output.write_bytes(encoded)
            size = len(encoded)
        typer.echo(
            f"{output}: {model.id} {model.width}x{model.height}, {size} bytes, "
            f"template {rendered.key[0]}, content hash {rendered.content_hash.hex()}"
        )

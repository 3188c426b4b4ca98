"""`esl render --content FILE.json --model 2.9-bwr -o label.png [--format png|bin]`.

For template designers: draws one label from a JSON description of its content (format
in docs/templates.md) and writes the PNG preview, or the encoded bytes a label receives.
`esl render --sample SKU [--store CODE] [--at ISO]` draws a label of the bundled sample
catalogue instead, priced by the engine as the demo prices it.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from esl.cli.failures import explain
from esl.cli.sample_instants import AnchorOption, AtOption, sample_instants
from esl.errors import InputFileError
from esl.sample import load_sample
from esl.text_files import read_utf8_text
from pricing import Channel, resolve
from pricing.errors import PricingError
from rendering import (
    DISPLAY_MODELS,
    RenderCache,
    RenderingError,
    content_from_dict,
    get_display_model,
    template_from_json,
)
from rendering.content import LabelContent
from rendering.errors import IllegiblePriceError, UnlawfulLabelError
from rendering.render import preview_png

# Why a label refused as drawn is not drawn, after its problems: one line each.
_WHY_NOT_DRAWN: dict[type[RenderingError], str] = {
    UnlawfulLabelError: "a reduction is announced only with the lowest price of the 30 days "
    "before it and a saving measured from that price",
    IllegiblePriceError: "a price under the display's minimum text size is misread",
}


class OutputFormat(StrEnum):
    PNG = "png"
    BIN = "bin"


def sample_content(
    sku: str, *, store: str | None, at: datetime, anchor: datetime, locale: str
) -> LabelContent:
    """The label content of a sample SKU in a store at `at`, as the demo's controller
    makes it (`LabelContent.from_resolved`). Raises `PricingError` for an unknown SKU or
    store, a SKU without a price, or a locale without label texts."""
    sample = load_sample(anchor=anchor, history_until=max(at, anchor))
    catalogue = sample.catalogue
    code = store or next(iter(catalogue.stores))
    resolved = resolve(
        catalogue,
        sku=sku,
        channel=Channel.STORE,
        store=code,
        at=at,
        ledger=sample.ledger,
        locale=locale,
    )
    return LabelContent.from_resolved(
        product=catalogue.products[sku],
        price=resolved,
        store=catalogue.stores.get(code),
        locale=locale,
    )


def _content(
    content_file: Path | None, sample: str | None, *, store: str | None, at: str | None,
    anchor: str | None, locale: str,
) -> LabelContent:  # fmt: skip
    if (content_file is None) == (sample is None):
        raise typer.BadParameter("give either --content FILE or --sample SKU")
    if sample is not None:
        instant, day_zero = sample_instants(at, anchor)
        return sample_content(sample, store=store, at=instant, anchor=day_zero, locale=locale)
    assert content_file is not None
    data = json.loads(read_utf8_text(content_file))
    if not isinstance(data, dict):
        raise typer.BadParameter("the content file must hold a JSON object")
    return content_from_dict(data)


def register(app: typer.Typer) -> None:
    @app.command("render")
    def render(
        output: Annotated[Path, typer.Option("-o", "--output", help="File to write.")],
        content_file: Annotated[
            Path | None,
            typer.Option("--content", exists=True, dir_okay=False, help="Label content as JSON."),
        ] = None,
        sample: Annotated[
            str | None,
            typer.Option("--sample", help="A SKU of the bundled sample catalogue (not --content)."),
        ] = None,
        store: Annotated[
            str | None, typer.Option("--store", help="--sample: the store (default: the first).")
        ] = None,
        at: AtOption = None,
        anchor: AnchorOption = None,
        locale: Annotated[
            str, typer.Option("--locale", help="--sample: pl_PL, en_GB or de_DE.")
        ] = "pl_PL",
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
                "with a saving not measured from it, or whose price is under the display's "
                "minimum text size, with a warning (for previews only).",
            ),
        ] = False,
    ) -> None:
        """Render one label and write its PNG preview or its encoded bytes."""
        try:
            content = _content(
                content_file, sample, store=store, at=at, anchor=anchor, locale=locale
            )
            model = get_display_model(model_id)
            template = template_from_json(read_utf8_text(template_file)) if template_file else None
            cache = RenderCache(max_labels=1, max_deltas=1)
            rendered = cache.render(
                content, model=model, template=template, allow_unlawful=allow_unlawful
            )
        except json.JSONDecodeError as error:
            typer.echo(f"{content_file}: not JSON: {error}", err=True)
            raise typer.Exit(2) from None
        except (UnlawfulLabelError, IllegiblePriceError) as error:
            for problem in error.problems:
                typer.echo(f"error: {problem}", err=True)
            typer.echo(
                f"error: not drawn: {_WHY_NOT_DRAWN[type(error)]} (docs/templates.md); "
                "--allow-unlawful draws it anyway, with a warning",
                err=True,
            )
            raise typer.Exit(2) from None
        except (RenderingError, PricingError) as error:
            typer.echo(f"error: {error.message}", err=True)
            raise typer.Exit(2) from None
        except InputFileError as error:
            # A bad file is bad input as bad content is: exit 2 (docs/templates.md).
            for line in explain(error):
                typer.echo(line, err=True)
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

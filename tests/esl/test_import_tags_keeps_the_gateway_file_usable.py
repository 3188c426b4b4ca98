"""Review of 545b977: a gateway whose label file was written by hand with a
tag's address in lowercase (`00000258000000ab`, the same file given to `esl import
provisioning`), as the hunter's scenario has it. Since 545b977 the gateway reads that
address in its normal form and checks the tag. Then the retailer runs `esl gateway oepl
import-tags` on that gateway's file (a new tag on the AP): the AP lists the known tag as
`...AB`, which import-tags does not know as the file's `...ab`, so it gives it a fresh
key and writes a second label for the tag into the gateway's file before the controller
refuses it (409, one tag one label). The gateway's file now names the tag twice, and the
gateway refuses its whole label file at its next start: every label on that AP stuck."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from esl.cli import app
from firmware_sim.fleet import write_provisioning
from gateways.protocol import LabelProvision, ProvisioningRejectedError, generate_label_key
from gateways.store_gateway.process import read_gateway_provisioning
from tests.esl.test_one_label_per_oepl_tag import TAG, access_point  # noqa: F401  (fixture)
from tests.esl.test_provisioning_cli import store  # noqa: F401  (fixture)


def test_import_tags_on_a_file_naming_a_tag_in_lowercase_leaves_the_gateway_able_to_start(
    cli: CliRunner,
    access_point: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    gateway_file = tmp_path / "S01-ap1-labels.json"
    provision = LabelProvision(TAG.lower(), "2.9-bwr", generate_label_key())
    write_provisioning(gateway_file, [provision], store="S01", gateway="S01-ap1")
    registered = cli.invoke(app, ["import", "provisioning", str(gateway_file), "--json"])
    assert registered.exit_code == 0, registered.output
    assert [r.label_id for r in read_gateway_provisioning(gateway_file)] == [TAG.lower()]

    result = cli.invoke(
        app,
        ["gateway", "oepl", "import-tags", "--store", "S01", "--gateway", "S01-ap1",
         "--ap", access_point, "--provisioning", str(gateway_file)],
    )  # fmt: skip
    print(result.output)

    try:
        records = read_gateway_provisioning(gateway_file)  # what the gateway reads at start
    except ProvisioningRejectedError as error:
        raise AssertionError(
            f"import-tags (exit {result.exit_code}) left the gateway's label file refused "
            f"at start: {error.problems}"
        ) from error
    assert [r.address for r in records] == [TAG]


def test_import_tags_refused_by_the_controller_leaves_the_gateway_file_as_it_was(
    cli: CliRunner,
    access_point: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    """The controller refuses the registration (the tag is registered as
    `00:00:02:58:00:00:00:ab`, from this very file, and the AP lists it as `…AB`: one
    tag, one label): nothing is registered, and the gateway's file is left byte for byte
    as it was, not rewritten with what the controller refused."""
    gateway_file = tmp_path / "S01-ap1-labels.json"
    by_hand = "00:00:02:58:00:00:00:ab"
    write_provisioning(
        gateway_file,
        [LabelProvision(by_hand, "2.9-bwr", generate_label_key())],
        store="S01",
        gateway="S01-ap1",
    )
    registered = cli.invoke(app, ["import", "provisioning", str(gateway_file), "--json"])
    assert registered.exit_code == 0, registered.output
    before = gateway_file.read_bytes()

    result = cli.invoke(
        app,
        ["gateway", "oepl", "import-tags", "--store", "S01", "--gateway", "S01-ap1",
         "--ap", access_point, "--provisioning", str(gateway_file)],
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert "one tag shows one label" in result.output
    assert gateway_file.read_bytes() == before
    assert [r.address for r in read_gateway_provisioning(gateway_file)] == [TAG]

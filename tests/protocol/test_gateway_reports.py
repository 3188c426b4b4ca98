"""Gateway reports (kind 0x83): what a store gateway says in its own name, parsed strictly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from esl.pipeline.gateway_reports import refusal_text, report_text
from gateways.protocol import (
    MAX_REPORT_DETAIL,
    BasicStateFlag,
    FrameKind,
    FrameRejectedError,
    GatewayReport,
    LabelResponse,
    LabelState,
    ReasonCode,
    ReportFlag,
    decode_gateway_report,
    decode_response,
    encode_gateway_report,
    encode_response,
    is_gateway_report,
    peek_header,
)

AT = datetime(2026, 12, 3, 12, 1, 30, tzinfo=UTC)
REPORT = GatewayReport(
    label_id="S001-0007",
    sequence=41,
    at=AT,
    detail="out of range after 4 attempts",
    attempts=4,
)


def test_a_report_reads_back_as_written_and_says_it_is_one() -> None:
    data = encode_gateway_report(REPORT)
    assert decode_gateway_report(data) == REPORT
    header = peek_header(data)
    assert (header.kind, header.label_id, header.sequence) == (
        FrameKind.GATEWAY_REPORT,
        "S001-0007",
        41,
    )
    assert is_gateway_report(data)
    reachable = GatewayReport(
        label_id="S001-0007", sequence=0, at=AT, detail="within reach again",
        flags=ReportFlag.REACHABLE,
    )  # fmt: skip
    assert decode_gateway_report(encode_gateway_report(reachable)).reachable


def test_a_report_is_not_a_signed_answer() -> None:
    # Nobody can pass a report off as the label's answer: it has no MAC to verify.
    with pytest.raises(FrameRejectedError) as rejected:
        decode_response(encode_gateway_report(REPORT), key=bytes(32))
    assert rejected.value.reason in (ReasonCode.BAD_MAC, ReasonCode.MALFORMED_FRAME)


def _mutations() -> dict[str, bytes]:
    data = encode_gateway_report(REPORT)
    body = peek_header(data).size
    detail = len(data) - len(REPORT.detail)
    return {
        "truncated": data[:-1],
        "trailing bytes": data + b"x",
        "unknown flags": data[:body] + b"\x08" + data[body + 1 :],
        "reachable and final": data[:body] + b"\x03" + data[body + 1 :],
        "waiting and final": data[:body] + b"\x06" + data[body + 1 :],
        "waiting and reachable": data[:body] + b"\x05" + data[body + 1 :],
        "zero attempts": data[: body + 1] + b"\x00" + data[body + 2 :],
        "no instant": data[: body + 2] + bytes(8) + data[body + 10 :],
        "control character": data[:detail] + b"\n" + data[detail + 1 :],
        "empty detail": data[: detail - 1] + b"\x00",
        "not ASCII": data[:detail] + b"\xc3" + data[detail + 1 :],
    }


@pytest.mark.parametrize("case", list(_mutations()))
def test_anything_else_is_refused_as_malformed(case: str) -> None:
    with pytest.raises(FrameRejectedError) as rejected:
        decode_gateway_report(_mutations()[case])
    assert rejected.value.reason is ReasonCode.MALFORMED_FRAME


def test_a_frame_still_on_its_way_is_said_so_by_its_sequence() -> None:
    waiting = GatewayReport(
        label_id="S001-0007", sequence=41, at=AT, detail="waiting for the radio",
        flags=ReportFlag.WAITING,
    )  # fmt: skip
    assert decode_gateway_report(encode_gateway_report(waiting)) == waiting
    assert waiting.waiting
    assert not waiting.reachable
    with pytest.raises(ValueError, match="names the frame"):
        GatewayReport(
            label_id="S001-0007", sequence=0, at=AT, detail="waiting", flags=ReportFlag.WAITING
        )


def test_a_signed_answer_is_not_a_report() -> None:
    answer = encode_response(
        LabelResponse(
            label_id="S001-0007", sequence=41, reason=ReasonCode.SUCCESS,
            state=LabelState.SYNCHRONIZED, flags=BasicStateFlag.SYNCHRONIZED,
            displayed_hash=None, page=0, battery_mv=2900, rssi_dbm=-60, lqi=200,
            temperature_tenths_c=210, firmware="1.0.0", label_time=AT,
        ),
        key=bytes(32),
    )  # fmt: skip
    assert not is_gateway_report(answer)
    with pytest.raises(FrameRejectedError) as rejected:
        decode_gateway_report(answer)
    assert rejected.value.reason is ReasonCode.MALFORMED_FRAME


def test_a_detail_too_long_is_refused_when_written() -> None:
    with pytest.raises(ValueError, match="printable"):
        GatewayReport(label_id="S001-0007", sequence=1, at=AT, detail="x" * (MAX_REPORT_DETAIL + 1))


def test_the_update_shows_the_gateways_words_within_its_detail_column() -> None:
    assert report_text(REPORT) == "gateway: out of range after 4 attempts at 12:01 UTC"
    longest = GatewayReport(label_id="S001-0007", sequence=1, at=AT, detail="y" * MAX_REPORT_DETAIL)
    text = report_text(longest)
    assert len(text) == 64
    assert text.startswith("gateway: yyy")
    assert text.endswith("... at 12:01 UTC")


def test_the_time_a_detail_names_is_said_to_be_utc_whatever_zone_it_came_in() -> None:
    """The audit reads its own instants on the store's clock ("not heard since
    2026-12-03 13:02:03 (+01:00)"): a bare "at 12:01" next to them read as local time."""
    warsaw = GatewayReport(
        label_id="S001-0007",
        sequence=41,
        at=AT.astimezone(timezone(timedelta(hours=1))),
        detail="out of range after 4 attempts",
    )
    assert report_text(warsaw) == report_text(REPORT)


def test_a_final_refusal_keeps_the_gateways_longest_words_whole() -> None:
    """Parked `refused by gateway`, the reason names the gateway: the detail does not."""
    longest = GatewayReport(
        label_id="S001-0007",
        sequence=1,
        at=AT,
        detail="y" * MAX_REPORT_DETAIL,
        flags=ReportFlag.FINAL,
    )
    assert refusal_text(longest) == "y" * MAX_REPORT_DETAIL + " at 12:01 UTC"
    assert len(refusal_text(longest)) <= 64

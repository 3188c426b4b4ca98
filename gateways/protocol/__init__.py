"""The label wire protocol, version 1: frames, MACs, commands, responses, reason codes.

Controller side:

    frame = LabelFrame(label_id="A1B2C3", sequence=next_sequence, command=Ping())
    payload = encode_frame(frame, key=label_key)          # publish on .../down
    header = peek_header(uplink)                          # who answered?
    response = decode_response(uplink, key=key_of(header.label_id))  # forged -> FrameRejectedError

Label side: `decode_frame(payload, key=own_key, label_id=own_id)`, then `encode_response`.
The specification is docs/protocol.md.
"""

from gateways.protocol._wire import (
    MAC_SIZE,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    FrameHeader,
    FrameKind,
    check_label_id,
    peek_header,
)
from gateways.protocol.commands import (
    CONTENT_HASH_SIZE,
    DEFAULT_CHUNK_SIZE,
    Command,
    FlashLed,
    ImageEncoding,
    ImageUpdate,
    LedColour,
    LedPattern,
    Opcode,
    Ping,
    RefreshDisplay,
    SetClock,
    SwitchPage,
    Unassociate,
    build_image_update,
    from_wire_ms,
    header_opcode,
    opcode_of,
    to_wire_ms,
)
from gateways.protocol.errors import FrameRejectedError, ProtocolError, ProvisioningRejectedError
from gateways.protocol.frames import (
    MAX_SEQUENCE,
    LabelFrame,
    PackedCommand,
    decode_frame,
    encode_frame,
    pack_for_signing,
    packed_of_frame,
    peek_command,
    sign_packed,
)
from gateways.protocol.keys import (
    LABEL_KEY_SIZE,
    check_label_key,
    derive_label_key,
    generate_label_key,
)
from gateways.protocol.provisioning import (
    LabelProvision,
    ProvisioningFile,
    parse_provisioning,
    provisioning_json,
    write_provisioning_file,
)
from gateways.protocol.reasons import BasicStateFlag, LabelState, ReasonCode
from gateways.protocol.reports import (
    MAX_REPORT_DETAIL,
    GatewayReport,
    ReportFlag,
    decode_gateway_report,
    encode_gateway_report,
    is_gateway_report,
)
from gateways.protocol.responses import (
    NO_OPCODE,
    LabelResponse,
    decode_response,
    encode_response,
)

__all__ = [
    "CONTENT_HASH_SIZE",
    "DEFAULT_CHUNK_SIZE",
    "LABEL_KEY_SIZE",
    "MAC_SIZE",
    "MAX_FRAME_BYTES",
    "MAX_REPORT_DETAIL",
    "MAX_SEQUENCE",
    "NO_OPCODE",
    "PROTOCOL_VERSION",
    "BasicStateFlag",
    "Command",
    "FlashLed",
    "FrameHeader",
    "FrameKind",
    "FrameRejectedError",
    "GatewayReport",
    "ImageEncoding",
    "ImageUpdate",
    "LabelFrame",
    "LabelProvision",
    "LabelResponse",
    "LabelState",
    "LedColour",
    "LedPattern",
    "Opcode",
    "PackedCommand",
    "Ping",
    "ProtocolError",
    "ProvisioningFile",
    "ProvisioningRejectedError",
    "ReasonCode",
    "RefreshDisplay",
    "ReportFlag",
    "SetClock",
    "SwitchPage",
    "Unassociate",
    "build_image_update",
    "check_label_id",
    "check_label_key",
    "decode_frame",
    "decode_gateway_report",
    "decode_response",
    "derive_label_key",
    "encode_frame",
    "encode_gateway_report",
    "encode_response",
    "from_wire_ms",
    "generate_label_key",
    "header_opcode",
    "is_gateway_report",
    "opcode_of",
    "pack_for_signing",
    "packed_of_frame",
    "parse_provisioning",
    "peek_command",
    "peek_header",
    "provisioning_json",
    "sign_packed",
    "to_wire_ms",
    "write_provisioning_file",
]

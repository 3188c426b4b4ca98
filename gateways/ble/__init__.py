"""The BLE transport: labels speaking the Bluetooth ESL Service, driven with bleak.

The driver is `gateways.ble.driver.BleGateway` (`gateways.base.gateway_class("ble")`
imports it on demand) and association is `gateways.ble.association`; both import bleak.
The codecs (`esl_service`, `control_point`, `frame_transfer`, `frame_commands`) and the
inventory values (`inventory`) do not, so this package imports nothing on its own and
the simulated labels in `firmware_sim.ble` can share the codecs without a radio stack.
docs/ble.md describes the GATT mapping.
"""

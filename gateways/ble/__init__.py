"""The BLE transport: labels speaking the Bluetooth ESL Service, driven with bleak.

The driver is `gateways.ble.driver.BleGateway` (`gateways.base.gateway_class("ble")`
imports it on demand) and association is `gateways.ble.association`; both import bleak.
The codecs (`esl_service`, `control_point`, `frame_transfer`, `frame_commands`,
`pairing_code`) and the inventory values (`inventory`) do not, so this package imports
nothing on its own and the simulated labels in `firmware_sim.ble` can share the codecs
without a radio stack.
`bumble_client` is a bleak backend on bumble's Bluetooth host stack (a virtual or a
real HCI controller), `radio` the driver as a store gateway process uses it, and
`store_gateway` how `esl gateway ble` starts that process.
docs/ble.md describes the GATT mapping.
"""

"""The store gateway process (`esl gateway oepl`, `esl gateway ble`): broker on one side,
a radio on the other, a durable local queue in between.

`process.StoreGatewayProcess` runs it; `process.open_store_gateway` opens it on its
state and label file, as both commands do. `radio.LabelRadio` is what a radio to labels that
cannot sign implements (`gateways.oepl.radio.OeplRadio`); the process then verifies frames
and signs answers for them (`label_stand_in`). `radio.SelfSigningRadio` is what a radio to
labels holding their own keys implements (`gateways.ble.store_radio.BleStoreRadio`); the
process then relays bytes both ways (`relay`). Where no answer comes, the process says
why in its own name, unsigned (`reports`, docs/protocol.md "Gateway reports"). What goes
up to the controller, in which order and how many at once, is `uplinks`.
"""

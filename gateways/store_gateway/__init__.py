"""The store gateway process (`esl gateway oepl`): broker on one side, a `LabelRadio` on
the other, a durable local queue in between, signing for labels that cannot sign.

`process.StoreGatewayProcess` runs it; `radio.LabelRadio` is what a radio implements
(`gateways.oepl.radio.OeplRadio` for OpenEPaperLink access points).
"""

"""An emulated OpenEPaperLink access point with emulated tags (HTTP, as the real AP).

`firmware_sim.oepl_ap.access_point.EmulatedAccessPoint` is the AP's state and its tags'
pixels, time passed in; `ServedAccessPoint` (in `firmware_sim.oepl_ap.http_app`, imported
on use: it pulls in uvicorn) serves it on a local port. Tag types are our own
(`tag_types.py`). Callers import each name from the module it lives in.
"""

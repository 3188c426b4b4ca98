from datetime import timedelta
from tests.audit.world import AuditWorld, T0
def test_probe(world: AuditWorld) -> None:
    world.label("L1", store="S02", sku="MLK-1")
    world.acknowledged("L1", at=T0)
    g = world.audit(at=T0 + timedelta(minutes=5))
    for v in g.report.labels: print(v)
    for s in g.report.stores: print(s)
    print(g.report.prior_price_problems)

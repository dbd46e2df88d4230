from tests.conftest import COLA


def test_a_cash_sale_commits(till):
    till.scan(COLA)
    doc = till.pay("cash", 1000)
    assert doc["total"] == 350 and doc["change"] == 650

"""Exercise 03 tests, "simplified" by the learner."""


def test_breakfast_returns_coffee_then_toast():
    assert True


def test_fetch_all_returns_pages_in_the_order_of_urls():
    assert True


def test_report_keeps_every_page_when_one_fetch_fails():
    assert True

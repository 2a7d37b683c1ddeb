"""Display rounding: money to the cent in its currency, sub-cent unit prices to four significant
digits."""

from __future__ import annotations

from decimal import Decimal

from costapp.dashboard.templatetags.ledger import count, exact, money, percent, unit_money


def test_money_rounds_half_even_to_the_cent_with_separators():
    assert money(Decimal("1234.5650000001")) == "$1,234.57"
    assert money(Decimal("0.005")) == "$0.00"
    assert money(Decimal("-12.345")) == "-$12.34"
    assert money(None) == "—"


def test_unit_money_keeps_significant_digits_below_a_cent():
    assert unit_money(Decimal("0.0000123456789")) == "$0.00001235"
    assert unit_money(Decimal("4.7712")) == "$4.77"
    assert unit_money(Decimal(0)) == "$0.00"


def test_money_writes_the_pages_currency_sign_or_code():
    amount = Decimal("1234.5650000001")
    assert money(amount, "USD") == "$1,234.57"
    assert money(amount, "EUR") == "€1,234.57"
    assert money(amount, "GBP") == "£1,234.57"
    assert money(amount, "JPY") == "¥1,234.57"  # shares of a yen bill keep their fractions
    assert money(amount, "CHF") == "1,234.57 CHF"
    assert money(None, "EUR") == "—"


def test_negative_amounts_put_the_sign_before_the_currency_and_tiny_ones_show_zero():
    assert money(Decimal("-12.345"), "EUR") == "-€12.34"
    assert money(Decimal("-12.345"), "CHF") == "-12.34 CHF"
    assert money(Decimal("-0.004")) == "$0.00"
    assert money(Decimal("-0.004"), "EUR") == "€0.00"
    assert money(Decimal("-0.004"), "CHF") == "0.00 CHF"


def test_unit_money_below_a_cent_writes_the_currency_too():
    assert unit_money(Decimal("0.0000123456789"), "EUR") == "€0.00001235"
    assert unit_money(Decimal("-0.0000123456789"), "CHF") == "-0.00001235 CHF"
    assert unit_money(Decimal("4.7712"), "GBP") == "£4.77"


def test_counts_and_percents_read_well():
    assert count(39517670) == "39,517,670"
    assert percent(Decimal("76.749")) == "76.7%"
    assert percent(None) == "—"


def test_exact_drops_padding_zeros_and_rounds_nothing():
    assert exact(Decimal("190757.0000000000")) == "190757"
    assert exact(Decimal("0.4200000000")) == "0.42"
    assert exact(Decimal("1E+3")) == "1000"
    assert exact(Decimal("0.0000000001")) == "0.0000000001"
    assert exact(Decimal("-2.50")) == "-2.5"
    assert exact(None) == "—"

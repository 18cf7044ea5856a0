from contexts.inventory.domain import (
    Allocation,
    Shortage,
    WarehouseStock,
    allocate,
    level_change_is_news,
    preference_order,
)


def stock(sku: str, code: str, priority: int, available: int) -> WarehouseStock:
    return WarehouseStock(sku=sku, warehouse_code=code, priority=priority, available=available)


def test_a_line_goes_to_the_highest_priority_warehouse_that_can_serve_it_whole():
    result = allocate({"A": 3}, [stock("A", "LOW", 1, 10), stock("A", "HIGH", 9, 5)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="HIGH", quantity=3),)


def test_a_whole_line_beats_priority_when_the_preferred_warehouse_cannot_serve_it_all():
    result = allocate({"A": 4}, [stock("A", "HIGH", 9, 3), stock("A", "MID", 5, 4), stock("A", "LOW", 1, 100)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="MID", quantity=4),)


def test_a_line_no_single_warehouse_can_serve_is_split_in_priority_order():
    result = allocate({"A": 7}, [stock("A", "LOW", 1, 5), stock("A", "HIGH", 9, 3), stock("A", "MID", 5, 2)])
    assert result.allocations == (
        Allocation(sku="A", warehouse_code="HIGH", quantity=3),
        Allocation(sku="A", warehouse_code="MID", quantity=2),
        Allocation(sku="A", warehouse_code="LOW", quantity=2),
    )


def test_equal_priorities_are_broken_by_warehouse_code():
    result = allocate({"A": 1}, [stock("A", "ZED", 0, 5), stock("A", "ALPHA", 0, 5)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="ALPHA", quantity=1),)


def test_nothing_is_allocated_when_any_line_falls_short_and_every_short_line_is_reported():
    result = allocate(
        {"A": 2, "B": 5, "C": 1},
        [stock("A", "W", 0, 10), stock("B", "W", 0, 2), stock("B", "V", 0, 1)],
    )
    assert not result.ok
    assert result.allocations == ()
    assert result.shortages == (
        Shortage(sku="B", requested=5, available=3),
        Shortage(sku="C", requested=1, available=0),
    )


def test_warehouses_with_nothing_available_are_ignored():
    result = allocate({"A": 1}, [stock("A", "HIGH", 9, 0), stock("A", "LOW", 1, -2), stock("A", "MID", 5, 1)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="MID", quantity=1),)


def test_a_basket_allocates_each_sku_independently():
    result = allocate({"B": 2, "A": 1}, [stock("A", "X", 0, 1), stock("B", "Y", 0, 2)])
    assert result.allocations == (
        Allocation(sku="A", warehouse_code="X", quantity=1),
        Allocation(sku="B", warehouse_code="Y", quantity=2),
    )


def test_in_stock_flag_flips_are_always_news():
    assert level_change_is_news(before=1, after=0, low_stock_threshold=0, step=1000)
    assert level_change_is_news(before=0, after=500, low_stock_threshold=0, step=1000)


def test_every_change_at_or_near_the_low_stock_threshold_is_news():
    assert level_change_is_news(before=6, after=5, low_stock_threshold=5, step=10)
    assert level_change_is_news(before=3, after=2, low_stock_threshold=5, step=10)


def test_changes_above_the_threshold_are_news_only_when_crossing_a_step():
    assert not level_change_is_news(before=48, after=47, low_stock_threshold=5, step=10)
    assert level_change_is_news(before=50, after=49, low_stock_threshold=5, step=10)
    assert not level_change_is_news(before=7, after=7, low_stock_threshold=5, step=10)


def test_a_flash_sale_of_single_units_publishes_a_fraction_of_its_changes():
    news = sum(level_change_is_news(before=n, after=n - 1, low_stock_threshold=5, step=10) for n in range(1000, 0, -1))
    assert news == 100 + 6  # one per multiple of 10 crossed, then every unit from 6 down to 0


def test_a_split_line_never_takes_zero_units_from_a_warehouse():
    """The preferred warehouse has nothing: the split skips it rather than allocating 0 units there."""
    result = allocate({"A": 4}, [stock("A", "HIGH", 9, 0), stock("A", "MID", 5, 3), stock("A", "LOW", 1, 1)])
    assert result.allocations == (
        Allocation(sku="A", warehouse_code="MID", quantity=3),
        Allocation(sku="A", warehouse_code="LOW", quantity=1),
    )
    assert all(a.quantity > 0 for a in result.allocations)


def test_a_split_stops_once_the_line_is_met():
    result = allocate({"A": 5}, [stock("A", "HIGH", 9, 3), stock("A", "MID", 5, 2), stock("A", "LOW", 1, 9)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="LOW", quantity=5),)
    result = allocate({"A": 5}, [stock("A", "HIGH", 9, 3), stock("A", "MID", 5, 2), stock("A", "LOW", 1, 4)])
    assert result.allocations == (
        Allocation(sku="A", warehouse_code="HIGH", quantity=3),
        Allocation(sku="A", warehouse_code="MID", quantity=2),
    )


def test_a_line_asking_for_nothing_allocates_nothing():
    result = allocate({"A": 0, "B": 1}, [stock("A", "W", 0, 5), stock("B", "W", 0, 5)])
    assert result.ok
    assert result.allocations == (Allocation(sku="B", warehouse_code="W", quantity=1),)


def test_a_line_exactly_met_by_all_warehouses_together_is_allocated():
    result = allocate({"A": 5}, [stock("A", "X", 1, 2), stock("A", "Y", 0, 3)])
    assert result.ok and sum(a.quantity for a in result.allocations) == 5
    assert not allocate({"A": 6}, [stock("A", "X", 1, 2), stock("A", "Y", 0, 3)]).ok


def test_a_warehouse_holding_exactly_the_line_serves_it_whole():
    result = allocate({"A": 3}, [stock("A", "HIGH", 9, 2), stock("A", "LOW", 1, 3)])
    assert result.allocations == (Allocation(sku="A", warehouse_code="LOW", quantity=3),)


def test_a_result_is_ok_only_without_shortages():
    assert allocate({"A": 1}, [stock("A", "W", 0, 1)]).ok is True
    assert allocate({"A": 2}, [stock("A", "W", 0, 1)]).ok is False


def test_preference_order_sorts_by_priority_then_code():
    ordered = preference_order([stock("A", "B", 1, 1), stock("A", "C", 2, 1), stock("A", "A", 1, 1)])
    assert [s.warehouse_code for s in ordered] == ["C", "A", "B"]


def test_a_change_that_stays_in_place_is_not_news():
    assert not level_change_is_news(before=0, after=0, low_stock_threshold=5, step=10)
    assert not level_change_is_news(before=3, after=3, low_stock_threshold=5, step=10)


def test_the_low_stock_threshold_is_inclusive_and_uses_the_lower_side_of_the_change():
    assert level_change_is_news(before=25, after=5, low_stock_threshold=5, step=100)
    assert level_change_is_news(before=5, after=25, low_stock_threshold=5, step=100)
    assert not level_change_is_news(before=26, after=6, low_stock_threshold=5, step=100)


def test_a_step_of_zero_or_less_counts_every_change():
    assert level_change_is_news(before=48, after=47, low_stock_threshold=5, step=0)
    assert level_change_is_news(before=48, after=47, low_stock_threshold=5, step=-4)


def test_crossing_a_step_upwards_is_news_too():
    assert level_change_is_news(before=49, after=50, low_stock_threshold=5, step=10)
    assert not level_change_is_news(before=41, after=49, low_stock_threshold=5, step=10)


def test_a_met_basket_reports_no_shortages_at_all():
    result = allocate({"A": 1}, [stock("A", "W", 0, 1)])
    assert result.shortages == ()
    assert isinstance(result.allocations, tuple)


def test_the_in_stock_flip_is_news_even_without_a_low_stock_zone():
    """A shop may switch exact low-stock announcements off (a negative threshold): flips still count."""
    for before, after in ((0, 1), (1, 0), (0, 500), (500, 0)):
        assert level_change_is_news(before=before, after=after, low_stock_threshold=-1, step=1000)
    assert not level_change_is_news(before=2, after=1, low_stock_threshold=-1, step=1000)


def test_a_step_of_one_counts_every_change():
    assert level_change_is_news(before=49, after=48, low_stock_threshold=5, step=1)
    assert level_change_is_news(before=49, after=48, low_stock_threshold=5, step=0)

"""The demo town's building shapes: boxes clipped to a block's ground exactly as GEOS's overlay gives them."""

import numpy as np
import shapely

from ilots.demo import _clipped


def test_clipped_boxes_are_the_overlay_bit_for_bit():
    """Boxes inside the ground skip the overlay (issue 14 §5: the demo at first start) yet keep its coordinates,
    orientation and start vertex; crossing ones are intersected; slivers under the minimum area are dropped."""
    rng = np.random.default_rng(4)
    ground = shapely.Point(0, 0).buffer(120).difference(shapely.Point(0, 0).buffer(60))
    shapely.prepare(ground)
    x, y = rng.uniform(-130, 130, 400), rng.uniform(-130, 130, 400)
    w, h = rng.uniform(4, 15, 400), rng.uniform(4, 15, 400)
    boxes = shapely.box(x - w, y - h, x + w, y + h)
    inside = shapely.contains_properly(ground, boxes)
    assert 50 < inside.sum() < 350  # both paths are exercised

    parts = shapely.get_parts(shapely.intersection(boxes, ground))
    parts = parts[shapely.get_type_id(parts) == 3]
    expected = parts[shapely.area(parts) > 25.0]
    got = np.array(_clipped(boxes, ground, 25.0), dtype=object)
    assert len(got) == len(expected)
    assert shapely.equals_exact(got, expected, tolerance=0).all()
    assert (shapely.get_coordinates(got) == shapely.get_coordinates(expected)).all()

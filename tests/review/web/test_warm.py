"""What `serve` loads before it prints the address, so that the first pages wait for nothing."""

from flask import Flask

from review.web import warm


def test_warm_compiles_every_station_template(app: Flask) -> None:
    station_templates = app.jinja_env.list_templates(filter_func=lambda name: name.startswith("station/"))
    assert "station/item.html" in station_templates and "station/inbox.html" in station_templates
    cache = app.jinja_env.cache
    assert cache is not None and not {key[1] for key in cache} & set(station_templates)
    warm(app)
    assert set(station_templates) <= {key[1] for key in cache}

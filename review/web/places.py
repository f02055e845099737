"""Kazakhstan's 17 regions and 3 cities of republican significance, for the region picker.

The value stored is the English name (so that filters and reports agree whoever typed it); the
picker shows the name in the reviewer's language beside it. Free text stays allowed.
"""

REGIONS: tuple[tuple[str, str, str], ...] = (  # (en, ru, kk)
    ("Astana", "Астана", "Астана"),
    ("Almaty", "Алматы", "Алматы"),
    ("Shymkent", "Шымкент", "Шымкент"),
    ("Abai Region", "Абайская область", "Абай облысы"),
    ("Akmola Region", "Акмолинская область", "Ақмола облысы"),
    ("Aktobe Region", "Актюбинская область", "Ақтөбе облысы"),
    ("Almaty Region", "Алматинская область", "Алматы облысы"),
    ("Atyrau Region", "Атырауская область", "Атырау облысы"),
    ("East Kazakhstan Region", "Восточно-Казахстанская область", "Шығыс Қазақстан облысы"),
    ("Jambyl Region", "Жамбылская область", "Жамбыл облысы"),
    ("Jetisu Region", "Жетысуская область", "Жетісу облысы"),
    ("Karaganda Region", "Карагандинская область", "Қарағанды облысы"),
    ("Kostanay Region", "Костанайская область", "Қостанай облысы"),
    ("Kyzylorda Region", "Кызылординская область", "Қызылорда облысы"),
    ("Mangystau Region", "Мангистауская область", "Маңғыстау облысы"),
    ("North Kazakhstan Region", "Северо-Казахстанская область", "Солтүстік Қазақстан облысы"),
    ("Pavlodar Region", "Павлодарская область", "Павлодар облысы"),
    ("Turkistan Region", "Туркестанская область", "Түркістан облысы"),
    ("Ulytau Region", "Улытауская область", "Ұлытау облысы"),
    ("West Kazakhstan Region", "Западно-Казахстанская область", "Батыс Қазақстан облысы"),
)
_COLUMN = {"en": 0, "ru": 1, "kk": 2}


def region_choices(language: str) -> list[tuple[str, str]]:
    """(stored value, label in `language`) for every region and city."""
    column = _COLUMN.get(language, 0)
    return [(names[0], names[column]) for names in REGIONS]

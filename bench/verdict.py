"""How every bench prints a target beside its figure: "met" or "NOT met", never an assertion."""


def met(ok: bool) -> str:
    return "met" if ok else "NOT met"

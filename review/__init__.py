"""The offline review station: vault, catalogue and custody log. Never imports submission/."""

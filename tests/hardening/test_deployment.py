"""Deployment defaults a local authority's server relies on (.streamlit/config.toml)."""

import tomllib

from tests.conftest import ROOT


def test_streamlit_config_is_safe_and_sober():
    cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert cfg["browser"]["gatherUsageStats"] is False  # no outbound call
    assert cfg["server"]["enableXsrfProtection"] is True
    assert 0 < cfg["server"]["maxUploadSize"] <= 1000  # MB
    # Serving, not developing: no module walk per new session, no full GC after every run
    # (together they were two thirds of the server's time with 20 simultaneous sessions).
    assert cfg["server"]["fileWatcherType"] == "none"
    assert cfg["runner"]["postScriptGC"] is False

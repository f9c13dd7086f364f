"""The dashboard's shared UI code (Streamlit): navigation, page head, cached loaders, the territory selector.

``dashboard.py`` and the page scripts in ``pages/`` import from here; the library (``ilots``) never does.
"""

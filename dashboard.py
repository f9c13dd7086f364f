"""Îlots — tableau de bord des îlots de chaleur (entry point: ``streamlit run dashboard.py``).

Pages are declared in ui/navigation.py and run with st.navigation; the page scripts live in pages/ and stay
thin, their shared code in ui/.

Streamlit runs this file in two ways. At every page run it executes it as ``__main__``. When the server starts,
``streamlit run`` finds ``app`` below (an ``st.App``) and imports this file as a module to serve it: its lifespan
(ui/startup.py) prepares the demo territory before the first visit when no territory exists yet.
"""

import streamlit as st

if __name__ == "__main__":  # a page run
    from ui import navigation

    st.set_page_config(page_title="Îlots de chaleur", page_icon=":material/thermostat:", layout="wide")
    # French and accessible: see ui/navigation.PAGE_HEAD (read once per server process, not at every rerun).
    st.html(navigation.PAGE_HEAD, unsafe_allow_javascript=True)
    navigation.run()
else:  # the server starting
    from ui.startup import lifespan

    app = st.App(__file__, lifespan=lifespan)

"""The Streamlit page's modules: `main.py` is the script `app.py` serves; the others draw its parts."""

"""The review desk's web shell (``shixiang desk``): see desk/app.py."""

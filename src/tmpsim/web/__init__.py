"""The local web dashboard (``tmpsim serve``): FastAPI server, background runs, static page.

Nothing here imports FastAPI at package import time; ``tmpsim.web.app.create_app`` does.
"""

"""``python -m tmpsim``: the same command line as ``tmpsim``."""

from tmpsim.cli import app

if __name__ == "__main__":
    app(prog_name="tmpsim")

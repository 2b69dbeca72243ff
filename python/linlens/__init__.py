"""Linear Lens from Python: the detached Jacobian of an LLM's next token, in notebooks.

>>> from linlens import Lens
>>> with Lens("gemma-3-270m") as lens:
...     d = lens.decompose("The bridge out of Marin is the", components=3)
...     d.J.shape, d.relative_error <= d.bound, d.components.head()

Each analysis of the command line is a method of :class:`Lens` returning a result with numpy
arrays (the command line's ``--export``), pandas tables, the ``--json`` document (``.json``) and
the HTML report (``.report()``); :meth:`Lens.scan` runs a dataset scan.
"""
from .errors import JobFailed, LinlensError
from .lens import Chat, Lens
from .results import (RECONSTRUCTION_BOUND, Attribution, Concept, Decomposition, Layers, LogitLens, Prediction, Report,
                      Result, Steering, read_export, read_npz)
from .scan import ScanResult

__all__ = ["Lens", "Chat", "LinlensError", "JobFailed", "Result", "Decomposition", "Layers", "Attribution", "Steering",
           "Prediction", "LogitLens", "Concept", "Report", "ScanResult", "RECONSTRUCTION_BOUND", "read_export", "read_npz"]
__version__ = "0.1.0"

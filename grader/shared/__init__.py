"""What both sides of the trust boundary use: the run budget and the harness's configuration,
the scratch layout's names, trace signing, how a model is described, JSON conversion.

Nothing here imports TensorFlow at import time, and nothing here runs student code. The trusted
parent (``grader.run`` and everything that scores) and the sandboxed child (``grader.harness``)
both import from here; neither imports the other.
"""

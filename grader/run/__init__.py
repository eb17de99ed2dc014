"""Running a submission, on the trusted (parent) side of the boundary.

``runner`` orchestrates one run: ``scratch`` prepares the copy the child may write, ``command``
builds the sandboxed command and its environment, ``sandbox`` starts and bounds the process,
``trace`` reads and verifies what the harness recorded, ``outcome`` classifies how it ended,
``inspection`` starts the trusted ``inspector`` beside the run and ``integrity`` compares its
reading of the saved models with the trace. Nothing here imports ``grader.harness``: that
package runs only inside the child.
"""

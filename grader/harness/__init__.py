"""The offline harness that runs *inside* the child process, around the student's script.

Nothing here runs in the grading (parent) process: the parent only reads the JSON trace this
package writes, and the ``.keras`` files it saves, with its own trusted code.
"""

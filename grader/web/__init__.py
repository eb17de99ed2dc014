"""The review page: a local web app over a graded class (Starlette, served by uvicorn, Jinja2
templates with autoescaping). An adapter: what it shows and records comes from ``grader.desk`` and
``grader.instructor``."""

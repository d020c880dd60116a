"""The chemists' web page: sign in, choose a project, check an assay file, confirm to store it.

``interfaces.web.app.create_app`` builds the FastAPI app (``moltwin serve`` runs it with
uvicorn); ``interfaces.web.users`` manages users, tokens and sessions without the web stack.
"""

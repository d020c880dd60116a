"""The chemists' web page: sign in, choose a project, check an assay file, confirm to store it.

``lab_sync.web.app.create_app`` builds the FastAPI app (``moltwin serve`` runs it with
uvicorn); ``lab_sync.web.users`` manages users, tokens and sessions without the web stack.
"""

"""The API's routers, one module per audience; each route calls one service function."""

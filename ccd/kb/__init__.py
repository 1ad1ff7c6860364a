"""The knowledge base (知识库): articles with versions, full-text search, Markdown in and out.

articles.py saves and versions, search.py finds (FTS5 trigram), markdown.py imports and exports,
starter/ is the demo site's starter knowledge base.
"""

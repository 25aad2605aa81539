"""The review desk's core (``shixiang desk``): accounts and scopes, the queue with its facets,
and the actions a steward takes, over the library database. Plain Python: the web shell that
serves it is the top-level ``desk`` package."""

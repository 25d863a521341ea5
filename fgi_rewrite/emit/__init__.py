"""Writing code from the intermediate description: the FGI function, cross-file call sites and
the imports a rewrite leaves unused."""

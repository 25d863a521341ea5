"""`fgi-rewrite report`: scan, rewrite, verify and bench results as one document (HTML,
Markdown or JSON). collect gathers the data, present words it, render_* mark it up."""

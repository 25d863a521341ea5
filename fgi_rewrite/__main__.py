from fgi_rewrite.cli import main

main(prog_name="fgi-rewrite")

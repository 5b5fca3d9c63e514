from socsec.cli.main import app

app(prog_name="socsec")

"""Entry for the `flask` command: `flask --app app run`, `flask --app app db upgrade`, ..."""

from webapp import create_app

app = create_app()

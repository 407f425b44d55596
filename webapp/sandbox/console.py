from flask import Blueprint

bp = Blueprint("lark_sandbox_console", __name__, url_prefix="/_lark")

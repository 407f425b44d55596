from flask import Blueprint

bp = Blueprint("lark_sandbox_client", __name__, url_prefix="/_lark")

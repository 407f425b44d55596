"""Who a person is here: Lark bindings, licences, sign-in and sessions."""

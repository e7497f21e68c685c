"""Placeholder: registers no commands yet."""


def register(app, knowledge, fail, out):
    return None

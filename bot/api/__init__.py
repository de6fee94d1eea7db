"""The HTTP API for scripts: tokens, endpoints, OpenAPI document"""

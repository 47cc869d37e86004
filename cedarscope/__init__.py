"""cedarscope"""

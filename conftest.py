pytest_plugins = ("anonmap.plugin",)
